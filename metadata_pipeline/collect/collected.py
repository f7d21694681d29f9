"""A ``collect`` output read per test and per process, for ``coverage`` and ``why``.

Tests come from the manifests ``collect`` writes (``<test dir>/manifest.json``: status, run
time, one record per instrumented JVM); each process directory is read on its own, with the
same reader and the same filters as ``merge``, so that an item belongs to exactly the
processes that wrote it. Run times come from the manifests, or from a ducktape
``report.json`` (``--timings``).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

from metadata_pipeline.collect.layout import OutputDir

from metadata_pipeline.collect.manifest import MANIFEST_NAME, Manifest
from metadata_pipeline.files.configdir import LOCK_FILE, decode_json, find_config_dirs, read_json
from metadata_pipeline.core.coverage import ItemIndex, items_of
from metadata_pipeline.core.entry_shapes import LegacyTypeShape, Refused, decode_shaped
from metadata_pipeline.core.errors import InvalidMetadata
from metadata_pipeline.core.filters import ClassFilter, apply_filter
from metadata_pipeline.core.kinds import FileKind, kind_of_file
from metadata_pipeline.core.merge import Accumulator
from metadata_pipeline.core.parse import add_legacy_type_entry, add_to
from metadata_pipeline.errors import InputError
# The agent's reflect/jni layout, as the merge's fast path reads it (one definition).
from metadata_pipeline.files.fastload import raw_entries, paused_gc

_TYPE_FILES = (FileKind.REFLECT, FileKind.JNI)

__all__ = ["CollectedProcess", "CollectedTest", "CollectedItems", "read_collected", "read_items", "class_filter_for",
           "timings_from_report"]


@dataclass(frozen=True)
class CollectedProcess:
    test_id: str
    node: str
    label: str            # <test dir>/<node>/<process>, as merge --provenance names it
    main_class: str | None
    write: str            # final / snapshot / none (see collect/manifest.py)
    path: Path


@dataclass(frozen=True)
class CollectedTest:
    __test__ = False  # not a pytest test class

    test_id: str
    status: str
    seconds: float | None
    root: Path
    processes: tuple[CollectedProcess, ...]


def read_collected(roots: Sequence[str | Path]) -> list[CollectedTest]:
    """Every test of every ``collect`` output given, from its manifest, sorted by test id."""
    tests: dict[str, CollectedTest] = {}
    for raw in roots:
        root = Path(raw)
        if not root.is_dir():
            raise InputError(f"{root}: no such directory (expected a collect output)")
        manifests = OutputDir(root).manifests()
        _refuse_unmanifested(root)
        if not manifests:
            raise InputError(f"{root}: no {MANIFEST_NAME} in any test directory: not a collect output "
                             "(coverage needs the per-test manifests collect writes)")
        for test_id, manifest in manifests.items():
            if test_id in tests:
                raise InputError(f"{root}: test {test_id} is also in {tests[test_id].root}: give each test once")
            tests[test_id] = _test(root, manifest)
    return [tests[t] for t in sorted(tests)]


def _refuse_unmanifested(root: Path) -> None:
    """A test directory with metadata but no manifest: merge would read it, coverage could not."""
    for entry in sorted(root.iterdir()):
        if entry.name.startswith(".") or not entry.is_dir() or (entry / MANIFEST_NAME).is_file():
            continue
        if any(kind_of_file(p.name) for p in entry.rglob("*.json") if not _hidden(p.relative_to(entry))):
            raise InputError(f"{entry}: metadata without a {MANIFEST_NAME}: not a test directory collect wrote "
                             "(coverage counts tests by their manifests)")


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


def _test(root: Path, manifest: Manifest) -> CollectedTest:
    test_dir = OutputDir(root).test_dir(manifest.test_id)
    processes = []
    for i, record in enumerate(manifest.processes):
        path = test_dir / record.path
        if record.files and not path.is_dir():
            raise InputError(f"{test_dir / MANIFEST_NAME}: /processes/{i}: {record.path} is missing")
        processes.append(CollectedProcess(manifest.test_id, record.node, f"{test_dir.name}/{record.path}",
                                          record.main_class, record.write, path))
    seconds = manifest.run_time_seconds
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not math.isfinite(seconds) or seconds < 0:
        seconds = None
    return CollectedTest(manifest.test_id, manifest.status, seconds, root, tuple(processes))


@dataclass(frozen=True)
class CollectedItems:
    tests: list[CollectedTest]
    index: ItemIndex
    items: list[frozenset[int]]                       # per test: item numbers, all its processes
    by_process: list[list[frozenset[int]]] | None     # per test, per process (with per_process=True)


def read_items(roots: Sequence[str | Path], class_filter: ClassFilter, *, per_process: bool = False,
               skip_invalid: bool = False, allow_stale_locks: bool = False,
               warn: Callable[[str], None] = lambda msg: None) -> CollectedItems:
    """Every test with the items its processes wrote (after filters), numbered in one index.

    Each process is read, numbered and dropped before the next; only the numbers stay.
    """
    tests = read_collected(roots)
    index = ItemIndex()
    reader = _ItemReader(index, class_filter, skip_invalid, allow_stale_locks, warn)
    by_test: list[frozenset[int]] = []
    by_process: list[list[frozenset[int]]] = []
    with paused_gc():
        for test in tests:
            ids = [reader.process(p.path) for p in test.processes]
            by_test.append(frozenset().union(*ids))
            if per_process:
                by_process.append(ids)
    return CollectedItems(tests, index, by_test, by_process if per_process else None)


class _ItemReader:
    """The item numbers of one process directory after another, decoding only what is new.

    The merge's fast path (``fastload``) applied to items: processes repeat each other's
    entries byte for byte, and identical bytes are identical items. In reflect/jni files in
    the agent's layout each entry's text is looked up before it is decoded; any other file is
    looked up whole. What is new is parsed by the merge's own parser, built, filtered and
    numbered once. A process's items are the union of its entries' items: what its own merge
    would drop (a queried method it also invokes) the analysis drops for the whole collection.
    """

    def __init__(self, index: ItemIndex, class_filter: ClassFilter, skip_invalid: bool, allow_stale_locks: bool,
                 warn: Callable[[str], None]) -> None:
        self.index = index
        self.class_filter = class_filter
        self.skip_invalid = skip_invalid
        self.allow_stale_locks = allow_stale_locks
        self.warn = warn
        self._entries: dict[tuple[tuple[FileKind, bool], bytes], frozenset[int]] = {}
        self._files: dict[tuple[FileKind, bytes], frozenset[int]] = {}

    def _ids(self, acc: Accumulator) -> frozenset[int]:
        return self.index.ids(items_of(apply_filter(acc.build(), self.class_filter)[0]))

    def process(self, path: Path) -> frozenset[int]:
        if not path.is_dir() or not any(kind_of_file(p.name) for p in path.iterdir()):
            return frozenset()
        [cdir] = [d for d in find_config_dirs([path]) if d.path == path] or [None]
        if cdir is None:
            return frozenset()
        if cdir.locked and not self.allow_stale_locks:
            raise InputError(f"{path}: holds an agent {LOCK_FILE}: the agent is still running or was killed "
                             "(pass --allow-stale-locks to use its last snapshot)")
        ids: list[frozenset[int]] = []
        for kind, file in cdir.files:
            try:
                data = file.read_bytes()
            except OSError as exc:
                raise InputError(f"{file}: cannot read: {exc.strerror}") from None
            try:
                ids.append(self._file(kind, data, file))
            except InvalidMetadata as exc:
                located = exc if exc.file else exc.located(str(file))
                if not self.skip_invalid:
                    raise InputError(str(located)) from None
                self.warn(f"skipped: {located}")
        return frozenset().union(*ids)

    def _file(self, kind: FileKind, data: bytes, file: Path) -> frozenset[int]:
        if kind in _TYPE_FILES:
            found = self._split_items(kind, data)
            if found is not None:
                return found
        key = (kind, hashlib.blake2b(data, digest_size=16).digest())
        found = self._files.get(key)
        if found is None:
            acc = Accumulator()
            add_to(acc, kind, decode_json(data, file))
            found = self._files[key] = self._ids(acc)
        return found

    def _split_items(self, kind: FileKind, data: bytes) -> frozenset[int] | None:
        """The items of a reflect/jni file split as text by the merge's splitter; None when it
        cannot be (or is bad: the general path then says where)."""
        split = raw_entries(data)
        if split is None:
            return None
        entries = self._entries
        chunks = set(split.chunks)
        space = (kind, split.braced)  # whole texts and texts without braces: keys apart
        new = [chunk for chunk in chunks if (space, chunk) not in entries]
        if new:
            # New entries of one file are parsed and built together; each entry's items are
            # then those under its identity (a file names each identity once, as agents write).
            acc = Accumulator()
            identities = {}
            try:
                # as strict as the merge: a duplicate key goes the general way
                raws, _ = decode_shaped(new, split.braced, LegacyTypeShape)
                for chunk, raw in zip(new, raws):
                    identities[chunk] = add_legacy_type_entry(acc, kind, raw, "")
            except (Refused, InvalidMetadata):
                return None
            if len(set(identities.values())) < len(identities):
                return None  # one identity twice: the general path merges the file as a whole
            by_identity: dict[tuple, list[int]] = {}
            items = self.index.items
            for number in self._ids(acc):
                by_identity.setdefault(items[number][1], []).append(number)
            for chunk, identity in identities.items():
                entries[(space, chunk)] = frozenset(by_identity.get(identity, ()))
        parts = [entries[(space, chunk)] for chunk in chunks]
        return frozenset().union(*parts)


def class_filter_for(no_config: bool, extra: Sequence[str]) -> ClassFilter:
    """The filters merge would apply: metadata-pipeline.toml's, then ``--filter`` files."""
    from metadata_pipeline.files.filterfiles import load_filters
    from metadata_pipeline.files.settings import Settings, load_settings

    settings = Settings() if no_config else load_settings()
    return load_filters([*settings.filters, *map(Path, extra)])


def timings_from_report(path: Path, test_ids: Iterable[str]) -> dict[str, float]:
    """Run time of each test from ducktape's session ``report.json``; every test must be in it.

    A test listed more than once (``--repeat``, a deflake) gets its mean time.
    """
    from metadata_pipeline.collect.results import parse_report

    try:
        doc = read_json(path)
    except InvalidMetadata as exc:
        raise InputError(str(exc)) from None
    times: dict[str, list[float]] = {}
    for outcome in parse_report(doc, str(path)):
        if outcome.run_time_seconds is not None:
            times.setdefault(outcome.test_id, []).append(float(outcome.run_time_seconds))
    wanted = list(test_ids)
    missing = [t for t in wanted if t not in times]
    if missing:
        more = f" (and {len(missing) - 1} more of the {len(wanted)} collected tests)" if len(missing) > 1 else ""
        raise InputError(f"{path}: no run time for test {missing[0]}{more}: not the report of this collect output")
    return {t: math.fsum(times[t]) / len(times[t]) for t in wanted}

