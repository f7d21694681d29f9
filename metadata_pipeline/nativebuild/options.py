"""The native-image command line, assembled from its parts (pure: no I/O but reading one file).

Kafka's options live in ``native-image-options.txt`` beside this module (one argument per
line); ``build`` adds what only it knows: the config flags for the configs' format, the class
path, the entry point and the output. The same assembly serves a local GraalVM (host paths)
and a container (the paths the mounts give), so ``--dry-run`` prints exactly what runs.
"""

from __future__ import annotations

import posixpath
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from metadata_pipeline.core.kinds import FileKind
from metadata_pipeline.errors import InputError

__all__ = [
    "DEFAULT_OPTIONS_FILE", "DEFAULT_ENTRY_POINT", "BINARY_NAME", "LEGACY_FLAGS",
    "ConfigSet", "Invocation", "parse_options", "read_options", "config_flags",
]

DEFAULT_OPTIONS_FILE = Path(__file__).with_name("native-image-options.txt")
# KIP-974's KafkaNativeWrapper; the binary keeps the name Kafka's native image gives it.
DEFAULT_ENTRY_POINT = "kafka.docker.KafkaDockerWrapper"
BINARY_NAME = "kafka.Kafka"

# In the order docker/native/native_command.sh passes them.
LEGACY_FLAGS: tuple[tuple[FileKind, str], ...] = (
    (FileKind.REFLECT, "-H:ReflectionConfigurationFiles"),
    (FileKind.JNI, "-H:JNIConfigurationFiles"),
    (FileKind.RESOURCE, "-H:ResourceConfigurationFiles"),
    (FileKind.SERIALIZATION, "-H:SerializationConfigurationFiles"),
    (FileKind.PREDEFINED_CLASSES, "-H:PredefinedClassesConfigurationFiles"),
    (FileKind.PROXY, "-H:DynamicProxyConfigurationFiles"),
)
DIRECTORIES_FLAG = "-H:ConfigurationFileDirectories"

# What build sets itself: an options file that also set them would build from other inputs
# than the ones build checked (configs validated, entry point found in these jars).
_OWNED_EXACT = {"-cp", "-classpath", "--class-path", "-o", "-jar", "-m", "--module", "--module-path", "-p"}
_OWNED_PREFIXES = ("-cp=", "--class-path=", "-o=", "--module-path=", "-H:Path=", "-H:Name=", "-H:Class=")


def _owned(arg: str) -> str | None:
    """Why ``arg`` may not come from an options file, or None when it may."""
    if arg in _OWNED_EXACT or arg.startswith(_OWNED_PREFIXES):
        return "build sets the class path, entry point and output itself"
    if arg.startswith("-H:") and ("ConfigurationFiles" in arg or "ConfigurationFileDirectories" in arg
                                  or "ConfigurationResourceRoots" in arg):
        return "build adds the config flags for --configs itself"
    if not arg.startswith("-"):
        return ("not an option (the entry point is --entry-point; an option's value goes on the same "
                "line as OPTION=VALUE)")
    return None


def parse_options(text: str, source: str) -> tuple[str, ...]:
    """One argument per line; ``#`` comment lines and blank lines are skipped.

    Raises ``InputError`` naming ``source`` and the line for an argument build owns.
    """
    args: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        arg = raw.strip()
        if not arg or arg.startswith("#"):
            continue
        why = _owned(arg)
        if why:
            raise InputError(f"{source}:{number}: {arg!r} may not be in an options file: {why}")
        args.append(arg)
    return tuple(args)


def read_options(path: Path) -> tuple[str, ...]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read options file: {exc.strerror}") from None
    return parse_options(text, str(path))


@dataclass(frozen=True)
class ConfigSet:
    """The metadata files of one configs directory, at the path native-image will see."""

    directory: str
    kinds: tuple[FileKind, ...]

    @property
    def format(self) -> Literal["legacy", "unified"]:
        # A directory with reachability-metadata.json is read whole (legacy files in it too).
        return "unified" if FileKind.UNIFIED in self.kinds else "legacy"


def config_flags(configs: ConfigSet) -> tuple[str, ...]:
    """Legacy: one ``-H:<Kind>ConfigurationFiles=`` per file present, in Kafka's order.
    Unified: ``-H:ConfigurationFileDirectories=`` for the directory."""
    if configs.format == "unified":
        return (f"{DIRECTORIES_FLAG}={configs.directory}",)
    return tuple(f"{flag}={posixpath.join(configs.directory, kind.file_name)}"
                 for kind, flag in LEGACY_FLAGS if kind in configs.kinds)


@dataclass(frozen=True)
class Invocation:
    """One native-image run: ``argv()`` is what is executed, ``shell()`` how it is shown."""

    native_image: str
    options: tuple[str, ...]
    configs: ConfigSet
    libs: str  # the distribution's libs/ directory; every jar in it is on the class path
    entry_point: str
    output: str  # the executable to write

    @property
    def classpath(self) -> str:
        return posixpath.join(self.libs, "*")  # native-image expands the wildcard, as java does

    def argv(self) -> tuple[str, ...]:
        return (self.native_image, *self.options, *config_flags(self.configs),
                "-cp", self.classpath, self.entry_point, "-o", self.output)

    def shell(self) -> str:
        return shlex.join(self.argv())
