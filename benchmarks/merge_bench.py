"""Merge benchmark: agent-shaped per-test output, merged the project's way and naively.

Generates one config dir per (test, node, process) as `collect` keeps them: many tests share
most types (the broker loads the same classes in every test), each adds a few of its own.
Prints, measured in this one run, one ``name=value`` per line at the end:

- parse_floor_seconds: only ``json.load`` of every file (the least any merge must do),
- merge_seconds: the ``merge`` command itself (read, check, merge, render, validate, write),
- merge_to_floor_ratio: the target is <= 1.25 on >= 200 MB (full mode),
- naive_seconds / naive_to_merge_ratio: deepmerge with list append, then dedupe by
  canonical JSON per entry (what a hand-written script does); target ratio >= 5,
- peak RSS of each phase, measured in its own child process,
- check_seconds / check_to_floor_ratio: ``merge --check`` of ~50 MB of collected input from
  Kafka-like tests (their merge is Kafka-sized, ~330 types) against committed configs that
  differ by two entries: should be dominated by reading the input,
- diff_kafka_sized_seconds: ``diff`` of two Kafka-sized config dirs (target: well under 1 s),
- layout_<layout>_*: the same entries written in each layout (``agent``: GraalVM for JDK 17/21,
  entries at column 0; ``indented``; ``minified``; ``unified``: reachability-metadata.json as
  GraalVM 24.1+/25 agents write it; ``mixed``: dirs in each of those in turn): floor, merge,
  merge_to_floor_ratio (target <= 1.5 on every layout), the same in CPU seconds (steadier on a
  shared machine), peak RSS and the merged model's MiB. Each phase runs ``--repeat`` times
  (default 3), each run in a fresh process, floor and merge taking turns; the least time of
  each is reported, and the median of each merge's CPU time over the floor run just before it
  (steadier when the machine's speed drifts).
  ``--instructions`` adds each layout's instruction counts (valgrind): steady where time is not.
  The package is byte-compiled first, as installing it does (``compile_package``).

  python benchmarks/merge_bench.py --quick    # ~40 MB, well under 30 s
  python benchmarks/merge_bench.py            # >= 200 MB
  python benchmarks/merge_bench.py --layouts-only    # only the per-layout table (130 MB each)
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import importlib.util
import io
import json
import multiprocessing as mp
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _type_entry(rnd: random.Random, i: int, variant: int | None = None) -> dict:
    entry: dict = {"name": f"org.apache.kafka.pkg{i % 97}.Class{i}"}
    if variant is not None:
        entry["queriedMethods"] = [{"name": f"variant{variant}", "parameterTypes": []}]
    if i % 3 == 0:
        entry["methods"] = [{"name": f"m{j}", "parameterTypes": ["java.lang.String", "int"][: j % 3]}
                            for j in range(1 + i % 6)]
    if i % 5 == 0:
        entry["fields"] = [{"name": f"f{j}"} for j in range(1 + i % 4)]
    if i % 7 == 0:
        entry["allDeclaredFields"] = True
    if i % 11 == 0:
        entry["queryAllPublicMethods"] = True
    if i % 13 == 0:
        entry["condition"] = {"typeReachable": f"org.apache.kafka.pkg{i % 17}.Trigger"}
    return entry


def agent_layout(doc: object) -> str:
    """Text as GraalVM for JDK 17/21 agents write it: top-level entries at column 0."""
    if not isinstance(doc, list):
        return json.dumps(doc, indent=2) + "\n"
    compact = lambda v: json.dumps(v, separators=(",", ":"))  # noqa: E731
    entries = ["{\n" + ",\n".join(f"  {compact(k)}:{compact(v)}" for k, v in e.items()) + "\n}" for e in doc]
    return "[\n" + ",\n".join(entries) + "\n]\n"


def indented_layout(doc: object) -> str:
    """Two-space indentation, as other writers (and GraalVM 24.1+ for every file) lay JSON out."""
    return json.dumps(doc, indent=2) + "\n"


def minified_layout(doc: object) -> str:
    return json.dumps(doc, separators=(",", ":"))


def _unified_type(entry: dict, jni: bool) -> dict:
    """A legacy reflect entry as the GraalVM 24.1+/25 agent writes it in reachability-metadata.json."""
    out: dict = {}
    if "condition" in entry:
        out["condition"] = {"typeReached": entry["condition"]["typeReachable"]}
    out["type"] = entry["name"]
    if jni:
        out["jniAccessible"] = True
    for flag in ("allDeclaredFields",):
        if entry.get(flag):
            out[flag] = True
    # queried members and queryAll* do not exist in the unified format: the agent writes them as methods.
    methods = entry.get("methods", []) + entry.get("queriedMethods", [])
    if methods:
        out["methods"] = methods
    if "fields" in entry:
        out["fields"] = entry["fields"]
    return out


def unified_files(files: dict[str, object]) -> dict[str, object]:
    """The same per-process output as one ``reachability-metadata.json`` (GraalVM 24.1+/25 agent)."""
    jni = {e["name"] for e in files["jni-config.json"]}
    reflection = [_unified_type(e, e["name"] in jni) for e in files["reflect-config.json"]]
    reflection.append({"type": {"proxy": ["java.lang.Runnable"]}})
    reflection.append({"type": "java.lang.Long", "serializable": True})
    resources = [{"glob": p["pattern"][2:-2]} for p in files["resource-config.json"]["resources"]["includes"]]
    return {"reachability-metadata.json": {"reflection": reflection, "resources": resources}}


LAYOUTS = {
    "agent": agent_layout,
    "indented": indented_layout,
    "minified": minified_layout,
    "unified": indented_layout,
    "mixed": None,  # each config dir in one of the four above, in turn
}


def generate(root: Path, target_mb: int, seed: int = 7, shared_types: int = 6000, own_types: int = 300,
             varied: float = 0.03, layout: str = "agent") -> tuple[int, int]:
    """Write per-test dirs until ``target_mb`` is reached; returns (dirs, bytes).

    Each broker JVM touches most of ``shared_types``, ``own_types`` of its own, and uses a
    ``varied`` fraction of the shared ones a little differently (an extra member). ``layout``
    is one of ``LAYOUTS``: how the files are written (``unified``: one reachability-metadata.json
    per dir instead of the six legacy files).
    """
    cycle = ["agent", "indented", "minified", "unified"]
    rnd = random.Random(seed)
    shared = list(range(shared_types))  # what every broker JVM touches
    written = dirs = 0
    test = 0
    while written < target_mb * 1_000_000:
        for node in ("ducker02", "ducker03"):
            own = range(100_000 + test * own_types, 100_000 + test * own_types + own_types)
            picked = [i for i in shared if rnd.random() < 0.92] + list(own)
            # Some shared classes are used differently in this test: an extra member.
            changed = {i for i in picked if rnd.random() < varied}
            d = root / f"TestClass{test % 40}.test_{test}" / node / f"kafka.Kafka-{test}"
            d.mkdir(parents=True)
            files = {
                "reflect-config.json": [_type_entry(rnd, i, test if i in changed else None) for i in sorted(picked)],
                "jni-config.json": [_type_entry(rnd, i) for i in picked[:40]],
                "resource-config.json": {"resources": {"includes": [
                    {"pattern": f"\\Qorg/apache/kafka/res{i}.properties\\E"} for i in picked[:200]]}, "bundles": []},
                "proxy-config.json": [{"interfaces": ["java.lang.Runnable"]}],
                "serialization-config.json": {"types": [{"name": "java.lang.Long"}], "lambdaCapturingTypes": [], "proxies": []},
                "predefined-classes-config.json": [{"type": "agent-extracted", "classes": []}],
            }
            this = cycle[dirs % len(cycle)] if layout == "mixed" else layout
            if this == "unified":
                files = unified_files(files)
            for name, doc in files.items():
                text = LAYOUTS[this](doc)
                (d / name).write_text(text)
                written += len(text)
            dirs += 1
        test += 1
    return dirs, written


def _files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.json"))


# CPU seconds of the last timed phase in this process: on a shared machine wall time measures
# the neighbours as much as the code; CPU time is what the code itself costs.
_CPU = [0.0]


def phase_floor(root: str) -> float:
    start, cpu = time.perf_counter(), time.process_time()
    for path in _files(Path(root)):
        with open(path, "rb") as fh:
            json.load(fh)
    _CPU[0] = time.process_time() - cpu
    return time.perf_counter() - start


def phase_merge(root: str) -> float:
    """The real command, as a user runs it: read, check, merge, render, validate, write."""
    from metadata_pipeline.cli import main as cli

    out = tempfile.mkdtemp(prefix="merge-bench-out-")
    try:
        start, cpu = time.perf_counter(), time.process_time()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            code = cli(["merge", root, "-o", str(Path(out) / "native-image-configs"), *FILTER])
        seconds = time.perf_counter() - start
        _CPU[0] = time.process_time() - cpu
    finally:
        shutil.rmtree(out, ignore_errors=True)
    assert code == 0
    return seconds


def naive_available() -> bool:
    """deepmerge is the benchmark's own dependency (the bench extra), not the tool's."""
    try:
        import deepmerge  # noqa: F401
    except ImportError:
        print("naive baseline skipped: it needs deepmerge, installed with: pip install -e '.[bench]'",
              file=sys.stderr)
        return False
    return True


def phase_naive(root: str) -> float:
    from deepmerge import always_merger

    start = time.perf_counter()
    merged: dict = {}
    for path in _files(Path(root)):
        with open(path, "rb") as fh:
            always_merger.merge(merged, {path.name: json.load(fh)})
    for name, doc in merged.items():  # dedupe whole entries, as a quick script would
        if isinstance(doc, list):
            merged[name] = sorted({json.dumps(e, sort_keys=True) for e in doc})
    return time.perf_counter() - start


# Measured as Kafka would run it: with its default filter, named explicitly (no cwd lookup).
FILTER = ["--no-config", "--filter", str(Path(__file__).resolve().parents[1] / "system-test-overrides" / "filters" / "kafka.json")]


def kafka_sized_configs(path: Path, seed: int) -> None:
    """A committed config dir the size of Kafka's (about 330 types, 40 resources)."""
    rnd = random.Random(seed)
    reflect = [_type_entry(rnd, i) for i in sorted(rnd.sample(range(8000), 330))]
    includes = [{"pattern": f"\\Qorg/apache/kafka/res{i}.properties\\E"} for i in sorted(rnd.sample(range(300), 40))]
    path.mkdir(parents=True)
    (path / "reflect-config.json").write_text(agent_layout(reflect))
    (path / "resource-config.json").write_text(json.dumps({"resources": {"includes": includes}, "bundles": []}))


