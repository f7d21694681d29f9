"""Values of the container layer: what to run (``ContainerSpec``, ``Mount``), what came back,
the labels that let a later run find a crashed run's leftovers, and the images' defaults."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


# GraalVM Community for JDK 21 with Native Image (the package that ships the tracing agent), and
# where that image installs it: what collect's node image and build's native-image start from.
DEFAULT_GRAALVM_IMAGE = "ghcr.io/graalvm/native-image-community:21"
DEFAULT_GRAALVM_HOME = "/usr/lib64/graalvm/graalvm-community-java21"

LABEL_OWNER = "metadata-pipeline"
LABEL_RUN = "metadata-pipeline.run"

# Least privilege: a container gets the engine's default capabilities and nothing more unless
# its spec asks (collect's nodes: NET_ADMIN for network faults, FUSE only with kibosh).
# native-image over a user's jars needs nothing extra.
NET_ADMIN = "NET_ADMIN"
FUSE_CAPS = ("SYS_ADMIN",)
FUSE_DEVICE = "/dev/fuse"

Progress = Callable[[str], None]


# --- values -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Mount:
    """A bind mount of a host path into a container."""

    source: Path
    target: str
    read_only: bool = False

    def describe(self) -> str:
        return f"{self.source} -> {self.target} ({'ro' if self.read_only else 'rw'})"


@dataclass(frozen=True)
class ContainerSpec:
    """Everything a container is started with; ``describe()`` is what ``--dry-run`` prints."""

    image: str
    name: str
    hostname: str | None = None
    network: str | None = None
    aliases: tuple[str, ...] = ()
    mounts: tuple[Mount, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    command: tuple[str, ...] | None = None
    working_dir: str | None = None
    memory: str | None = None  # docker notation: "2g", "512m"
    labels: Mapping[str, str] = field(default_factory=dict)
    cap_add: tuple[str, ...] = ()  # beyond the engine's defaults; never ALL
    devices: tuple[str, ...] = ()  # host device paths passed through as is (rwm)

    def __post_init__(self) -> None:
        if any(cap.upper() in ("ALL", "CAP_ALL") for cap in self.cap_add):
            raise ValueError(f"{self.name}: cap_add=ALL is refused; name the capabilities a container needs")

    def describe(self) -> dict[str, Any]:
        return {
            "image": self.image, "name": self.name, "hostname": self.hostname or self.name,
            "network": self.network, "aliases": list(self.aliases),
            "mounts": [m.describe() for m in self.mounts], "env": dict(self.env),
            "command": list(self.command) if self.command is not None else None,
            "working_dir": self.working_dir, "memory": self.memory,
            "cap_add": list(self.cap_add), "devices": list(self.devices), "labels": dict(self.labels),
        }


@dataclass(frozen=True)
class ExecResult:
    exit_code: int
    output: str  # stdout and stderr interleaved as the process wrote them (tail, if capped)

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


@dataclass(frozen=True)
class Leftovers:
    containers: tuple[str, ...]
    networks: tuple[str, ...]


def new_run_id() -> str:
    """Unique per run and readable in ``docker ps``: UTC time plus a random suffix."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(3)


def run_labels(run_id: str) -> dict[str, str]:
    return {LABEL_OWNER: "true", LABEL_RUN: run_id}


# --- engine -----------------------------------------------------------------------------------
