"""Building ``collect`` output trees on disk for the coverage and why tests: test dirs with the
agent's files per process and the manifest collect writes, through collect's own classes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Mapping, Sequence

from metadata_pipeline.collect.layout import OutputDir, test_dir_name
from metadata_pipeline.collect.manifest import FINAL, MANIFEST_NAME, NOTHING, Manifest, ProcessRecord
from metadata_pipeline.core.kinds import FileKind


def write_collected(root: Path, tests: Mapping[str, tuple[str, float | None, Sequence[Mapping[FileKind, object]]]],
                    layout: Callable[[object], bytes] | None = None) -> Path:
    """``tests``: test id -> (status, run time, one documents dict per process); ``layout``
    writes reflect/jni files (default: one JSON line)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / ".collect").mkdir(exist_ok=True)
    for test_id, (status, seconds, processes) in tests.items():
        test_dir = OutputDir(root).test_dir(test_id)
        records = []
        for n, docs in enumerate(processes):
            node = f"ducker{2 + n % 2:02d}"
            path = f"{node}/kafka.Kafka-{100 + n}-tok{n}"
            pdir = test_dir / path
            pdir.mkdir(parents=True)
            for kind, doc in docs.items():
                if layout is not None and kind in (FileKind.REFLECT, FileKind.JNI):
                    (pdir / kind.file_name).write_bytes(layout(doc))
                else:
                    (pdir / kind.file_name).write_text(json.dumps(doc))
            records.append(ProcessRecord(node=node, path=path, main_class="kafka.Kafka",
                                         write=FINAL if docs else NOTHING, stale_lock=False,
                                         files=tuple(sorted(k.file_name for k in docs))))
        test_dir.mkdir(parents=True, exist_ok=True)
        manifest = Manifest(test_id=test_id, status=status, run_time_seconds=seconds, summary="",
                            nodes=tuple(sorted({r.node for r in records})), processes=tuple(records),
                            entries={"reflection": 1}, run_id="r1", collected_at="2026-01-01T00:00:00Z")
        (test_dir / MANIFEST_NAME).write_text(manifest.dumps())
        assert test_dir.name == test_dir_name(test_id)
    return root


def reflect(*entries: dict) -> dict[FileKind, object]:
    return {FileKind.REFLECT: list(entries)}