def phase_check(root: str) -> float:
    """``merge --check`` of Kafka-shaped collected output against the committed configs it
    almost equals (one entry gone, one new): the CI gate's everyday case."""
    from metadata_pipeline.cli import main as cli

    committed = Path(tempfile.mkdtemp(prefix="merge-bench-committed-")) / "native-image-configs"
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            assert cli(["merge", root, "-o", str(committed), *FILTER]) == 0
        reflect = committed / "reflect-config.json"
        entries = json.loads(reflect.read_text())
        reflect.write_text(json.dumps(entries[1:] + [{"name": "org.apache.kafka.Committed"}], indent=2))
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            code = cli(["merge", root, "-o", str(committed), "--check", *FILTER])
        seconds = time.perf_counter() - start
    finally:
        shutil.rmtree(committed.parent, ignore_errors=True)
    assert code == 1
    return seconds


def phase_diff(_: str) -> float:
    """``diff`` of two Kafka-sized config dirs that differ a little."""
    from metadata_pipeline.cli import main as cli

    base = Path(tempfile.mkdtemp(prefix="merge-bench-diff-"))
    try:
        kafka_sized_configs(base / "old", 1)
        kafka_sized_configs(base / "new", 2)
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            code = cli(["diff", str(base / "old"), str(base / "new")])
        seconds = time.perf_counter() - start
    finally:
        shutil.rmtree(base, ignore_errors=True)
    assert code == 1
    return seconds


