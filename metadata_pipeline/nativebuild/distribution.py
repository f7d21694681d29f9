"""A Kafka distribution to build from: a release tarball or an unpacked release.

What build needs from it is ``libs/`` (every jar goes on native-image's class path); the smoke
test also uses ``config/`` (log4j settings) and, for the JVM comparison, ``bin/``. A tarball is
unpacked into a temporary directory that lives as long as the ``with`` block, with the
standard library's ``data`` filter: no absolute paths, no ``..``, no links leading outside,
no device files.

``find_entry_point`` checks the entry point class and its ``main(String[])`` in the jars by
reading their indexes (see ``metadata_pipeline.classpath``) — seconds, not the ten minutes a
native-image run takes to say the same.
"""

from __future__ import annotations

import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from metadata_pipeline.errors import InputError

__all__ = ["Distribution", "EntryPoint", "open_distribution", "find_entry_point"]

_MAIN_PARAMETERS = ("java.lang.String[]",)


@dataclass(frozen=True)
class Distribution:
    source: Path  # what the user named
    root: Path  # the directory holding libs/ (inside a temporary directory for a tarball)
    packed: bool  # came from a tarball
    jars: tuple[Path, ...]

    @property
    def libs(self) -> Path:
        return self.root / "libs"

    @property
    def config_dir(self) -> Path:
        return self.root / "config"

    def script(self, name: str) -> Path | None:
        path = self.root / "bin" / name
        return path if path.is_file() else None


@contextmanager
def open_distribution(path: Path) -> Iterator[Distribution]:
    """Yield the distribution at ``path``; a tarball's unpacked copy is removed afterwards.

    Raises ``InputError`` for a missing path, an unreadable or unsafe tarball, or no ``libs/``
    with jars in it.
    """
    if not path.exists():
        raise InputError(f"{path}: no such file or directory (expected a Kafka release .tgz or an unpacked release)")
    if path.is_dir():
        yield _checked(path, path, packed=False)
        return
    unpacked = Path(tempfile.mkdtemp(prefix="mp-build-dist-"))
    try:
        _unpack(path, unpacked)
        yield _checked(path, _root_of(path, unpacked), packed=True)
    finally:
        shutil.rmtree(unpacked, ignore_errors=True)


def _unpack(archive: Path, dest: Path) -> None:
    try:
        with tarfile.open(archive, mode="r:*") as tar:
            tar.extractall(dest, filter="data")
    except tarfile.FilterError as exc:
        raise InputError(f"{archive}: refusing to unpack: {exc}") from None
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise InputError(f"{archive}: not a readable Kafka release tarball (corrupt or truncated?): {reason}") from None


def _root_of(archive: Path, unpacked: Path) -> Path:
    # Releases hold one top directory (kafka_2.13-3.8.0/); a flat archive is accepted too.
    if (unpacked / "libs").is_dir():
        return unpacked
    tops = [entry for entry in unpacked.iterdir() if entry.is_dir()]
    if len(tops) == 1 and (tops[0] / "libs").is_dir():
        return tops[0]
    raise InputError(f"{archive}: no libs/ directory in the tarball (a Kafka release holds kafka_<scala>-<version>/libs/)")


def _checked(source: Path, root: Path, *, packed: bool) -> Distribution:
    libs = root / "libs"
    if not libs.is_dir():
        raise InputError(f"{source}: no libs/ directory: not a Kafka distribution "
                         "(pass a release .tgz or the directory it unpacks to)")
    jars = tuple(sorted(p for p in libs.iterdir() if p.suffix == ".jar" and p.is_file()))
    if not jars:
        raise InputError(f"{libs}: no jars in it: not a Kafka distribution (a source checkout has no libs/ until it is built)")
    return Distribution(source, root, packed, jars)


@dataclass(frozen=True)
class EntryPoint:
    class_name: str
    jar: Path  # the first jar on the class path that has it


def find_entry_point(dist: Distribution, class_name: str) -> EntryPoint:
    """The jar holding ``class_name``; ``InputError`` when no jar has it or it has no main."""
    from metadata_pipeline.classpath import ClassPath, ClassPathError, MethodSignature

    shown = dist.source if not dist.packed else f"{dist.source} (libs/)"
    try:
        with ClassPath.open([str(dist.libs)], include_jdk=False) as classpath:
            origin = classpath.origin_of(class_name) if classpath.has_class(class_name) else None
            if origin is None:
                raise InputError(
                    f"{class_name}: no such class in the {len(dist.jars)} jars of {shown} "
                    f"(the native wrapper kafka.docker.KafkaDockerWrapper ships with Kafka 3.8 and later; "
                    f"--entry-point names another class)")
            members = classpath.class_members(class_name)
    except ClassPathError as exc:
        raise InputError(str(exc)) from None
    if members is not None and MethodSignature("main", _MAIN_PARAMETERS) not in members.methods:
        raise InputError(f"{class_name} (in {Path(origin.path).name}): has no main(String[]) method, "
                         "so native-image cannot use it as the entry point")
    return EntryPoint(class_name, Path(origin.path))
