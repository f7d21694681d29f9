"""The per-test manifest of a ``collect`` output: what one ducktape test left behind (pure).

``COLLECTED/<test dir>/manifest.json`` is written last, inside the test's directory, and the
directory is moved into place in one rename, so a manifest means the test's output is complete.
Its JSON (keys sorted)::

    {
      "manifest_version": 1,
      "test_id": "kafkatest.tests.core....test_x.arg=1",
      "status": "PASS" | "FAIL" | "FLAKY" | "IGNORE",   # ducktape's report.json
      "run_time_seconds": 12.3,
      "summary": "AssertionError: ..." or "",             # ducktape's failure summary, first line
      "nodes": ["ducker02", "ducker03"],                   # every node the test's services used
      "processes": [{
          "node": "ducker02",
          "path": "ducker02/kafka.Kafka-1234-AbCdEfGhIj",  # relative to the test's directory
          "main_class": "kafka.Kafka" or null,
          "write": "final" | "snapshot" | "none",
          "stale_lock": false,
          "files": ["reflect-config.json", ...],
          "dropped": ["agent-pid1234-...tmp"]}],
      "entries": {"reflection": 12, "resource_globs": 3, ...},   # what the test contributes
      "invalid": ["<file>: <problem>", ...],
      "run_id": "20250101T000000Z-abc123",
      "collected_at": "2025-01-01T00:00:00Z",
      "service_logs": ["ducker02/service-logs/kafka/server.log", ...],   # capped copies
      "first_error": "ducker02/service-logs/kafka/server.log: ERROR ..." or ""   # failed tests only
    }

``write`` says how far the agent got: ``final`` — it wrote at JVM exit and removed its
``.lock``; ``snapshot`` — the ``.lock`` was still there (the JVM was killed with SIGKILL, or had
not finished exiting when ducktape copied its directory), so the files are the last periodic
snapshot; ``none`` — no metadata files at all (killed before the first snapshot).
``stale_lock`` records that a ``.lock`` was found; collect removes it from the copy it keeps
(the JVM is gone by then), so ``merge COLLECTED`` reads the snapshot without
``--allow-stale-locks``. ``dropped`` lists the agent's half-written temporary directories,
which are never kept.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping

from metadata_pipeline.errors import InputError

__all__ = [
    "Manifest",
    "ProcessRecord",
    "InvalidManifest",
    "MANIFEST_NAME",
    "MANIFEST_VERSION",
    "PASSED",
    "FINAL",
    "SNAPSHOT",
    "NOTHING",
]

MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1
PASSED = ("PASS", "FLAKY")  # ducktape's statuses of a test that passed (FLAKY: on a retry)
FINAL, SNAPSHOT, NOTHING = "final", "snapshot", "none"
_WRITES = (FINAL, SNAPSHOT, NOTHING)


class InvalidManifest(InputError):
    """A manifest that is not what collect writes (edited by hand, or from another version)."""


@dataclass(frozen=True)
class ProcessRecord:
    """One JVM's agent output directory, as kept under the test's directory."""

    node: str
    path: str
    main_class: str | None
    write: str
    stale_lock: bool
    files: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.write not in _WRITES:
            raise ValueError(f"write {self.write!r}: expected one of {', '.join(_WRITES)}")

    def to_json(self) -> dict[str, Any]:
        return {"node": self.node, "path": self.path, "main_class": self.main_class, "write": self.write,
                "stale_lock": self.stale_lock, "files": list(self.files), "dropped": list(self.dropped)}


@dataclass(frozen=True)
class Manifest:
    test_id: str
    status: str
    run_time_seconds: float | None
    summary: str
    nodes: tuple[str, ...]
    processes: tuple[ProcessRecord, ...]
    entries: Mapping[str, int] = field(default_factory=dict)
    invalid: tuple[str, ...] = ()
    run_id: str = ""
    collected_at: str = ""
    service_logs: tuple[str, ...] = ()  # kept service log files, relative to the test's directory
    first_error: str = ""  # of a failed test: "<log file>: <first error line>" from its service logs

    @property
    def passed(self) -> bool:
        return self.status in PASSED

    @property
    def contributed(self) -> bool:
        """Whether anything this test's JVMs recorded reaches the merge."""
        return sum(self.entries.values()) > 0

    def to_json(self) -> dict[str, Any]:
        return {
            "manifest_version": MANIFEST_VERSION,
            "test_id": self.test_id,
            "status": self.status,
            "run_time_seconds": self.run_time_seconds,
            "summary": self.summary,
            "nodes": list(self.nodes),
            "processes": [p.to_json() for p in self.processes],
            "entries": {k: self.entries[k] for k in sorted(self.entries)},
            "invalid": list(self.invalid),
            "run_id": self.run_id,
            "collected_at": self.collected_at,
            "service_logs": list(self.service_logs),
            "first_error": self.first_error,
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n"

    @classmethod
    def loads(cls, text: str, source: str) -> "Manifest":
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise InvalidManifest(f"{source}: not JSON ({exc})") from None
        if not isinstance(doc, dict) or doc.get("manifest_version") != MANIFEST_VERSION:
            raise InvalidManifest(f"{source}: not a collect manifest (manifest_version {MANIFEST_VERSION})")
        try:
            processes = tuple(
                ProcessRecord(node=p["node"], path=p["path"], main_class=p["main_class"], write=p["write"],
                              stale_lock=bool(p["stale_lock"]), files=tuple(p["files"]),
                              dropped=tuple(p["dropped"]))
                for p in doc["processes"])
            manifest = cls(test_id=doc["test_id"], status=doc["status"], run_time_seconds=doc["run_time_seconds"],
                           summary=doc["summary"], nodes=tuple(doc["nodes"]), processes=processes,
                           entries=dict(doc["entries"]), invalid=tuple(doc["invalid"]), run_id=doc["run_id"],
                           collected_at=doc["collected_at"], service_logs=tuple(doc.get("service_logs", ())),
                           first_error=str(doc.get("first_error", "")))
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidManifest(f"{source}: malformed manifest ({type(exc).__name__}: {exc})") from None
        if not isinstance(manifest.test_id, str) or not isinstance(manifest.status, str):
            raise InvalidManifest(f"{source}: test_id and status must be strings")
        return manifest
