"""``merge`` against GraalVM's own ``native-image-configure generate`` on the same per-test input.

The input is merge_bench's agent-shaped generator (one config dir per test, node and process),
sized to about 500 dirs. GraalVM's side is ``org.graalvm.nativeimage:svm-configure`` from Maven
Central run by ``tests/oracle/Oracle.java`` (needs ``mvn`` and a JDK 21+, see
``tests/graalvm_oracle.py``). Startup is measured apart from the work on both sides:

- merge: startup = a fresh ``python`` importing the CLI; work = ``merge`` itself in a fresh
  process (read, check, merge, render, validate, write), timed inside it;
- generate: startup = JVM start until the harness answers a trivial job; work = the ``generate``
  job, timed inside the JVM (cold JIT, as a user's run is).

Prints ``name=value`` lines: dirs, input_mb, both startups, both work times, and
``generate_to_merge_ratio`` (work over work).

  python benchmarks/generate_bench.py            # ~500 dirs
  python benchmarks/generate_bench.py --dirs 100
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))

from merge_bench import generate  # noqa: E402  (the one input generator)
from graalvm_oracle import Oracle, build  # noqa: E402

# merge_bench's shape, with fewer shared types per dir so that ~500 dirs stay ~55 MB.
SHARED_TYPES, OWN_TYPES, MB_PER_DIR = 800, 40, 0.105

_TIMED_MERGE = """
import contextlib, io, sys, time
from metadata_pipeline.cli import main
start = time.perf_counter()
with contextlib.redirect_stdout(io.StringIO()):
    code = main(["merge", sys.argv[1], "-o", sys.argv[2], "--no-config"])
print(time.perf_counter() - start)
sys.exit(code)
"""


def _merge(root: Path, out: Path) -> tuple[float, float]:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import metadata_pipeline.cli, metadata_pipeline.commands.merge"], check=True)
    startup = time.perf_counter() - start
    proc = subprocess.run([sys.executable, "-c", _TIMED_MERGE, str(root), str(out)], check=True,
                          capture_output=True, text=True)
    return startup, float(proc.stdout.strip().splitlines()[-1])


def _generate(work: Path, dirs: list[Path], out: Path) -> tuple[float, float]:
    java_home, classpath = build(work)
    empty = work / "empty"
    empty.mkdir()
    start = time.perf_counter()
    oracle = Oracle(java_home, classpath, work)
    oracle.run([["parse", str(empty)]])
    startup = time.perf_counter() - start
    (answer,) = oracle.run([["generate", *(f"--input-dir={d}" for d in dirs), f"--output-dir={out}"]])
    oracle.close()
    assert not answer["errors"], answer["errors"]
    return startup, answer["micros"] / 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dirs", type=int, default=500, help="about this many per-test config dirs")
    args = parser.parse_args()
    from metadata_pipeline.files.configdir import find_config_dirs

    with tempfile.TemporaryDirectory(prefix="generate-bench-") as tmp:
        work = Path(tmp)
        root = work / "collected"
        root.mkdir()
        count, size = generate(root, max(1, round(args.dirs * MB_PER_DIR)), shared_types=SHARED_TYPES, own_types=OWN_TYPES)
        dirs = [d.path for d in find_config_dirs([root])]
        assert len(dirs) == count
        merge_startup, merge_work = _merge(root, work / "merged")
        gen_startup, gen_work = _generate(work, dirs, work / "generated")
        print(f"dirs={count}")
        print(f"input_mb={size / 1e6:.1f}")
        print(f"merge_startup_seconds={merge_startup:.2f}")
        print(f"merge_seconds={merge_work:.2f}")
        print(f"generate_startup_seconds={gen_startup:.2f}")
        print(f"generate_seconds={gen_work:.2f}")
        print(f"generate_to_merge_ratio={gen_work / merge_work:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
