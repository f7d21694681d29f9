"""The test plan: which of the discovered tests one ``collect`` run executes (pure).

Every discovered test appears in the plan with a status: ``run``, ``ignored`` (marked
``@ignore`` in Kafka's tests; left out unless ``--include-ignored``) or ``other-shard`` (runnable,
but another ``--shard`` runs it).

``collect --plan --report-format json`` prints (keys sorted, stable across runs)::

    {
      "plan_version": 1,
      "kafka_dir": "/abs/path/to/kafka",
      "discovery": {"python": "...", "ducktape_version": "0.17.0",
                    "symbols": ["tests/kafkatest/tests"], "exclude": []},
      "selection": {"include_ignored": false, "shard": "1/4" or null,
                    "balanced_by": "count" or "run_time", "timings": "report.json" or null},
      "totals": {"discovered": N, "ignored": N, "runnable": N, "selected": N,
                 "estimated_seconds": S or null},
      "tests": [{"test_id": "...", "file": "tests/kafkatest/tests/...py", "class": "...",
                 "method": "...", "injected_args": {...} or null, "ignored": false,
                 "nodes": 3 or null, "status": "run", "estimated_seconds": S or null}, ...]
    }

``ignored`` counts the tests marked ``@ignore`` (run or not). ``tests`` is sorted by test id;
``nodes`` is what the test's ``@cluster`` asks for (null when it declares nothing);
``estimated_seconds`` comes from ``--timings``. ``runnable`` counts the tests all shards together
run; ``selected`` those this run (shard) executes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping

from metadata_pipeline.collect.shard import Shard, partition

__all__ = [
    "PlannedTest",
    "Discovery",
    "PlanEntry",
    "TestPlan",
    "build_plan",
    "plan_json",
    "render_json",
    "render_text",
    "canonical_args",
    "RUN",
    "IGNORED",
    "OTHER_SHARD",
    "PLAN_VERSION",
]

PLAN_VERSION = 1
RUN, IGNORED, OTHER_SHARD = "run", "ignored", "other-shard"


def canonical_args(args: Any) -> str | None:
    """Injected args as canonical JSON text (sorted keys), ``None`` for a test without any."""
    return None if args is None else json.dumps(args, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class PlannedTest:
    """One ducktape test id, as ducktape's loader found it."""

    test_id: str
    file: str  # relative to the Kafka checkout, POSIX separators
    cls: str
    method: str
    injected_args: str | None  # canonical JSON text, see canonical_args
    ignored: bool
    nodes: int | None  # what @cluster asks for; None when the test declares nothing

    def __post_init__(self) -> None:
        # Values arrive decoded from JSON; keep the canonical text so the value stays hashable.
        if self.injected_args is not None and not isinstance(self.injected_args, str):
            object.__setattr__(self, "injected_args", canonical_args(self.injected_args))

    @property
    def args(self) -> Any:
        return None if self.injected_args is None else json.loads(self.injected_args)


@dataclass(frozen=True)
class Discovery:
    """What ducktape found, and with which ducktape and Python."""

    kafka_dir: str
    symbols: tuple[str, ...]
    exclude: tuple[str, ...]
    python: str
    ducktape_version: str
    tests: tuple[PlannedTest, ...]


@dataclass(frozen=True)
class PlanEntry:
    test: PlannedTest
    status: str
    estimated_seconds: float | None


@dataclass(frozen=True)
class TestPlan:
    __test__ = False  # not a pytest test class, despite the name

    discovery: Discovery
    include_ignored: bool
    shard: Shard | None
    timings: str | None  # where the run times came from, for display
    entries: tuple[PlanEntry, ...]

    @property
    def selected(self) -> tuple[PlannedTest, ...]:
        return tuple(e.test for e in self.entries if e.status == RUN)

    def totals(self) -> dict[str, Any]:
        counts = {status: 0 for status in (RUN, IGNORED, OTHER_SHARD)}
        for entry in self.entries:
            counts[entry.status] += 1
        estimates = [e.estimated_seconds for e in self.entries if e.status == RUN]
        return {
            "discovered": len(self.entries),
            "ignored": sum(e.test.ignored for e in self.entries),
            "runnable": counts[RUN] + counts[OTHER_SHARD],
            "selected": counts[RUN],
            "estimated_seconds": round(sum(estimates), 3) if self.timings is not None else None,
        }


