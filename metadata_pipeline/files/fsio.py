"""Files on disk: untrusted inputs read safely, outputs replaced atomically.

Reading. Only regular files are read, opened non-blocking and checked with ``fstat`` on the
open descriptor, so a FIFO named ``reflect-config.json`` cannot hang a run and a link to
``/dev/zero`` cannot eat memory; text must be UTF-8.

Writing. An output directory is replaced as one commit: everything (the directory and its
sidecar files, such as the provenance) is written to temporary names beside the targets
first, and only when all of it is complete are the targets swapped in. On Linux the swap is
``renameat2(RENAME_EXCHANGE)``, so the output path always holds the complete old or the
complete new directory; elsewhere two renames, and a run killed between them leaves the old
copy as ``.NAME.old-*``, which the next run puts back. Leftovers of killed runs
(``.NAME.new-*``, ``.NAME.old-*``) are removed by the next run. Writers of one output are
serialised with ``flock`` on its parent directory. SIGINT and SIGTERM during a commit are
held: before the point of no return they abort it (nothing replaced), after it they are
dropped (the work they would have stopped is done).
``METADATA_PIPELINE_NO_RENAME_EXCHANGE=1`` forces the two-rename path (its tests use it).
"""

from __future__ import annotations

import errno
import fcntl
import os
import secrets
import shutil
import signal
import stat
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Mapping

from metadata_pipeline.errors import InputError, os_reason

__all__ = ["read_regular_file", "read_text_file", "replace_dir", "atomic_write_text", "held_interrupts",
           "refuse_replacing_cwd", "resolve_output"]