def _child(fn, root: str, queue) -> None:
    seconds = fn(root)
    queue.put((seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, _CPU[0]))


def measure(fn, root: Path) -> tuple[float, float]:
    """(seconds, peak RSS MiB) of one phase, in a fresh process so RSS is its own."""
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(fn, str(root), queue))
    proc.start()
    seconds, rss, _CPU[0] = queue.get()
    proc.join()
    return seconds, rss


def phase_model(root: str) -> float:
    """MiB the merged model itself holds: resident memory after ``load`` minus before."""
    from metadata_pipeline.files.configdir import load

    before = _rss_now()
    result = load([root])
    after = _rss_now()
    assert result.metadata.reflection
    return after - before


def _rss_now() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20


def _turns(fns, root: Path, repeat: int) -> list[list[tuple[float, float, float]]]:
    """Per phase, its ``repeat`` runs as (seconds, CPU seconds, peak RSS MiB), each in a fresh
    process, the phases taking turns: each gets the same share of a slow spell, and run ``i`` of
    one phase is paired with run ``i`` of the next."""
    runs: list[list[tuple[float, float, float]]] = [[] for _ in fns]
    for _ in range(repeat):
        for out, fn in zip(runs, fns):
            seconds, rss = measure(fn, root)
            out.append((seconds, _CPU[0], rss))
    return runs


