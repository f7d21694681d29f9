"""Which GraalVM a ``native-image --version`` output describes, and whether build can use it.

Two output shapes exist. GraalVM for JDK 17 and later print ``native-image 21.0.2 2024-01-16``
on the first line (the number is the JDK version: GraalVM is now versioned by its JDK); the
older releases print ``GraalVM 22.3.0 Java 17 CE (...)``. Kafka's image builds with GraalVM
for JDK 21; the unified ``reachability-metadata.json`` is read from GraalVM for JDK 23 on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from metadata_pipeline.errors import InputError

__all__ = ["GraalVersion", "MIN_JDK", "UNIFIED_MIN_JDK", "parse_version", "check_supported"]

MIN_JDK = 21
UNIFIED_MIN_JDK = 23

_CURRENT = re.compile(r"^native-image (\d+)(?:[.\d]*)\b", re.MULTILINE)
_OLD = re.compile(r"^GraalVM (?:CE |EE )?[\d.]+(?:-dev)? Java (\d+)\b", re.MULTILINE)


@dataclass(frozen=True)
class GraalVersion:
    jdk: int  # the Java feature version this GraalVM is for
    text: str  # the first lines of --version, as printed (they name the vendor)


def parse_version(output: str, source: str) -> GraalVersion:
    """Raises ``InputError`` naming ``source`` when the output is no native-image version."""
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    shown = " / ".join(lines[:2])
    match = _CURRENT.search(output) or _OLD.search(output)
    if match is None:
        first = lines[0] if lines else "(no output)"
        raise InputError(f"{source}: cannot tell the GraalVM version from `native-image --version`: {first!r}")
    return GraalVersion(int(match.group(1)), shown)


def check_supported(version: GraalVersion, configs_format: str, source: str) -> None:
    """Refuse a GraalVM too old for Kafka's build, or for the unified configs."""
    if version.jdk < MIN_JDK:
        raise InputError(f"{source} is {version.text}: build needs GraalVM for JDK {MIN_JDK} or newer "
                         f"(Kafka's image builds with ghcr.io/graalvm/native-image-community:21)")
    if configs_format == "unified" and version.jdk < UNIFIED_MIN_JDK:
        raise InputError(f"{source} is GraalVM for JDK {version.jdk}, which cannot read the unified "
                         f"reachability-metadata.json of these configs (GraalVM for JDK {UNIFIED_MIN_JDK}+ can): "
                         f"use a newer GraalVM, or write legacy configs with merge --format legacy")
