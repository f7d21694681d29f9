"""Classpath entries: turn the user's path forms into jars and class directories.

Path forms, as Java's ``-cp`` knows them plus one convenience:

- ``a.jar``: a jar (any zip file; the name need not end in ``.jar``).
- ``dir/*``: Java's wildcard, every ``*.jar`` directly inside ``dir`` (sorted by name).
- ``dir``: decided by content. A directory with at least one ``*.jar`` file directly inside
  is a *directory of jars* (Kafka's ``libs/``), read like ``dir/*``; any other directory is
  an *exploded classes directory*, whose files (recursively) are its resources and whose
  ``.class`` files are its classes. The first rule matches what people point at; a classes
  directory never has jars at its top level.
- ``a:b:c``: a list, each element one of the above (empty elements are ignored).

Each jar's central directory is read once, at open; entry bytes only when asked.
"""

from __future__ import annotations

import os
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol, Sequence

from metadata_pipeline.classpath.errors import ClassPathError

__all__ = ["Origin", "Planned", "Source", "JarSource", "DirectorySource", "expand", "open_source"]


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a class or resource was found: a jar, a classes directory, or a JDK module."""

    kind: Literal["jar", "directory", "jdk"]
    path: str  # the jar, the directory, or the JDK home
    module: str | None = None  # JDK module name

    def __str__(self) -> str:
        return f"jrt:/{self.module}" if self.kind == "jdk" else self.path


@dataclass(frozen=True, slots=True)
class Planned:
    kind: Literal["jar", "directory"]
    path: Path


class Source(Protocol):
    """One opened classpath element: its entry names, and its entries' bytes on demand."""

    origin: Origin
    names: list[str]  # file entries, no directories

    def read(self, name: str) -> bytes: ...

    def close(self) -> None: ...


class JarSource:
    def __init__(self, path: Path) -> None:
        self.origin = Origin("jar", str(path))
        try:
            # Kept open: class_members reads class bytes later without re-reading the index.
            self._zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as error:
            raise ClassPathError(f"{path}: not a readable jar (zip) file: {_reason(error)}") from None
        self.names = [name for name in self._zip.namelist() if not name.endswith("/")]

    def read(self, name: str) -> bytes:
        try:
            return self._zip.read(name)
        except (zipfile.BadZipFile, zlib.error, OSError, KeyError, ValueError, EOFError) as error:
            raise ClassPathError(f"{self.origin.path}: cannot read entry {name}: {_reason(error)}") from None

    def close(self) -> None:
        self._zip.close()


class DirectorySource:
    def __init__(self, path: Path) -> None:
        self.origin = Origin("directory", str(path))
        self._root = path
        names: list[str] = []
        for folder, _dirs, files in os.walk(path):
            relative = os.path.relpath(folder, path)
            prefix = "" if relative == "." else relative.replace(os.sep, "/") + "/"
            names.extend(prefix + file for file in files)
        names.sort()
        self.names = names

    def read(self, name: str) -> bytes:
        try:
            return (self._root / name).read_bytes()
        except OSError as error:
            raise ClassPathError(f"{self._root / name}: cannot read: {_reason(error)}") from None

    def close(self) -> None:
        pass  # nothing held open


def expand(paths: Sequence[str | os.PathLike[str]]) -> list[Planned]:
    """Resolve path forms to the jars and directories to open, in classpath order.

    A jar named twice (also through different forms) is kept at its first place only, as
    the JVM would never look at the second one.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]  # one path, not a sequence of one-letter paths
    planned: list[Planned] = []
    seen: set[str] = set()
    for given in paths:
        for element in str(given).split(os.pathsep):
            if not element:
                continue
            for item in _expand_element(element):
                key = os.path.realpath(item.path)
                if key not in seen:
                    seen.add(key)
                    planned.append(item)
    return planned


def _expand_element(element: str) -> list[Planned]:
    if element == "*" or element.endswith(("/*", os.sep + "*")):
        folder = Path(element[:-1] or ".")
        if not folder.is_dir():
            raise ClassPathError(f"classpath entry {element}: no such directory {folder}")
        return [Planned("jar", jar) for jar in _jars_in(folder)]
    path = Path(element)
    if not path.exists():
        raise ClassPathError(f"classpath entry not found: {element}")
    if path.is_dir():
        jars = _jars_in(path)
        if jars:
            return [Planned("jar", jar) for jar in jars]
        return [Planned("directory", path)]
    return [Planned("jar", path)]


def _jars_in(folder: Path) -> list[Path]:
    try:
        children = list(folder.iterdir())
    except OSError as error:
        raise ClassPathError(f"{folder}: cannot list: {_reason(error)}") from None
    # Java's wildcard takes *.jar and *.JAR; sorted, because directory order is arbitrary.
    return sorted(child for child in children if child.suffix.lower() == ".jar" and child.is_file())


def open_source(planned: Planned) -> Source:
    if planned.kind == "jar":
        return JarSource(planned.path)
    return DirectorySource(planned.path)


def _reason(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__