def _least(runs: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    """The least time and CPU time of a phase's runs, as timeit reports (on a shared machine the
    neighbours only ever add time, and single runs vary by half), and its peak RSS."""
    return min(r[0] for r in runs), min(r[1] for r in runs), max(r[2] for r in runs)


_PHASES = {"floor": phase_floor, "merge": phase_merge}


def instructions(phase: str, root: Path) -> int:
    """Instructions one phase executes, counted by valgrind (callgrind), in a fresh process.

    Unlike time, the count does not move with the neighbours on a shared machine, so two code
    bases (or two layouts) compare exactly; it does not see memory stalls, so it is a second
    opinion beside the time, not a replacement.
    """
    # PYTHONHASHSEED: one dict and set layout, the same count every run; PYTHONPATH: this
    # checkout's code, installed or not.
    checkout = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONHASHSEED": "0",
           "PYTHONPATH": os.pathsep.join(filter(None, [checkout, os.environ.get("PYTHONPATH")]))}
    done = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
                           __file__, "--run-phase", phase, str(root)], capture_output=True, text=True, env=env)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"valgrind failed on the {phase} phase: {done.stderr.strip()[-500:]}")
    return int(found.group(1))


def layout_table(target: int, repeat: int = 3, count_instructions: bool = False) -> list[str]:
    """Floor, merge and their ratio for every layout of the same entries, in this one run."""
    lines = []
    for layout in LAYOUTS:
        root = Path(tempfile.mkdtemp(prefix=f"merge-bench-{layout}-"))
        try:
            dirs, size = generate(root, target, layout=layout)
            measure(phase_floor, root)  # warm the page cache
            floor_runs, merge_runs = _turns((phase_floor, phase_merge), root, repeat)
            (floor, floor_cpu, _), (merge, merge_cpu, merge_rss) = _least(floor_runs), _least(merge_runs)
            # Each merge against the floor run just before it: steadier than the least of each
            # when the machine's speed drifts between runs.
            paired = statistics.median(m[1] / f[1] for f, m in zip(floor_runs, merge_runs))
            model, _ = measure(phase_model, root)
            if count_instructions:
                floor_ir, merge_ir = instructions("floor", root), instructions("merge", root)
                lines += [f"layout_{layout}_parse_floor_instructions={floor_ir}",
                          f"layout_{layout}_merge_instructions={merge_ir}",
                          f"layout_{layout}_merge_to_floor_instruction_ratio={merge_ir / floor_ir:.3f}"]
        finally:
            shutil.rmtree(root, ignore_errors=True)
        print(f"{layout}: {dirs} dirs, {size / 1e6:.0f} MB, floor {floor:.3f} s ({floor_cpu:.3f} s CPU), "
              f"merge {merge:.3f} s ({merge_cpu:.3f} s CPU), ratio {merge / floor:.2f} (CPU {merge_cpu / floor_cpu:.2f}, "
              f"paired median {paired:.2f})",
              file=sys.stderr)
        lines += [f"layout_{layout}_input_mb={size / 1e6:.1f}",
                  f"layout_{layout}_parse_floor_seconds={floor:.3f}",
                  f"layout_{layout}_merge_seconds={merge:.3f}",
                  f"layout_{layout}_parse_floor_cpu_seconds={floor_cpu:.3f}",
                  f"layout_{layout}_merge_cpu_seconds={merge_cpu:.3f}",
                  f"layout_{layout}_merge_peak_rss_mib={merge_rss:.0f}",
                  f"layout_{layout}_model_mib={model:.0f}",
                  f"layout_{layout}_merge_to_floor_ratio={merge / floor:.3f}",
                  f"layout_{layout}_merge_to_floor_cpu_ratio={merge_cpu / floor_cpu:.3f}",
                  f"layout_{layout}_merge_to_floor_paired_median_cpu_ratio={paired:.3f}"]
    return lines


