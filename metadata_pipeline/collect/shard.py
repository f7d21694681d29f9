"""Split a test plan into N disjoint, balanced shards (pure).

A CI matrix runs ``collect --shard I/N`` once per I; the shards are disjoint and their union is
the plan, so their outputs merge into what one run would give (the merge is associative).

Balance: tests are placed heaviest first, each into the shard with the least total weight so
far (ties: lowest shard number). Whatever the weights, the heaviest and the lightest shard then
differ by at most one test's weight. Weights are run times from a previous ducktape
``report.json`` when given, else 1 per test (balanced by count). Ties between equal weights are
broken by test id, so the result depends only on the set of (test id, weight) pairs, never on
the order they were listed in.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from metadata_pipeline.errors import UsageError

__all__ = ["Shard", "InvalidShard", "InvalidTimings", "partition", "weights_from_report"]


class InvalidShard(UsageError, ValueError):
    """A ``--shard`` value that is not ``I/N`` with 1 <= I <= N."""


class InvalidTimings(UsageError, ValueError):
    """A timings report that is not a ducktape ``report.json``."""


_SHARD = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


@dataclass(frozen=True, order=True)
class Shard:
    """Shard ``index`` of ``count``, numbered from 1 like CI matrix jobs are usually named."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if not 1 <= self.index <= self.count:
            raise InvalidShard(f"shard {self.index}/{self.count}: need 1 <= I <= N")

    @classmethod
    def parse(cls, text: str) -> "Shard":
        match = _SHARD.fullmatch(text)
        if not match:
            raise InvalidShard(f"shard {text!r}: expected I/N, e.g. 1/4")
        return cls(int(match[1]), int(match[2]))

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def partition(weights: Mapping[str, float], count: int) -> tuple[tuple[str, ...], ...]:
    """``count`` disjoint groups of test ids covering ``weights``, balanced by weight.

    Each group is sorted by test id. Weights must be finite and >= 0.
    """
    if count < 1:
        raise InvalidShard(f"cannot split into {count} shards")
    for test_id, weight in weights.items():
        if not (isinstance(weight, (int, float)) and math.isfinite(weight) and weight >= 0):
            raise ValueError(f"{test_id}: weight {weight!r} is not a finite number >= 0")
    loads = [0.0] * count
    groups: list[list[str]] = [[] for _ in range(count)]
    for test_id in sorted(weights, key=lambda t: (-weights[t], t)):
        lightest = min(range(count), key=lambda i: (loads[i], i))
        groups[lightest].append(test_id)
        loads[lightest] += weights[test_id]
    return tuple(tuple(sorted(group)) for group in groups)


def weights_from_report(report: Any, test_ids: Iterable[str], source: str = "report.json") -> dict[str, float]:
    """Run time per test id from a decoded ducktape ``report.json``.

    ducktape's JSONReporter writes ``{"results": [{"test_id", "run_time_seconds",
    "test_status", ...}, ...]}``. A test listed several times (``--repeat``, deflake) gets its
    mean; ignored results (no run) are skipped. Tests the report does not know get the mean of
    the known ones, as ducktape's own ``--historical-report`` does; with nothing known at all,
    every test weighs 1 (balance by count).
    """
    results = report.get("results") if isinstance(report, dict) else None
    if not isinstance(results, list):
        raise InvalidTimings(f"{source}: not a ducktape report.json (no 'results' list)")
    times: dict[str, list[float]] = {}
    for i, result in enumerate(results):
        if not isinstance(result, dict):
            raise InvalidTimings(f"{source}: results[{i}]: not an object")
        test_id, seconds = result.get("test_id"), result.get("run_time_seconds")
        if not isinstance(test_id, str) or isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
            raise InvalidTimings(f"{source}: results[{i}]: needs a string test_id and a number run_time_seconds")
        if not math.isfinite(seconds) or seconds < 0:
            raise InvalidTimings(f"{source}: results[{i}] ({test_id}): run_time_seconds {seconds!r} is not >= 0")
        if str(result.get("test_status", "")).upper() == "IGNORE":
            continue
        times.setdefault(test_id, []).append(float(seconds))
    known = {test_id: sum(ts) / len(ts) for test_id, ts in times.items()}
    default = sum(known.values()) / len(known) if known else 1.0
    return {test_id: known.get(test_id, default) for test_id in test_ids}
