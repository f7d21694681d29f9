"""Coverage benchmark: synthetic provenance the size of Kafka's system-test suite.

1,228 tests x 3 instrumented JVMs x ~2,000 items each, with heavy overlap as in real runs:
every broker JVM loads most of the same classes (a shared core of items, each present in a
process with high probability), each test adds a few hundred items of its own family of
tests (tests of one file exercise the same feature) and a handful that only it has. Items
are built exactly as ``coverage`` builds them from agent output (types with conditions,
methods, fields, flags, resources), so hashing costs what it costs for real.

Measured in this one run, printed as ``name=value`` lines:

- build_seconds: generating the synthetic input (not part of the command),
- analyse_seconds: the whole computation ``coverage`` does after reading (interning,
  the universe, per-test and unique counts, lazy-greedy weighted set cover, curve, JSON),
- peak_traced_mb: peak memory allocated during the computation (tracemalloc),
- peak_rss_mb: peak resident size of the process (input included),
- and what the computation found (items, selection size, seconds saved, lower bound).

Targets: analyse_seconds < 2, peak memory < 500 MB.

  python benchmarks/coverage_bench.py [--tests 1228] [--processes 3] [--items 2000]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from metadata_pipeline.core.coverage import ItemIndex, TestItems, analyse, report_json  # noqa: E402
from metadata_pipeline.core.model import Condition, MethodRef  # noqa: E402


def _type_items(i: int) -> list[tuple]:
    """One type and its members, shaped like the agent's reflect-config entries."""
    condition = Condition(f"org.apache.kafka.pkg{i % 17}.Trigger", True) if i % 13 == 0 else None
    identity = (f"org.apache.kafka.pkg{i % 97}.Class{i}", condition)
    items = [("reflection", identity, None)]
    items += [("reflection", identity, ("method", MethodRef(f"m{j}", ("java.lang.String", "int")[: j % 3])))
              for j in range(i % 4)]
    items += [("reflection", identity, ("field", f"f{j}")) for j in range(i % 3)]
    if i % 7 == 0:
        items.append(("reflection", identity, ("flag", "allDeclaredFields")))
    if i % 11 == 0:
        items.append(("reflection", identity, ("flag", "queryAllPublicMethods")))
    return items


def _resource_items(i: int) -> list[tuple]:
    return [("resource_globs", (f"org/apache/kafka/res{i}.properties", None, None), None)]


def build(tests: int, processes: int, per_process: int, seed: int) -> list[tuple[str, float, str, list[list[tuple]]]]:
    """(test id, seconds, status, items of each process)."""
    rnd = random.Random(seed)
    pool: list[tuple] = []
    i = 0
    while len(pool) < per_process * 0.9:  # the shared core: ~90% of what a process writes
        pool += _type_items(i) + (_resource_items(i) if i % 20 == 0 else [])
        i += 1
    core = pool
    families = 60  # ~ test files: tests of one file share a feature's items
    family_items = [[x for k in range(200) for x in _type_items(1_000_000 + f * 1000 + k)] for f in range(families)]
    out = []
    for t in range(tests):
        family = family_items[t % families]
        own = [x for k in range(rnd.randrange(0, 4)) for x in _type_items(10_000_000 + t * 10 + k)]
        procs = []
        for p in range(processes):
            picked = [x for x in core if rnd.random() < 0.95]
            picked += rnd.sample(family, min(len(family), per_process // 10))
            if p == 0:
                picked += own
            procs.append(picked)
        seconds = round(rnd.lognormvariate(5.0, 0.8), 1)  # minutes per test, a long tail
        status = "FAIL" if rnd.random() < 0.05 else "PASS"
        out.append((f"kafkatest.tests.family{t % families}.Test.test_{t}", seconds, status, procs))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tests", type=int, default=1228)
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--items", type=int, default=2000, help="items per process (about)")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()

    started = time.perf_counter()
    raw = build(args.tests, args.processes, args.items, args.seed)
    built = time.perf_counter() - started
    occurrences = sum(len(p) for *_, procs in raw for p in procs)

    tracemalloc.start()
    # What the reader does as it reads each process's output: number its items.
    started = time.perf_counter()
    index = ItemIndex()
    per_process = [(test_id, seconds, status, [index.ids(p) for p in procs]) for test_id, seconds, status, procs in raw]
    interned = time.perf_counter() - started
    del raw
    # What coverage computes: tests' items, the universe, counts, the cover, the curve, the JSON.
    started = time.perf_counter()
    tests = [TestItems(test_id, seconds, status, frozenset().union(*procs))
             for test_id, seconds, status, procs in per_process]
    report = analyse(tests, index, 100.0)
    doc = json.dumps(report_json(report))
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    s = report.selection
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(f"tests={len(tests)}")
    print(f"processes_per_test={args.processes}")
    print(f"items_per_process={occurrences / (len(tests) * args.processes):.0f}")
    print(f"items_total={s.items_total}")
    print(f"build_seconds={built:.2f}")
    print(f"intern_seconds={interned:.3f}  (numbering {occurrences} item occurrences, done while reading)")
    print(f"analyse_seconds={elapsed:.3f}")
    print(f"peak_traced_mb={peak / 1e6:.0f}")
    print(f"peak_rss_mb={rss_mb:.0f}")
    print(f"json_kb={len(doc) / 1000:.0f}")
    print(f"selected_tests={len(s.tests)}")
    print(f"selected_seconds={s.seconds:.0f}")
    print(f"full_seconds={s.full_seconds:.0f}")
    print(f"saved_fraction={1 - s.seconds / s.full_seconds:.3f}")
    print(f"lower_bound_seconds={s.lower_bound_seconds:.0f}")
    print(f"essential_tests={len(s.essential)}")
    print(f"greedy_factor_bound={s.factor:.2f}")
    ok = elapsed < 2 and peak / 1e6 < 500
    print(f"targets_met={'yes' if ok else 'no'} (analyse < 2 s, traced peak < 500 MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