def compile_package() -> None:
    """Byte-compile the package the phases import, as installing it does.

    A merge run would otherwise compile the package's sources on every start when bytecode is
    not written (``PYTHONDONTWRITEBYTECODE``, set on some machines): tens of milliseconds that
    an installed tool never spends, and the floor (the standard library's json) never does.
    """
    spec = importlib.util.find_spec("metadata_pipeline")
    dirs = {Path(__file__).resolve().parents[1] / "metadata_pipeline"}  # what --instructions runs
    if spec is not None and spec.submodule_search_locations:
        dirs.update(map(Path, spec.submodule_search_locations))
    for path in sorted(dirs):
        if not compileall.compile_dir(path, quiet=1):
            raise SystemExit(f"could not byte-compile {path}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="about 40 MB of input instead of 220 MB")
    parser.add_argument("--mb", type=int, help="input size in MB (overrides --quick)")
    parser.add_argument("--layout-mb", type=int,
                        help="input size per layout for the layout table (default 130, 30 with --quick)")
    parser.add_argument("--layouts-only", action="store_true", help="only the per-layout table")
    parser.add_argument("--skip-naive", action="store_true", help="leave out the (slow) naive baseline")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs per phase in the layout table, the least reported (default 3)")
    parser.add_argument("--instructions", action="store_true",
                        help="also count each layout's floor and merge instructions with valgrind (steady on a "
                             "shared machine; about 50 x slower than the phase itself)")
    parser.add_argument("--run-phase", nargs=2, metavar=("PHASE", "ROOT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_phase:  # one phase in this process: what --instructions counts
        phase, root = args.run_phase
        _PHASES[phase](root)
        return 0
    if args.instructions and shutil.which("valgrind") is None:
        parser.error("--instructions needs valgrind (apt-get install valgrind)")
    compile_package()
    target = args.mb or (40 if args.quick else 220)
    table = layout_table(args.layout_mb or (30 if args.quick else 130), max(1, args.repeat), args.instructions)
    if args.layouts_only:
        print("\n".join(table))
        return 0
    root = Path(tempfile.mkdtemp(prefix="merge-bench-"))
    try:
        dirs, size = generate(root, target)
        print(f"generated {dirs} config dirs, {size / 1e6:.0f} MB in {root}", file=sys.stderr)
        measure(phase_floor, root)  # warm the page cache so both phases read from memory
        floor, floor_rss = measure(phase_floor, root)
        merge, merge_rss = measure(phase_merge, root)
        naive, naive_rss = (None, None) if args.skip_naive or not naive_available() else measure(phase_naive, root)
        # merge --check: ~50 MB of output from Kafka-like tests, whose merge is Kafka-sized
        # (about 330 types): every test's broker touches nearly the same classes.
        check_root = root / "check-input"
        _, check_size = generate(check_root, 50, seed=11, shared_types=330, own_types=1, varied=0.01)
        check_floor, _ = measure(phase_floor, check_root)
        check, check_rss = measure(phase_check, check_root)
        diff_seconds, _ = measure(phase_diff, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"input_mb={size / 1e6:.1f}")
    print(f"config_dirs={dirs}")
    print(f"parse_floor_seconds={floor:.3f}")
    print(f"merge_seconds={merge:.3f}")
    print(f"merge_to_floor_ratio={merge / floor:.3f}")
    print(f"parse_floor_peak_rss_mib={floor_rss:.0f}")
    print(f"merge_peak_rss_mib={merge_rss:.0f}")
    print(f"check_input_mb={check_size / 1e6:.1f}")
    print(f"check_parse_floor_seconds={check_floor:.3f}")
    print(f"check_seconds={check:.3f}")
    print(f"check_to_floor_ratio={check / check_floor:.3f}")
    print(f"check_peak_rss_mib={check_rss:.0f}")
    print(f"diff_kafka_sized_seconds={diff_seconds:.3f}")
    if naive is not None:
        print(f"naive_seconds={naive:.3f}")
        print(f"naive_to_merge_ratio={naive / merge:.2f}")
        print(f"naive_peak_rss_mib={naive_rss:.0f}")
    print("\n".join(table))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