_FILE_TYPES = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
               (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def read_regular_file(path: Path) -> bytes:
    """The bytes of a regular file (symlinks to one are fine); ``InputError`` for anything else."""
    try:
        # O_NONBLOCK: opening a FIFO for reading must not wait for a writer (fstat then refuses it).
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {os_reason(exc)}") from None
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            kind = next((name for test, name in _FILE_TYPES if test(status.st_mode)), "not a file")
            raise InputError(f"{path}: not a regular file ({kind})")
        # The whole file in one read (one byte more, to see it end): the one piece is returned
        # as it is, not copied by a join. A file that grows meanwhile takes more reads.
        chunks = []
        while chunk := os.read(fd, max(status.st_size + 1, 1 << 16)):
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {os_reason(exc)}") from None
    finally:
        os.close(fd)


def read_text_file(path: Path) -> str:
    """A regular file's text, which must be UTF-8: a bad byte is one line saying where."""
    data = read_regular_file(path)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(f"{path}: line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})") from None


# --- interrupts ----------------------------------------------------------------------------------

class _Held:
    def __init__(self) -> None:
        self.pending: int | None = None

    def check(self) -> None:
        """Act on a signal that arrived since: the caller is still before its point of no return."""
        if self.pending is not None:
            self.pending = None
            raise KeyboardInterrupt


_held: _Held | None = None


@contextmanager
def held_interrupts() -> Iterator[_Held]:
    """SIGINT/SIGTERM inside are recorded instead of raised; ``check()`` raises them where safe.

    Re-entrant: an inner use shares the outer one, so a command can keep its closing lines
    (the summary after a commit) inside the same protection. A signal still pending at the end
    is dropped: the body completed, so there is nothing left for it to stop.
    """
    global _held
    if _held is not None:
        yield _held
        return
    held = _Held()
    if threading.current_thread() is not threading.main_thread():
        yield held  # signals are delivered to the main thread only: nothing to hold
        return

    def record(signum: int, frame: object) -> None:
        held.pending = signum

    previous = {sig: signal.signal(sig, record) for sig in (signal.SIGINT, signal.SIGTERM)}
    _held = held
    try:
        yield held
    finally:
        _held = None
        for sig, handler in previous.items():
            signal.signal(sig, handler)


# --- the atomic swap -----------------------------------------------------------------------------

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_SYS_RENAMEAT2 = {"x86_64": 316, "aarch64": 276, "armv7l": 382, "ppc64le": 357, "s390x": 347, "riscv64": 276}
_renameat2: Callable[[bytes, bytes], int] | None | bool = False  # False: not looked up yet


def _load_renameat2() -> Callable[[bytes, bytes], int] | None:
    """renameat2 through libc (glibc >= 2.28), else the raw syscall number; None off Linux."""
    if sys.platform != "linux":
        return None
    import ctypes  # here, not at the top: merge --check and --help never need it
    import platform

    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
    fn = getattr(libc, "renameat2", None)
    if fn is not None:
        fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
        return lambda a, b: fn(_AT_FDCWD, a, _AT_FDCWD, b, _RENAME_EXCHANGE)
    number = _SYS_RENAMEAT2.get(platform.machine())
    if number is None:
        return None
    syscall = libc.syscall
    syscall.restype = ctypes.c_long
    return lambda a, b: syscall(ctypes.c_long(number), ctypes.c_int(_AT_FDCWD), ctypes.c_char_p(a),
                                ctypes.c_int(_AT_FDCWD), ctypes.c_char_p(b), ctypes.c_uint(_RENAME_EXCHANGE))


def _exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths in one step; False where the kernel or filesystem cannot."""
    global _renameat2
    if _renameat2 is False:
        _renameat2 = _load_renameat2()
    if _renameat2 is None or os.environ.get("METADATA_PIPELINE_NO_RENAME_EXCHANGE"):
        return False
    if _renameat2(os.fsencode(a), os.fsencode(b)) == 0:
        return True
    import ctypes

    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(a), None, str(b))


@contextmanager
def _locked(directory: Path, what: Path) -> Iterator[None]:
    """An exclusive flock on ``directory``: one writer at a time, no lock file left behind."""
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"waiting: another process is writing {what}", file=sys.stderr)
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError as exc:
            if exc.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL):
                raise
            # A filesystem without flock (some network mounts): writing unserialised beats not at all.
        yield
    finally:
        os.close(fd)  # releases the lock


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            path.unlink()
        except FileNotFoundError:
            pass


def _recover(parent: Path, name: str) -> None:
    """Clean up after a run of ``name`` that was killed; put its old copy back if it was hidden."""
    target = parent / name
    leftovers = sorted(p for p in parent.iterdir() if p.name.startswith((f".{name}.new-", f".{name}.old-")))
    olds = [p for p in leftovers if p.name.startswith(f".{name}.old-") and p.is_dir()]
    if olds and not os.path.lexists(target):
        # Killed between the two renames of the fallback: the old copy is complete.
        newest = max(olds, key=lambda p: p.stat().st_mtime)
        nested = newest / name  # what versions before 0.2 left: .NAME.old-*/NAME
        os.rename(nested if nested.is_dir() and [c.name for c in newest.iterdir()] == [name] else newest, target)
    for path in leftovers:
        _remove(path)


def resolve_output(path: Path | str) -> Path:
    """The directory an output path names: a symlink is followed (the link stays; its target is replaced)."""
    return Path(os.path.realpath(path))


def refuse_replacing_cwd(target: Path, shown: Path | str) -> None:
    cwd = Path(os.path.realpath(os.getcwd()))
    if target.parent == target:
        raise InputError(f"{shown}: is the filesystem root; refusing to replace it")
    if cwd == target or cwd.is_relative_to(target):
        raise InputError(f"{shown}: {'is' if cwd == target else 'contains'} the working directory; refusing to replace it")


def _write_file(path: Path, text: str, mode: int | None = None) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
    with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
        if mode is not None:
            os.fchmod(fh.fileno(), mode)
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())


def replace_dir(out: Path, files: Mapping[str, str], *, keep: Callable[[str], bool] = lambda name: False,
                sidecars: Mapping[Path, str] | None = None, fill: Callable[[Path], None] | None = None) -> None:
    """Make ``out`` hold exactly ``files`` plus the entries of the old ``out`` that ``keep`` names,
    and write each sidecar file, all in one commit (see the module docstring). ``fill`` adds more
    to the staged directory before the commit.

    Raises ``InputError`` when anything cannot be written; nothing is replaced then.
    """
    target = resolve_output(out)
    refuse_replacing_cwd(target, out)
    parent = target.parent
    side = {resolve_output(path): text for path, text in (sidecars or {}).items()}
    token = secrets.token_hex(4)
    with held_interrupts() as held:
        try:
            parent.mkdir(parents=True, exist_ok=True)
            for path in side:
                path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"{exc.filename or out}: cannot create directory: {os_reason(exc)}") from None
        try:
            with _locked(parent, out):
                _recover(parent, target.name)
                _stage_and_commit(target, out, files, keep, side, token, held, fill)
        except OSError as exc:  # the lock or the leftovers of a killed run
            raise InputError(f"{out}: cannot write: {os_reason(exc)}") from None


def _stage_and_commit(target: Path, out: Path | str, files: Mapping[str, str], keep: Callable[[str], bool],
                      side: Mapping[Path, str], token: str, held: _Held,
                      fill: Callable[[Path], None] | None = None) -> None:
    parent, name = target.parent, target.name
    if os.path.lexists(target) and not target.is_dir():
        raise InputError(f"{out}: exists and is not a directory")
    for path in side:
        if path.is_dir():
            raise InputError(f"{path}: is a directory")
    stage = parent / f".{name}.new-{token}"
    staged: list[tuple[Path, Path]] = []
    garbage: Path | None | bool = False  # False: not committed yet
    what: Path | str = out
    try:
        os.mkdir(stage)
        for file_name, text in files.items():
            _write_file(stage / file_name, text)
            held.check()
        if fill is not None:
            fill(stage)
        if target.is_dir():
            os.chmod(stage, stat.S_IMODE(target.stat().st_mode))  # the output keeps its mode
            for entry in target.iterdir():  # keep what is not ours (a README, say)
                if keep(entry.name) and entry.name not in files and not os.path.lexists(stage / entry.name):
                    if entry.is_dir() and not entry.is_symlink():
                        shutil.copytree(entry, stage / entry.name, symlinks=True)
                    else:
                        shutil.copy2(entry, stage / entry.name, follow_symlinks=False)
        _fsync_dir(stage)
        for path, text in side.items():
            what = path
            for old in path.parent.glob(f".{path.name}.new-*"):  # a killed run's
                _remove(old)
            tmp = path.parent / f".{path.name}.new-{token}"
            staged.append((tmp, path))
            _write_file(tmp, text, stat.S_IMODE(path.stat().st_mode) if path.is_file() else None)
        held.check()  # the last moment an interrupt stops the commit
        what = out
        garbage = _commit(target, stage, parent, token, staged)
    except OSError as exc:
        raise InputError(f"{what}: cannot write: {os_reason(exc)}") from None
    finally:
        if garbage is False:
            _remove(stage)
            for tmp, _ in staged:
                _remove(tmp)
    # Committed: what follows only makes it durable and tidy; a failure here changes no result.
    try:
        for directory in {parent, *(path.parent for _, path in staged)}:
            _fsync_dir(directory)
    except OSError:
        pass
    if garbage is not None:
        _remove(garbage)


def _commit(target: Path, stage: Path, parent: Path, token: str, staged: list[tuple[Path, Path]]) -> Path | None:
    """The renames; returns the old copy to delete. A failure puts everything back as it was."""
    garbage: Path | None = None
    if not os.path.lexists(target):
        os.rename(stage, target)
        undo: Callable[[], None] = lambda: os.rename(target, stage)
    elif _exchange(stage, target):
        garbage = stage  # now the old copy
        undo = lambda: _exchange(stage, target) and None
    else:
        garbage = parent / f".{target.name}.old-{token}"
        os.rename(target, garbage)
        try:
            os.rename(stage, target)
        except OSError:
            os.rename(garbage, target)
            raise

        def undo() -> None:
            os.rename(target, stage)
            os.rename(garbage, target)
    try:
        for tmp, path in staged:
            os.replace(tmp, path)
    except OSError:
        undo()
        raise
    return garbage


def atomic_write_text(path: Path, text: str) -> None:
    """Write one file so that readers see the old or the new content, never a part."""
    path = Path(path)
    tmp = path.parent / f".{path.name}.new-{secrets.token_hex(4)}"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_file(tmp, text, stat.S_IMODE(path.stat().st_mode) if path.is_file() else None)
        os.replace(tmp, path)
    except OSError as exc:
        raise InputError(f"{path}: cannot write: {os_reason(exc)}") from None
    finally:
        if os.path.lexists(tmp):
            _remove(tmp)
