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
- intern_seconds: numbering every item occurrence (the reader does this as it reads),
- peak_traced_mb: peak memory allocated by the computation (tracemalloc, a second run),
- peak_rss_mb: peak resident size of the whole process (the item index and every test's items
  included), before the traced run,
- and what the computation found (items, selection size, seconds saved, lower bound).

Targets: analyse_seconds < 2, peak memory < 500 MB.

``--disk MB`` also writes that much agent-shaped per-test output with manifests (the
generator of merge_bench.py) and times the ``coverage`` command against ``merge`` on it:
coverage_to_merge_ratio says what reading per process costs beyond merging.

  python benchmarks/coverage_bench.py [--tests 1228] [--processes 3] [--items 2000] [--disk 40]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from metadata_pipeline.core.coverage import ItemIndex, TestItems, analyse, report_json  # noqa: E402
from metadata_pipeline.core.model import Condition, MethodRef  # noqa: E402


def _type_items(i: int) -> list[tuple]:
    """One type and its members, shaped like the agent's reflect-config entries."""
    condition = Condition(f"org.apache.kafka.pkg{i % 17}.Trigger") if i % 13 == 0 else None
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


class Synthetic:
    """The shape of Kafka's suite: a shared core, families of tests, a few tests' own items."""

    def __init__(self, per_process: int, seed: int) -> None:
        self.rnd = random.Random(seed)
        self.per_process = per_process
        core: list[tuple] = []
        i = 0
        while len(core) < per_process * 0.9:  # ~90% of what a broker JVM writes, in every test
            core += _type_items(i) + (_resource_items(i) if i % 20 == 0 else [])
            i += 1
        self.core = core
        self.families = 60  # ~ test files: tests of one file exercise the same feature
        self.family_items = [[x for k in range(200) for x in _type_items(1_000_000 + f * 1000 + k)]
                             for f in range(self.families)]

    def test(self, t: int, processes: int) -> tuple[str, float, str, list[list[tuple]]]:
        """(test id, seconds, status, the items of each of its processes)."""
        rnd = self.rnd
        family = self.family_items[t % self.families]
        # A minority of tests reach code no other test does.
        own = [x for k in range(rnd.choice((0, 0, 0, 0, 1, 2, 3))) for x in _type_items(10_000_000 + t * 10 + k)]
        procs = []
        for p in range(processes):
            # Fresh tuples, as a reader builds them from each process's files.
            picked = [tuple(x) for x in self.core if rnd.random() < 0.95]
            picked += rnd.sample(family, min(len(family), self.per_process // 10))
            if p == 0:
                picked += own
            procs.append(picked)
        seconds = round(rnd.lognormvariate(5.0, 0.8), 1)  # minutes per test, a long tail
        status = "FAIL" if rnd.random() < 0.05 else "PASS"
        return f"kafkatest.tests.family{t % self.families}.Test.test_{t}", seconds, status, procs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tests", type=int, default=1228)
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--items", type=int, default=2000, help="items per process (about)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--disk", type=int, metavar="MB", help="also time the command on this much output on disk")
    args = parser.parse_args()
    if args.disk:
        on_disk(args.disk)

    # Generated test by test and numbered as it comes, as the reader numbers each process's
    # items after reading it: the input never exists whole.
    synthetic = Synthetic(args.items, args.seed)
    index = ItemIndex()
    per_test = []
    built = interned = 0.0
    occurrences = 0
    for t in range(args.tests):
        started = time.perf_counter()
        test_id, seconds, status, procs = synthetic.test(t, args.processes)
        built += time.perf_counter() - started
        occurrences += sum(map(len, procs))
        started = time.perf_counter()
        # coverage keeps each test's items, all its processes together (why keeps them apart).
        per_test.append(TestItems(test_id, seconds, status, frozenset().union(*(index.ids(p) for p in procs))))
        interned += time.perf_counter() - started
    del synthetic, procs

    def compute():
        """What coverage computes: the universe, counts, the cover, the curve, the JSON."""
        report = analyse(per_test, index, 100.0)
        return report, json.dumps(report_json(report))

    started = time.perf_counter()
    report, doc = compute()
    elapsed = time.perf_counter() - started
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # before tracing adds its own
    tracemalloc.start()  # a second run, traced: tracing slows it, so it is not the one timed
    compute()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    s = report.selection

    print(f"load_average_1min={os.getloadavg()[0]:.1f}  (of {os.cpu_count()} cores: timings read high when others run)")
    print(f"tests={len(report.tests)}")
    print(f"processes_per_test={args.processes}")
    print(f"items_per_process={occurrences / (len(report.tests) * args.processes):.0f}")
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
    ok = elapsed < 2 and rss_mb < 500
    print(f"targets_met={'yes' if ok else 'no'} (analyse < 2 s, peak RSS < 500 MB)")
    return 0


def on_disk(megabytes: int) -> None:
    import contextlib
    import io
    import shutil
    import tempfile

    from merge_bench import generate

    from metadata_pipeline.cli import main as cli
    from metadata_pipeline.collect.manifest import MANIFEST_NAME, Manifest, ProcessRecord

    work = Path(tempfile.mkdtemp(prefix="coverage-bench-"))
    try:
        root = work / "collected"
        dirs, written = generate(root, megabytes)
        rnd = random.Random(3)
        for test_dir in sorted(p for p in root.iterdir() if p.is_dir()):
            procs = tuple(ProcessRecord(node=n.name, path=f"{n.name}/{p.name}", main_class="kafka.Kafka", write="final",
                                        stale_lock=False, files=tuple(sorted(f.name for f in p.iterdir())))
                          for n in sorted(test_dir.iterdir()) for p in sorted(n.iterdir()))
            manifest = Manifest(test_id=test_dir.name, status="PASS", run_time_seconds=round(rnd.lognormvariate(5, 0.8), 1),
                                summary="", nodes=tuple(sorted({p.node for p in procs})), processes=procs)
            (test_dir / MANIFEST_NAME).write_text(manifest.dumps())
        times = {}
        for name, argv in (("merge", ["merge", str(root), "-o", str(work / "merged"), "--no-config"]),
                           ("coverage", ["coverage", str(root), "--no-config", "-o", str(work / "coverage.txt")])):
            started = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                assert cli(argv) == 0
            times[name] = time.perf_counter() - started
        print(f"disk_mb={written / 1e6:.0f}  ({dirs} process dirs)")
        print(f"disk_merge_seconds={times['merge']:.2f}")
        print(f"disk_coverage_seconds={times['coverage']:.2f}")
        print(f"coverage_to_merge_ratio={times['coverage'] / times['merge']:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
