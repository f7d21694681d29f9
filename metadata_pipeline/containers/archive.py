"""Safe extraction of the tar streams that ``Container.copy_out`` gets from the engine."""

from __future__ import annotations

import os
import posixpath
import re
import math
import shutil
import tarfile
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import IO


from metadata_pipeline.containers.errors import ContainerError, UnsafeArchive


# --- safe extraction --------------------------------------------------------------------------

def extract_archive(archive: IO[bytes], dest_dir: Path, source: str) -> list[str]:
    """Extract a tar archive into ``dest_dir``; return the member names written, in order.

    All or nothing: the archive is extracted into a temporary directory in ``dest_dir``
    with tarfile's ``data`` filter (no absolute or outside links, no devices or FIFOs, no
    set-id bits, no ownership), and only when every member came out are its top-level entries
    renamed into ``dest_dir``, each replacing what had its name there (a symlink in the way is
    replaced, never followed). Before anything is written, ``UnsafeArchive`` names the first
    member that breaks a rule the filter does not check:
    - names must be relative (the filter would strip a leading ``/``), free of ``..`` and NUL,
      at most ``_MAX_PARTS`` levels and ``_MAX_NAME`` characters, with a sane mtime;
    - no member may lie below a symlink (one in the archive or one already in ``dest_dir``);
    - a symlink must be relative and stay inside lexically, never passing through another
      symlink (the filter resolves against the temporary directory, whose name is not kept);
    - a hard link must point at a regular file earlier in the same archive.
    An archive that cannot be read (empty, truncated, garbage) is a ``ContainerError``, and so is
    ``dest_dir`` being a symlink: nothing is written through one.
    """
    if dest_dir.is_symlink():
        raise ContainerError(f"cannot extract the archive from {source}: {dest_dir} is a symlink "
                             "(refusing to write through it)")
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
        root = dest_dir.resolve()
        # Inside dest_dir, so the renames never cross a file system (dest_dir may be a mount).
        tmp = Path(tempfile.mkdtemp(prefix=".extract-", dir=dest_dir))
    except OSError as exc:
        raise ContainerError(f"cannot extract the archive from {source} into {dest_dir}: "
                             f"{exc.strerror or exc}") from None
    try:
        try:
            with tarfile.open(fileobj=archive, mode="r:") as tar:
                members = tar.getmembers()
                # tarfile stops quietly at a stream cut between members; a whole archive ends
                # with a zero block (every tar writer puts two there).
                archive.seek(tar.offset)
                if archive.read(tarfile.BLOCKSIZE) != bytes(tarfile.BLOCKSIZE):
                    raise tarfile.ReadError("truncated: no end-of-archive marker")
                plan = _check_members(members, root, source)
                for member, parts in plan:
                    _clear_the_way(tmp, member, parts, source)
                    tar.extract(member, tmp, set_attrs=not member.issym(), filter="data")
        except tarfile.FilterError as exc:
            member = exc.tarinfo.name if exc.tarinfo is not None else "?"
            raise UnsafeArchive(source, member, _filter_problem(exc)) from None
        except (tarfile.TarError, EOFError) as exc:
            raise ContainerError(f"cannot read the archive from {source}: {exc or 'unreadable'}") from None
        except (OSError, RecursionError) as exc:  # RecursionError: tarfile's link fallback, a last resort
            raise ContainerError(f"cannot extract the archive from {source} into {dest_dir}: "
                                 f"{getattr(exc, 'strerror', None) or exc}") from None
        _move_into(tmp, dest_dir, source)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return ["/".join(parts) for _member, parts in plan]


_MAX_PARTS, _MAX_NAME = 256, 4096  # deeper or longer cannot be a path on Linux anyway
_MAX_MTIME = 2.0 ** 40  # year 36812: beyond it utime overflows


def _filter_problem(exc: tarfile.FilterError) -> str:
    if isinstance(exc, tarfile.SpecialFileError):
        return "is a device, FIFO or other special file"
    if isinstance(exc, tarfile.AbsoluteLinkError):
        return f"is a link to the absolute path {exc.tarinfo.linkname!r}"
    if isinstance(exc, tarfile.LinkOutsideDestinationError):
        return f"is a link to {exc.tarinfo.linkname!r}, outside the destination"
    return "would be written outside the destination"


def _clear_the_way(tmp: Path, member: tarfile.TarInfo, parts: tuple[str, ...], source: str) -> None:
    """A later member replaces an earlier one at its path, as tar does, but never a directory.

    Done here because tarfile, finding a path taken, falls back to copying the link target
    (which may be the member itself).
    """
    if not parts:
        return
    path = tmp.joinpath(*parts)
    if path.is_dir() and not path.is_symlink():
        if not member.isdir():
            raise UnsafeArchive(source, member.name, "would replace a directory")
    elif os.path.lexists(path):
        path.unlink()


