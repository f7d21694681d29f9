"""The JDK's own classes and resources: find a JDK, list its module image, cache the list.

How the JDK is listed, and why. Three ways were weighed:

- ``jimage list $JAVA_HOME/lib/modules``: the tool exists only in full JDKs (not in JRE or
  jlinked runtimes), costs a JVM start (~0.7 s), and its text output is not specified.
- a Java helper walking the ``jrt:/`` file system: public API, but it must be compiled or
  run through the source launcher, which needs ``jdk.compiler`` (absent from JREs), and it
  costs a JVM start plus compilation.
- reading the index of ``lib/modules`` directly (``jimage.py``): needs no tool and no JVM,
  works for JDKs and JREs alike, reads a few MB in ~0.15 s, and reads a JDK of another
  architecture (the byte order comes from the magic number). Its risk is that the format
  is internal; it has been version 1.0 from JDK 9 through JDK 25, and the reader checks
  magic and version.

So the index is read directly, and when a future image has a format this reader does not
know, the JDK's own ``bin/jimage list`` is used instead (when that JDK has the tool). The
tests check that both give the same listing.

The listing is cached per JDK under ``$XDG_CACHE_HOME/metadata_pipeline/`` (default
``~/.cache``), keyed by the JDK's real path and the modification times of its ``release``
and ``lib/modules`` files, so repeat lints read one text file. An unwritable cache is
skipped silently: it only costs speed.

Which JDK: an explicit path (``--jdk PATH``), else ``$JAVA_HOME``, else the JDK that owns
the ``java`` on ``PATH``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from metadata_pipeline.classpath.errors import ClassPathError
from metadata_pipeline.classpath.jimage import (
    ImageIndex, JImageFormatError, read_image_index,
)

__all__ = ["Jdk", "find_jdk", "list_with_jimage_tool", "cache_directory"]

_CACHE_FORMAT = "metadata_pipeline jdk listing 1"
_CACHE_END = "-- end --"
_HOW_TO_POINT = "set JAVA_HOME or pass --jdk PATH (a JDK 9+ home, the directory holding lib/modules)"


def find_jdk(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The JDK home to list: ``explicit``, else ``$JAVA_HOME``, else the one running ``java``."""
    if explicit:
        return _checked_home(Path(explicit), "--jdk")
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        return _checked_home(Path(java_home), "JAVA_HOME")
    java = shutil.which("java")
    if java:
        # /usr/bin/java is usually a chain of symlinks ending in <home>/bin/java.
        home = Path(os.path.realpath(java)).parent.parent
        if (home / "lib" / "modules").is_file():
            return home
    raise ClassPathError(f"no JDK found: {_HOW_TO_POINT}")


def _checked_home(home: Path, source: str) -> Path:
    if not home.is_dir():
        raise ClassPathError(f"{source}={home}: no such directory; {_HOW_TO_POINT}")
    if not (home / "lib" / "modules").is_file():
        raise ClassPathError(f"{source}={home}: not a JDK 9+ home (no lib/modules); {_HOW_TO_POINT}")
    return home


def cache_directory() -> Path:
    base = os.environ.get("XDG_CACHE_HOME", "")
    # The XDG spec says to ignore a relative value.
    root = Path(base) if os.path.isabs(base) else Path.home() / ".cache"
    return root / "metadata_pipeline"


@dataclass(frozen=True, slots=True)
class Jdk:
    """One JDK home; ``listing()`` gives its resources per module."""

    home: Path

    @property
    def modules_file(self) -> Path:
        return self.home / "lib" / "modules"

    def cache_file(self, cache_dir: Path | None = None) -> Path:
        key = [_CACHE_FORMAT, os.path.realpath(self.home)]
        for stamped in (self.home / "release", self.modules_file):
            try:
                stat = stamped.stat()
                key.append(f"{stamped.name}:{stat.st_mtime_ns}:{stat.st_size}")
            except OSError:
                key.append(f"{stamped.name}:absent")
        digest = hashlib.sha256("\0".join(key).encode()).hexdigest()[:20]
        return (cache_dir or cache_directory()) / f"jdk-{digest}.txt"

    def listing(self, cache_dir: Path | None = None) -> dict[str, list[str]]:
        """Module name -> resource paths in it (``java/lang/Object.class``, ...)."""
        cache = self.cache_file(cache_dir)
        cached = _read_cache(cache)
        if cached is not None:
            return cached
        listing = self.list_uncached()
        _write_cache(cache, listing)
        return listing

    def list_uncached(self) -> dict[str, list[str]]:
        try:
            index = read_image_index(self.modules_file)
        except JImageFormatError as error:
            return list_with_jimage_tool(self.home, reason=str(error))
        except OSError as error:
            raise ClassPathError(f"{self.modules_file}: cannot read ({error.strerror})") from None
        listing: dict[str, list[str]] = {}
        for entry in index.entries:
            listing.setdefault(entry.module, []).append(entry.name)
        # The image stores names in hash order: sort, so resources() is stable.
        return {module: sorted(listing[module]) for module in sorted(listing)}

    def image_index(self) -> ImageIndex | None:
        """The parsed image index (with resource offsets), or ``None`` for an unknown format."""
        try:
            return read_image_index(self.modules_file)
        except (JImageFormatError, OSError):
            return None


def list_with_jimage_tool(home: Path, reason: str = "") -> dict[str, list[str]]:
    """The listing as the JDK's own ``bin/jimage list`` prints it."""
    tool = home / "bin" / "jimage"
    modules = home / "lib" / "modules"
    if not os.access(tool, os.X_OK):
        why = reason or f"{modules}: cannot be read here"
        raise ClassPathError(f"{why}; {tool} is missing, so the JDK's classes cannot be listed")
    try:
        done = subprocess.run([str(tool), "list", str(modules)], capture_output=True, text=True,
                              timeout=300, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ClassPathError(f"{tool}: cannot run ({error})") from None
    if done.returncode != 0:
        detail = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise ClassPathError(f"{tool} list {modules} failed: {detail}")
    listing: dict[str, list[str]] = {}
    names: list[str] | None = None
    for line in done.stdout.splitlines():
        if line.startswith("Module: "):
            names = listing.setdefault(line[len("Module: "):].strip(), [])
        elif line.startswith(" ") and line.strip() and names is not None:
            names.append(line.strip())
    if not listing:
        raise ClassPathError(f"{tool} list {modules} printed no module")
    return listing


def _read_cache(cache: Path) -> dict[str, list[str]] | None:
    try:
        text = cache.read_text(encoding="utf-8", errors="surrogateescape")
    except OSError:
        return None
    lines = text.split("\n")
    # A complete file starts with the format line and ends with the end marker; anything
    # else (torn write, older format) is rebuilt.
    if len(lines) < 3 or lines[0] != _CACHE_FORMAT or lines[-1] != _CACHE_END:
        return None
    listing: dict[str, list[str]] = {}
    for line in lines[1:-1]:
        module, _, name = line.partition("\t")
        names = listing.get(module)
        if names is None:
            names = listing[module] = []
        names.append(name)
    return listing


def _write_cache(cache: Path, listing: dict[str, list[str]]) -> None:
    lines = [_CACHE_FORMAT]
    lines.extend(f"{module}\t{name}" for module, names in listing.items() for name in names)
    lines.append(_CACHE_END)
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=cache.parent, prefix=cache.name, suffix=".tmp")
    except OSError:
        return
    try:
        # Write then rename, so a concurrent lint never reads half a file.
        with os.fdopen(handle, "w", encoding="utf-8", errors="surrogateescape") as out:
            out.write("\n".join(lines))
        os.replace(temporary, cache)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
