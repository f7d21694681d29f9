"""Hostile tar streams into ``extract_archive``: one clean error each, and nothing written.

Complements tests/test_containers.py (names, links, special files) with what came out of
fuzzing the stream itself (issue 15, item 11).
"""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from metadata_pipeline.containers import ContainerError, UnsafeArchive, extract_archive
from metadata_pipeline.errors import FatalError


def pax(*members: tuple[str, dict, bytes | None]) -> io.BytesIO:
    """A pax archive of (name, pax headers, file data or None for a directory)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, headers, data in members:
            info = tarfile.TarInfo(name)
            info.mtime = 1_700_000_000
            info.pax_headers = dict(headers)
            if data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    return buffer


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "kept.json").write_text("old")
    (dest / "out").mkdir()
    (dest / "out" / "reflect-config.json").write_text("old")
    return dest


def snapshot(root: Path) -> dict[str, str | None]:
    out = {}
    for path in sorted(root.rglob("*")):
        out[str(path.relative_to(root))] = None if path.is_dir() else path.read_text()
    return out


def extract_fails_cleanly(stream: io.BytesIO, dest: Path) -> FatalError:
    before = snapshot(dest)
    with pytest.raises(ContainerError) as info:
        extract_archive(stream, dest, "node1:/mnt/out")
    message = str(info.value)
    assert "\n" not in message and "node1:/mnt/out" in message and len(message) < 600
    assert snapshot(dest) == before, "a refused archive changed the destination"
    return info.value


def good_then(*bad: tuple[str, dict, bytes | None]) -> io.BytesIO:
    return pax(("out", {}, None), ("out/reflect-config.json", {}, b"new"), *bad)


def test_nul_in_a_pax_path_is_refused(dest: Path) -> None:
    err = extract_fails_cleanly(good_then(("x", {"path": "out/a\0b"}, b"x")), dest)
    assert isinstance(err, UnsafeArchive) and "NUL" in str(err)


@pytest.mark.parametrize("mtime", ["1e30", "nan", "-inf"])
def test_impossible_pax_mtimes_are_refused(dest: Path, mtime: str) -> None:
    err = extract_fails_cleanly(good_then(("out/jni-config.json", {"mtime": mtime}, b"[]")), dest)
    assert isinstance(err, UnsafeArchive) and "modification time" in str(err)


def test_a_very_deep_path_is_refused(dest: Path) -> None:
    err = extract_fails_cleanly(good_then(("/".join(["a"] * 5000), {}, b"x")), dest)
    assert isinstance(err, UnsafeArchive)


@pytest.mark.parametrize("stream", [b"", b"garbage" * 100, b"\0" * 10 + b"x" * 502],
                         ids=["empty", "garbage", "bad-header"])
def test_unreadable_streams_are_a_clean_error(dest: Path, stream: bytes) -> None:
    assert "cannot read the archive" in str(extract_fails_cleanly(io.BytesIO(stream), dest))


@pytest.mark.parametrize("cut", ["100", "600", "1100", "in-data", "before-end-marker"])
def test_truncated_streams_are_a_clean_error(dest: Path, cut: str) -> None:
    data = good_then(("out/big.json", {}, b"x" * 5000)).getvalue()
    big = data.index(b"x" * 5000)
    at = {"in-data": big + 2500, "before-end-marker": big + 5120}.get(cut) or int(cut)
    extract_fails_cleanly(io.BytesIO(data[:at]), dest)


def test_dir_then_file_of_the_same_name_writes_nothing(dest: Path) -> None:
    # The conflict only shows while extracting; the members before it must not get out either.
    extract_fails_cleanly(good_then(("out/d", {}, None), ("out/d", {}, b"x")), dest)


def test_a_destination_that_is_a_symlink_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    link = tmp_path / "dest"
    link.symlink_to(outside)
    with pytest.raises(ContainerError) as info:
        extract_archive(pax(("a.json", {}, b"x")), link, "t")
    assert "symlink" in str(info.value)
    assert list(outside.iterdir()) == []


def test_a_good_archive_replaces_its_entries_and_leaves_the_rest(dest: Path) -> None:
    assert extract_archive(good_then(("out/jni-config.json", {}, b"[]")), dest, "t") == [
        "out", "out/reflect-config.json", "out/jni-config.json"]
    assert snapshot(dest) == {"kept.json": "old", "out": None, "out/jni-config.json": "[]",
                              "out/reflect-config.json": "new"}
    assert sorted(os.listdir(dest)) == ["kept.json", "out"]  # no temporary directory left
