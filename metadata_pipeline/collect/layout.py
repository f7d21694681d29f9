"""The output directory of ``collect``: where each test's output goes, and the run's own state.

::

    COLLECTED/
      <test dir>/                         one per test id (see test_dir_name)
        manifest.json                     written last: the test's output is complete
        <node>/<process>/*.json           one agent output directory per instrumented JVM
        .ducktape/                        ducktape's report.json, report.txt, test logs
      collect.json                        every test's status, rewritten after each test
      .collect/                           the runs' own state (hidden: merge never reads it)
        lock                              held by the one collect writing here
        active-run                        the run id while a run is going (left by a crash)
        runs/<run id>/                    staged overrides, cluster.json, ducktape.log
        staging/                          tests being gathered; moved into place when whole

``merge COLLECTED`` reads every test directory and names each entry's source by its path,
``<test dir>/<node>/<process>``: per-test provenance without any extra step. Directories whose
name starts with a dot are never read by ``merge``.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from metadata_pipeline.collect.manifest import MANIFEST_NAME, InvalidManifest, Manifest
from metadata_pipeline.files.configdir import atomic_write_text
from metadata_pipeline.errors import InputError

__all__ = ["OutputDir", "OutputBusy", "safe_name", "test_dir_name", "STATE_DIR", "DUCKTAPE_FILES", "SUMMARY_FILE"]

STATE_DIR = ".collect"
DUCKTAPE_FILES = ".ducktape"
SUMMARY_FILE = "collect.json"
_MAX_NAME = 200  # bytes; file systems allow 255, and room is left for temporary names


class OutputBusy(InputError):
    """Another collect is writing into the same output directory."""


def safe_name(text: str) -> str:
    """One path component for any text (a test id, a host name): readable, the same in every run.

    ``/``, ``%``, NUL and a leading dot are percent-encoded (a dot would hide the directory
    from ``merge``); names longer than 200 bytes keep their start and a hash of the whole text.
    """
    name = text.replace("%", "%25").replace("/", "%2F").replace("\0", "%00")
    if name.startswith("."):
        name = "%2E" + name[1:]
    if not name:
        name = "%"
    raw = name.encode()
    if len(raw) > _MAX_NAME:
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        name = raw[:_MAX_NAME - 17].decode(errors="ignore") + "~" + digest
    return name


def test_dir_name(test_id: str) -> str:
    """The directory of a test's output under ``COLLECTED``."""
    return safe_name(test_id)


test_dir_name.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


class OutputDir:
    """``COLLECTED``: test directories, manifests and the state of the runs writing them."""

    def __init__(self, root: Path) -> None:
        self.root = root.absolute()

    @property
    def state(self) -> Path:
        return self.root / STATE_DIR

    def test_dir(self, test_id: str) -> Path:
        return self.root / test_dir_name(test_id)

    def run_dir(self, run_id: str) -> Path:
        return self.state / "runs" / run_id

    # -- reading -------------------------------------------------------------------------------

    def manifests(self) -> dict[str, Manifest]:
        """Every complete test output under the directory, by test id."""
        found: dict[str, Manifest] = {}
        if not self.root.is_dir():
            return found
        for entry in sorted(self.root.iterdir()):
            path = entry / MANIFEST_NAME
            if entry.name.startswith(".") or not path.is_file():
                continue
            manifest = Manifest.loads(path.read_text(encoding="utf-8"), str(path))
            if test_dir_name(manifest.test_id) != entry.name:
                raise InvalidManifest(f"{path}: test id {manifest.test_id!r} does not belong in {entry.name}")
            found[manifest.test_id] = manifest
        return found

    # -- writing -------------------------------------------------------------------------------

    def check_usable(self) -> None:
        """Refuse a path that is not (or cannot become) a collect output.

        A directory with other content that collect never wrote is refused: collect replaces
        test directories in it, and merge would read everything in it.
        """
        if self.root.exists() and not self.root.is_dir():
            raise InputError(f"{self.root}: exists and is not a directory")
        if self.root.is_dir() and not self.state.is_dir() and any(self.root.iterdir()):
            raise InputError(f"{self.root}: exists, is not empty and is not a collect output; choose another -o")

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the output directory for one run; a second collect into it fails at once."""
        self.check_usable()
        try:
            self.state.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.state / "lock", os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise InputError(f"{self.root}: cannot create the output directory: {exc.strerror}") from None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno in (errno.EAGAIN, errno.EACCES):
                    holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
                    raise OutputBusy(f"{self.root}: another collect (pid {holder}) is writing here; "
                                     "wait for it or use another -o") from None
                raise
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def new_staging(self, test_id: str) -> Path:
        """An empty directory to assemble one test's output in, on the output's file system."""
        staging = self.state / "staging"
        staging.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=test_dir_name(test_id)[:40] + ".", dir=staging))

    def install(self, staged: Path, test_id: str) -> Path:
        """Move an assembled test directory (manifest included) into place, replacing an older one.

        Renames only: a reader (or a crash) sees the old complete output or the new one.
        """
        if not (staged / MANIFEST_NAME).is_file():
            raise ValueError(f"{staged}: no {MANIFEST_NAME}; only complete outputs are installed")
        target = self.test_dir(test_id)
        old = None
        if target.exists():
            (self.state / "staging").mkdir(parents=True, exist_ok=True)
            old = Path(tempfile.mkdtemp(prefix="replaced.", dir=self.state / "staging")) / target.name
            os.rename(target, old)
        os.rename(staged, target)
        if old is not None:
            shutil.rmtree(old.parent, ignore_errors=True)
        return target

    def clear_staging(self) -> None:
        """Drop what an interrupted run was assembling: never complete, never installed."""
        shutil.rmtree(self.state / "staging", ignore_errors=True)

    def write_summary(self, doc: dict) -> None:
        atomic_write_text(self.root / SUMMARY_FILE, json.dumps(doc, indent=2, sort_keys=True) + "\n")

    # -- the run going on (for cleaning up after a crash) ---------------------------------------

    def crashed_run(self) -> str | None:
        """The run id an earlier run recorded and never cleared (it crashed or was killed)."""
        marker = self.state / "active-run"
        try:
            run_id = json.loads(marker.read_text())["run_id"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return run_id if isinstance(run_id, str) else None

    def begin_run(self, run_id: str) -> None:
        """Record ``run_id`` as active until ``end_run``: a later run cleans up after a crash."""
        atomic_write_text(self.state / "active-run", json.dumps({
            "run_id": run_id, "pid": os.getpid(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}) + "\n")

    def end_run(self) -> None:
        (self.state / "active-run").unlink(missing_ok=True)