def build_plan(discovery: Discovery, *, include_ignored: bool = False, shard: Shard | None = None,
               weights: Mapping[str, float] | None = None, timings: str | None = None) -> TestPlan:
    """Mark ignored tests, then keep this shard's part of the rest.

    ``weights`` (run time per test id, see :func:`shard.weights_from_report`) balance the
    shards by run time and give estimates; without them shards are balanced by count.
    """
    runnable = [t for t in discovery.tests if include_ignored or not t.ignored]
    mine = {t.test_id for t in runnable}
    if shard is not None:
        by_id = {t.test_id: (weights[t.test_id] if weights is not None else 1.0) for t in runnable}
        mine = set(partition(by_id, shard.count)[shard.index - 1])
    entries = []
    for test in discovery.tests:
        if test.ignored and not include_ignored:
            status = IGNORED
        else:
            status = RUN if test.test_id in mine else OTHER_SHARD
        estimate = weights.get(test.test_id) if weights is not None else None
        entries.append(PlanEntry(test, status, estimate))
    return TestPlan(discovery=discovery, include_ignored=include_ignored, shard=shard,
                    timings=timings if weights is not None else None, entries=tuple(entries))


def plan_json(plan: TestPlan) -> dict[str, Any]:
    d = plan.discovery
    return {
        "plan_version": PLAN_VERSION,
        "kafka_dir": d.kafka_dir,
        "discovery": {"python": d.python, "ducktape_version": d.ducktape_version,
                      "symbols": list(d.symbols), "exclude": list(d.exclude)},
        "selection": {"include_ignored": plan.include_ignored,
                      "shard": str(plan.shard) if plan.shard else None,
                      "balanced_by": "run_time" if plan.timings is not None else "count",
                      "timings": plan.timings},
        "totals": plan.totals(),
        "tests": [
            {"test_id": e.test.test_id, "file": e.test.file, "class": e.test.cls, "method": e.test.method,
             "injected_args": e.test.args, "ignored": e.test.ignored, "nodes": e.test.nodes,
             "status": e.status, "estimated_seconds": e.estimated_seconds}
            for e in sorted(plan.entries, key=lambda e: e.test.test_id)
        ],
    }


def render_json(plan: TestPlan) -> str:
    return json.dumps(plan_json(plan), indent=2, sort_keys=True) + "\n"


def render_text(plan: TestPlan) -> str:
    rows = [("STATUS", "NODES", "EST", "TEST ID")]
    for e in sorted(plan.entries, key=lambda e: e.test.test_id):
        nodes = "-" if e.test.nodes is None else str(e.test.nodes)
        est = "-" if e.estimated_seconds is None else _duration(e.estimated_seconds)
        rows.append((e.status, nodes, est, e.test.test_id))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]}" for r in rows]
    t = plan.totals()
    lines.append("")
    ignored_note = "run (--include-ignored)" if plan.include_ignored else "not run; --include-ignored runs them"
    lines.append(f"{t['discovered']} discovered, {t['ignored']} marked @ignore ({ignored_note}), "
                 f"{t['runnable']} runnable")
    summary = f"{t['selected']} to run"
    if plan.shard is not None:
        basis = "run time" if plan.timings is not None else "count"
        summary += f" in shard {plan.shard} (balanced by {basis})"
    if t["estimated_seconds"] is not None:
        summary += f", about {_duration(t['estimated_seconds'])} by {plan.timings}"
    lines.append(summary)
    d = plan.discovery
    lines.append(f"discovered by ducktape {d.ducktape_version} ({d.python}) in {d.kafka_dir}: "
                 f"{' '.join(d.symbols)}" + (f" excluding {' '.join(d.exclude)}" if d.exclude else ""))
    return "\n".join(lines) + "\n"


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"
