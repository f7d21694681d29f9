"""Config directories on disk: finding them, reading them, writing them atomically.

A *config directory* is any directory holding at least one file native-image reads
(``reflect-config.json``, ..., ``reachability-metadata.json``); both formats may be mixed in
one, as newer agents write them. Inputs may be such directories or any tree containing them
(agent session dirs, a ``collect`` output, a ducktape results tree): they are found
recursively.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable


from metadata_pipeline.core.errors import InvalidMetadata
from metadata_pipeline.core.kinds import FileKind, kind_of_file
from metadata_pipeline.core.merge import Accumulator
from metadata_pipeline.core.model import Metadata
from metadata_pipeline.core.parse import add_to
from metadata_pipeline.errors import InputError, os_reason
from metadata_pipeline.files.decode import decode_json
from metadata_pipeline.files.fastload import DedupingReader, paused_gc
from metadata_pipeline.files.fsio import atomic_write_text, read_regular_file, replace_dir

__all__ = ["ConfigDir", "find_config_dirs", "decode_json", "read_json", "load", "LoadResult", "write_config_dir", "atomic_write_text", "LOCK_FILE"]

LOCK_FILE = ".lock"


def _is_agent_temp(name: str) -> bool:
    # The agent writes each snapshot through D/agent-pid<pid>-<time>.tmp*; what a killed agent
    # leaves there is incomplete by definition.
    return name.startswith("agent-pid") and ".tmp" in name


@dataclass(frozen=True)
class ConfigDir:
    path: Path
    label: str  # the path relative to the input it was found under: provenance names it so
    files: tuple[tuple[FileKind, Path], ...]
    locked: bool  # holds an agent .lock (whatever it is: a directory named so counts too)

    def lock_owner(self) -> int | None:
        """The PID the agent wrote into its .lock, when it is one; None when unknown."""
        try:
            fd = os.open(self.path / LOCK_FILE, os.O_RDONLY | os.O_NONBLOCK)
        except OSError:
            return None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            text = os.read(fd, 32).strip()  # the agent writes the decimal PID and nothing else
        except OSError:
            return None
        finally:
            os.close(fd)
        return int(text) if text.isdigit() and 0 < int(text) < 1 << 31 else None


def agent_running(pid: int) -> bool:
    """Whether process ``pid`` exists and is a JVM running the native-image agent.

    PIDs are reused (and a ``.lock`` copied from a container names a PID of another machine),
    so a live process counts only when its command line or environment mentions the agent,
    or when neither can be read (then it might be one).
    """
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, and is someone else's
    proc = Path("/proc", str(pid))
    if not proc.is_dir():
        return True  # no /proc: existence is all there is to know
    readable = False
    for name in ("cmdline", "environ"):  # -agentlib:native-image-agent=..., or JAVA_TOOL_OPTIONS
        try:
            data = (proc / name).read_bytes()
        except OSError:
            continue
        readable = True
        if b"native-image-agent" in data:
            return True
    return not readable


def find_config_dirs(inputs: Iterable[str | Path], *,
                     unreadable: Callable[[str], None] | None = None) -> list[ConfigDir]:
    """Every config directory under the inputs, in a stable order.

    Raises ``InputError`` for an input that does not exist or holds no metadata at all, and
    for a directory that cannot be listed, unless ``unreadable`` takes the message instead.
    """
    skipped_dirs = 0

    def walk_error(exc: OSError) -> None:
        nonlocal skipped_dirs
        message = f"{exc.filename}: cannot read directory: {os_reason(exc)}"
        if unreadable is None:
            raise InputError(message)
        skipped_dirs += 1
        unreadable(message)

    found: list[ConfigDir] = []
    for raw in inputs:
        root = Path(raw)
        if not root.exists():
            raise InputError(f"{root}: no such file or directory")
        if root.is_file():
            kind = kind_of_file(root.name)
            if kind is None:
                raise InputError(f"{root}: not a metadata file (expected e.g. reflect-config.json or reachability-metadata.json)")
            found.append(ConfigDir(root.parent, root.name, ((kind, root),),
                                   os.path.lexists(root.parent / LOCK_FILE)))
            continue
        before, skipped_before = len(found), skipped_dirs
        for dirpath, dirnames, filenames in os.walk(root, onerror=walk_error):
            locked = LOCK_FILE in filenames or LOCK_FILE in dirnames
            dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and not _is_agent_temp(d))
            files = tuple(sorted(
                ((kind, Path(dirpath, name)) for name in filenames if (kind := kind_of_file(name)) is not None),
                key=lambda kf: kf[1].name,
            ))
            if files:
                path = Path(dirpath)
                rel = path.relative_to(root).as_posix()
                label = root.name if rel == "." else rel
                found.append(ConfigDir(path, label, files, locked))
        if len(found) == before and skipped_dirs == skipped_before:
            raise InputError(f"{root}: no metadata files found (looked for *-config.json and reachability-metadata.json)")
    return found


def _read_bytes(path: Path) -> bytes:
    return read_regular_file(path)  # a FIFO or /dev/zero named like metadata is refused, not read


def read_json(path: Path) -> object:
    return decode_json(_read_bytes(path), path)


@dataclass
class LoadResult:
    metadata: Metadata
    accumulator: Accumulator
    skipped: list[str] = field(default_factory=list)  # one message per skipped file
    dirs: list[ConfigDir] = field(default_factory=list)
    files_read: int = 0  # files merged in whole (a merge of nothing must not replace anything)


def load(
    inputs: Iterable[str | Path],
    *,
    skip_invalid: bool = False,
    allow_stale_locks: bool = False,
    provenance: bool = False,
    check_schema: Callable[[FileKind, object, Path], None] | None = None,
    warn: Callable[[str], None] = lambda msg: None,
) -> LoadResult:
    """Read and merge every config directory under ``inputs``.

    Each file is parsed into its own accumulator and folded in only when it is whole and
    valid, so ``skip_invalid`` drops bad files completely, never halfway.
    """
    unreadable: list[str] = []

    def skip_dir(message: str) -> None:
        unreadable.append(message)
        warn(f"skipped: {message}")

    dirs = find_config_dirs(inputs, unreadable=skip_dir if skip_invalid else None)
    with paused_gc():
        result = _load(dirs, skip_invalid, allow_stale_locks, provenance, check_schema, warn)
    result.skipped[:0] = unreadable
    return result


def _load(dirs: list[ConfigDir], skip_invalid: bool, allow_stale_locks: bool, provenance: bool,
          check_schema: Callable[[FileKind, object, Path], None] | None, warn: Callable[[str], None]) -> LoadResult:
    total = Accumulator()
    if provenance:
        total.track_provenance()
    skipped: list[str] = []
    reader = DedupingReader(total, provenance)
    files_read = 0
    for cdir in dirs:
        owner = cdir.lock_owner() if cdir.locked else None
        if owner is not None and owner != os.getpid() and agent_running(owner):
            message = (f"{cdir.path / LOCK_FILE}: held by process {owner}, which is still running the agent: "
                       f"its final output is not written yet (wait for it to exit)")
        elif cdir.locked and not allow_stale_locks:
            message = (f"{cdir.path}: holds an agent {LOCK_FILE}: the agent is still running or was killed "
                       f"(pass --allow-stale-locks to use its last snapshot)")
        else:
            message = None
        if message is not None:
            if not skip_invalid:
                raise InputError(message)
            skipped.append(message)
            warn(f"skipped: {message}")
            continue
        for kind, path in cdir.files:
            try:
                if check_schema is not None:
                    data = read_json(path)
                    check_schema(kind, data, path)
                    part = Accumulator(cdir.label)
                    add_to(part, kind, data)
                    total.absorb(part, cdir.label)
                else:
                    reader.add(kind, _read_bytes(path), cdir.label, path)
                files_read += 1
            except InputError as exc:  # unreadable, or not a regular file
                if not skip_invalid:
                    raise
                skipped.append(exc.message)
                warn(f"skipped: {exc.message}")
            except InvalidMetadata as exc:
                located = exc if exc.file else exc.located(str(path))
                if not skip_invalid:
                    raise InputError(str(located)) from None
                skipped.append(str(located))
                warn(f"skipped: {located}")
    return LoadResult(total.build(), total, skipped, dirs, files_read)


def write_config_dir(out: Path, files: dict[str, str], *, sidecars: dict[Path, str] | None = None,
                     fill: Callable[[Path], None] | None = None) -> None:
    """Replace ``out`` with exactly ``files`` (plus any non-metadata files it already had).

    ``fill`` adds more to the new directory before the commit (predefined class data). One
    commit with the ``sidecars`` (the provenance): see ``fsio.replace_dir``. ``out`` is never
    half-written, never absent, and keeps its mode; a symlink ``out`` is followed.
    """
    replace_dir(out, files, keep=lambda name: kind_of_file(name) is None, sidecars=sidecars, fill=fill)
