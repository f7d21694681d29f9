"""ducktape's results of one test -> that test's directory under ``COLLECTED`` with its manifest.

ducktape writes, for every test, ``report.json`` in the test's results directory (the same
object it lists in the session's ``report.json``: ``test_id``, ``test_status``,
``run_time_seconds``, ``summary``, ``results_dir``, ``services``), and the service logs it
copied, among them the agent directory the ducktape hook declared as a log
(``system-test-overrides/run_ducktape.py``)::

    <test results>/<service id>/<hostname>/<agent dir>/<main class>/<host>-<pid>-<token>/...

``assemble`` turns such a tree, fetched from the driver (see ``driver``), into::

    <test dir>/<node>/<main class>-<pid>-<token>/*.json    one directory per JVM
    <test dir>/<node>/service-logs/<service id>/...         the services' own logs (capped)
    <test dir>/.ducktape/report.json, report.txt, ...       ducktape's files of the test
    <test dir>/manifest.json                                last (see ``manifest``)

A node copied twice (two services on one node) holds the same uniquely named process
directories twice: the first copy is kept. A ``.lock`` left by a killed JVM is recorded in the
manifest and removed; the agent's half-written temporary directories are dropped.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from metadata_pipeline.collect.agent_options import PLACEHOLDERS
from metadata_pipeline.collect.layout import DUCKTAPE_FILES, safe_name
from metadata_pipeline.collect.manifest import (FINAL, MANIFEST_NAME, NOTHING, PASSED, SNAPSHOT, Manifest,
                                                ProcessRecord)
from metadata_pipeline.files.configdir import LOCK_FILE, load
from metadata_pipeline.core.kinds import kind_of_file
from metadata_pipeline.errors import FatalError

__all__ = [
    "TestOutcome",
    "InvalidReport",
    "ProcessNamer",
    "parse_result",
    "parse_report",
    "assemble",
]


class InvalidReport(FatalError):
    """A ducktape report that does not have the shape ducktape writes."""


@dataclass(frozen=True)
class TestOutcome:
    """One test as ducktape reported it."""

    __test__ = False  # not a pytest test class

    test_id: str
    status: str  # PASS, FAIL, FLAKY, IGNORE (upper case, as in report.json)
    run_time_seconds: float | None
    summary: str
    results_dir: str  # where ducktape wrote the test's results (on the machine that ran ducktape)
    services: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (service id, node host names)

    @property
    def nodes(self) -> tuple[str, ...]:
        return tuple(sorted({node for _, nodes in self.services for node in nodes}))


def parse_result(obj: Any, source: str) -> TestOutcome:
    """One result object of ducktape's report.json."""
    if not isinstance(obj, dict):
        raise InvalidReport(f"{source}: a result is not an object")
    test_id, status, results_dir = obj.get("test_id"), obj.get("test_status"), obj.get("results_dir")
    if not isinstance(test_id, str) or not isinstance(status, str) or not isinstance(results_dir, str):
        raise InvalidReport(f"{source}: a result needs string test_id, test_status and results_dir")
    seconds = obj.get("run_time_seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
        seconds = None  # ducktape writes -1 for a test that never started
    services = []
    for service in obj.get("services") or []:
        if isinstance(service, dict) and isinstance(service.get("service_id"), str):
            nodes = tuple(str(n) for n in service.get("nodes") or [] if isinstance(n, str))
            services.append((service["service_id"], nodes))
    return TestOutcome(test_id=test_id, status=status.upper(), run_time_seconds=seconds,
                       summary=_summary_line(obj.get("summary")), results_dir=results_dir,
                       services=tuple(services))


def parse_report(doc: Any, source: str) -> list[TestOutcome]:
    """Every result of a session's report.json, in ducktape's order."""
    results = doc.get("results") if isinstance(doc, dict) else None
    if not isinstance(results, list):
        raise InvalidReport(f"{source}: not a ducktape report.json (no 'results' list)")
    return [parse_result(r, f"{source}: results[{i}]") for i, r in enumerate(results)]


def _summary_line(summary: Any) -> str:
    # ducktape's summary of a failure is a traceback: its last line names the error.
    lines = [line.strip() for line in str(summary or "").splitlines() if line.strip()]
    return lines[-1][:500] if lines else ""


class ProcessNamer:
    """Finds the per-JVM directories in an agent directory and names them, by the dir template.

    The template below the agent root (``{main_class}/{hostname}-{pid}-{token}`` by default)
    says how deep the process directories are and what their names hold; a kept directory is
    named ``<main class>-<pid>-<token>`` (the node is its parent already). A directory that
    does not match the template keeps its relative path, with ``/`` encoded.
    """

    # The token is mktemp's (letters and digits); host names may hold '-' and digits, so the
    # host is matched greedily and pid and token are taken from the end.
    _PATTERNS = {"{main_class}": r"(?P<main_class>[^/]+)", "{hostname}": r"(?P<hostname>[^/]+)",
                 "{pid}": r"(?P<pid>\d+)", "{token}": r"(?P<token>[A-Za-z0-9]+)"}

    def __init__(self, template: str, agent_root: str) -> None:
        if not template.startswith(agent_root.rstrip("/") + "/"):
            raise ValueError(f"template {template!r} is not below {agent_root!r}")
        self.relative = template[len(agent_root.rstrip("/")) + 1:]
        self.depth = self.relative.count("/") + 1
        pattern = ""
        for part in re.split(r"(\{[a-z_]+\})", self.relative):
            pattern += self._PATTERNS[part] if part in PLACEHOLDERS else re.escape(part)
        self._regex = re.compile(pattern)

    def process_dirs(self, agent_dir: Path) -> Iterator[Path]:
        """Real directories (no symlinks) at the template's depth, sorted."""
        level = [agent_dir]
        for _ in range(self.depth):
            level = sorted(child for parent in level for child in parent.iterdir()
                           if child.is_dir() and not child.is_symlink())
        yield from level

    def name(self, relative: str) -> tuple[str, str | None]:
        """(directory name to keep, main class or None) for a path relative to the agent dir."""
        match = self._regex.fullmatch(relative)
        if match is None:
            return safe_name(relative), None
        fields = match.groupdict()
        parts = [fields[key] for key in ("main_class", "pid", "token") if fields.get(key)]
        return safe_name("-".join(parts) if parts else relative), fields.get("main_class")


def _is_agent_temp(name: str) -> bool:
    return name.startswith("agent-pid") and ".tmp" in name


def _keep_process(source: Path, target: Path, node: str, main_class: str | None) -> ProcessRecord:
    target.parent.mkdir(parents=True, exist_ok=True)
    os.rename(source, target)
    lock = target / LOCK_FILE
    stale_lock = lock.is_file() or lock.is_symlink()
    if stale_lock:
        lock.unlink()  # the JVM is gone: what it wrote last is all there will be
    dropped = []
    files = []
    for entry in sorted(target.iterdir()):
        if _is_agent_temp(entry.name):
            dropped.append(entry.name)
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        elif kind_of_file(entry.name) is not None and entry.is_file() and not entry.is_symlink():
            files.append(entry.name)
    write = NOTHING if not files else (SNAPSHOT if stale_lock else FINAL)
    return ProcessRecord(node=node, path=f"{target.parent.name}/{target.name}", main_class=main_class,
                         write=write, stale_lock=stale_lock, files=tuple(files), dropped=tuple(dropped))


def assemble(fetched: Path, dest: Path, outcome: TestOutcome, namer: ProcessNamer, agent_dir_name: str,
             *, run_id: str) -> Manifest:
    """Move one test's fetched results into ``dest`` (empty) and write its manifest there, last.

    ``fetched`` holds ducktape's files of the test at its top and the service log copies
    below (``<service id>/<hostname>/<agent_dir_name>/...``); what is kept is moved, not
    copied, so ``fetched`` and ``dest`` must be on one file system.
    """
    processes: dict[tuple[str, str], ProcessRecord] = {}
    nodes = set(outcome.nodes)
    logs: list[str] = []
    for service_dir in _real_dirs(fetched):
        for host_dir in _real_dirs(service_dir):
            logs += _keep_service_logs(host_dir, agent_dir_name, dest / safe_name(host_dir.name) / SERVICE_LOGS
                                       / safe_name(service_dir.name), dest)
            agent_dir = host_dir / agent_dir_name
            if not agent_dir.is_dir() or agent_dir.is_symlink():
                continue
            node = host_dir.name
            nodes.add(node)
            for process_dir in namer.process_dirs(agent_dir):
                name, main_class = namer.name(process_dir.relative_to(agent_dir).as_posix())
                if (node, name) in processes:
                    continue  # the same node copied for a second service: byte-identical
                processes[(node, name)] = _keep_process(process_dir, dest / safe_name(node) / name, node, main_class)
    ducktape_files = [entry for entry in sorted(fetched.iterdir()) if entry.is_file() and not entry.is_symlink()]
    if ducktape_files:
        (dest / DUCKTAPE_FILES).mkdir(parents=True, exist_ok=True)
        for entry in ducktape_files:
            os.rename(entry, dest / DUCKTAPE_FILES / entry.name)
    entries: dict[str, int] = {}
    invalid: list[str] = []
    if any(p.files for p in processes.values()):
        result = load([dest], skip_invalid=True)
        entries = {k: v for k, v in result.metadata.counts().items() if v}
        prefix = str(dest.absolute()) + os.sep
        invalid = [message.replace(prefix, "") for message in result.skipped]
    manifest = Manifest(
        test_id=outcome.test_id, status=outcome.status, run_time_seconds=outcome.run_time_seconds,
        summary=outcome.summary, nodes=tuple(sorted(nodes)),
        processes=tuple(processes[key] for key in sorted(processes)), entries=entries,
        invalid=tuple(invalid), run_id=run_id, collected_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        service_logs=tuple(sorted(logs)), first_error="" if outcome.status in PASSED else first_error(dest, logs))
    (dest / MANIFEST_NAME).write_text(manifest.dumps(), encoding="utf-8")
    return manifest


SERVICE_LOGS = "service-logs"
# What a log line that explains a failure looks like: log4j's level, a Java exception, a JVM abort.
_ERROR_LINE = re.compile(r"\b(ERROR|FATAL|SEVERE)\b|Exception\b|^Error: |Could not create the Java Virtual Machine")


def _keep_service_logs(host_dir: Path, agent_dir_name: str, into: Path, dest: Path) -> list[str]:
    """Move the services' own logs of one node (all but the agent directory) under ``into``."""
    kept = []
    for entry in sorted(host_dir.iterdir()):
        if entry.name == agent_dir_name or entry.is_symlink():
            continue
        files = [entry] if entry.is_file() else sorted(p for p in entry.rglob("*") if p.is_file() and not p.is_symlink())
        for path in files:
            target = into / path.relative_to(host_dir)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.rename(path, target)
            kept.append(target.relative_to(dest).as_posix())
    return kept


def first_error(dest: Path, logs: list[str], limit: int = 300) -> str:
    """The first line of the kept service logs that looks like an error, with its file."""
    for name in sorted(logs):
        try:
            with open(dest / name, encoding="utf-8", errors="replace") as f:
                for line in f:
                    if _ERROR_LINE.search(line):
                        return f"{name}: {line.strip()[:limit]}"
        except OSError:
            continue
    return ""


def _real_dirs(path: Path) -> list[Path]:
    return sorted(p for p in path.iterdir() if p.is_dir() and not p.is_symlink() and not p.name.startswith("."))