def _move_into(tmp: Path, dest_dir: Path, source: str) -> None:
    """Rename the extracted top-level entries into ``dest_dir``; undo it all on a failure."""
    old = Path(tempfile.mkdtemp(prefix=".replaced-", dir=dest_dir))
    aside: list[str] = []  # names whose previous entry was moved out of the way
    placed: list[str] = []
    try:
        for entry in sorted(tmp.iterdir()):
            target = dest_dir / entry.name
            if os.path.lexists(target):
                os.rename(target, old / entry.name)
                aside.append(entry.name)
            os.rename(entry, target)
            placed.append(entry.name)
    except OSError as exc:
        for name in reversed(placed):
            _remove(dest_dir / name)
        for name in reversed(aside):
            os.rename(old / name, dest_dir / name)
        raise ContainerError(f"cannot extract the archive from {source} into {dest_dir}: "
                             f"{exc.strerror or exc}") from None
    finally:
        shutil.rmtree(old, ignore_errors=True)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _member_parts(member: tarfile.TarInfo, source: str) -> tuple[str, ...]:
    name = member.name
    if "\0" in name or "\0" in member.linkname:
        raise UnsafeArchive(source, name, "has a NUL character in its name or link target")
    if len(name) > _MAX_NAME or len(member.linkname) > _MAX_NAME:
        raise UnsafeArchive(source, name[:200], f"has a name or link target longer than {_MAX_NAME} characters")
    if name.startswith("/") or re.match(r"^[A-Za-z]:[\\/]", name):
        raise UnsafeArchive(source, name, "has an absolute path")
    parts = _split(name)
    if ".." in parts:
        raise UnsafeArchive(source, name, "contains '..'")
    if len(parts) > _MAX_PARTS:
        raise UnsafeArchive(source, name[:200], f"is nested more than {_MAX_PARTS} levels deep")
    if not (isinstance(member.mtime, (int, float)) and math.isfinite(member.mtime) and abs(member.mtime) < _MAX_MTIME):
        raise UnsafeArchive(source, name, f"has an impossible modification time {member.mtime!r}")
    return parts


def _split(name: str) -> tuple[str, ...]:
    return tuple(part for part in name.split("/") if part not in ("", "."))


def _check_members(members: Iterable[tarfile.TarInfo], root: Path,
                   source: str) -> list[tuple[tarfile.TarInfo, tuple[str, ...]]]:
    plan = [(member, _member_parts(member, source)) for member in members]
    links = {parts for member, parts in plan if member.issym()}
    files_so_far: set[tuple[str, ...]] = set()
    checked: list[tuple[tarfile.TarInfo, tuple[str, ...]]] = []
    for member, parts in plan:
        if not parts:  # the archive's own "." entry
            if member.isdir():
                continue
            raise UnsafeArchive(source, member.name, "has an empty name")
        for depth in range(1, len(parts)):
            parent = parts[:depth]
            if parent in links or root.joinpath(*parent).is_symlink():
                raise UnsafeArchive(source, member.name,
                                    f"lies below the symlink {'/'.join(parent)!r}")
        if member.issym():
            _check_symlink(member, parts, links, root, source)
        elif member.islnk():
            # Archive-relative; only an earlier regular file qualifies, which also rules out
            # absolute names and ".." (no member has those).
            if _split(member.linkname) not in files_so_far or member.linkname.startswith("/"):
                raise UnsafeArchive(source, member.name,
                                    f"is a hard link to {member.linkname!r}, "
                                    "which is not a regular file earlier in the archive")
        # What a hard link may point at is whatever was written last at that path.
        if member.isfile() or member.islnk():
            files_so_far.add(parts)
        else:
            files_so_far.discard(parts)
        checked.append((member, parts))
    return checked


def _check_symlink(member: tarfile.TarInfo, parts: tuple[str, ...], links: set[tuple[str, ...]],
                   root: Path, source: str) -> None:
    target = member.linkname
    if not target or posixpath.isabs(target):
        raise UnsafeArchive(source, member.name, f"is a symlink to the absolute path {target!r}")
    # Walk the target from the link's directory. Each step must leave from a real directory:
    # "x/.." is only the link's own directory when x is not itself a link.
    resolved = list(parts[:-1])
    for part in target.split("/"):
        if part in ("", "."):
            continue
        if resolved and (tuple(resolved) in links or root.joinpath(*resolved).is_symlink()):
            raise UnsafeArchive(source, member.name, f"is a symlink to {target!r}, "
                                f"through the symlink {'/'.join(resolved)!r}")
        if part == "..":
            if not resolved:
                raise UnsafeArchive(source, member.name,
                                    f"is a symlink to {target!r}, outside the destination")
            resolved.pop()
        else:
            resolved.append(part)
