"""The end of a ``collect`` run: what the output directory now holds, and the merge to run next."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from metadata_pipeline.collect.manifest import NOTHING, SNAPSHOT, Manifest
from metadata_pipeline.collect.shard import Shard
from metadata_pipeline.files.configdir import load
from metadata_pipeline.errors import EXIT_FINDINGS, EXIT_OK, InputError
from metadata_pipeline.files.output import summary_line

__all__ = ["Summary", "summarize", "merge_command", "KAFKA_CONFIGS", "status_doc"]

KAFKA_CONFIGS = "docker/native/native-image-configs"  # where Kafka keeps its native-image configs


@dataclass(frozen=True)
class Summary:
    text: str
    exit_code: int  # 0: every planned test passed and has output; 1: some failed or are missing


def merge_command(outputs: Sequence[str | Path], kafka_dir: str, *, skip_invalid: bool = False) -> str:
    """The merge of collected outputs into the Kafka checkout's native-image configs."""
    inputs = " ".join(shlex.quote(str(o)) for o in outputs)
    command = f"metadata-pipeline merge {inputs} -o {shlex.quote(str(Path(kafka_dir) / KAFKA_CONFIGS))}"
    return command + (" --skip-invalid" if skip_invalid else "")


def status_doc(manifests: Mapping[str, Manifest], *, kafka_dir: str, last_run: str) -> dict:
    """``collect.json``: every test's state in the output directory, at a glance."""
    return {
        "kafka_dir": kafka_dir,
        "last_run": last_run,
        "tests": {
            test_id: {"status": m.status, "run_time_seconds": m.run_time_seconds, "contributed": m.contributed,
                      "stale_locks": sum(p.stale_lock for p in m.processes), "run_id": m.run_id}
            for test_id, m in sorted(manifests.items())},
    }


def summarize(output: Path, planned: Sequence[str], manifests: Mapping[str, Manifest], ran: Sequence[str],
              *, kafka_dir: str, shard: Shard | None = None) -> Summary:
    """The final report of a run over ``planned`` tests, of which ``ran`` were run now."""
    have = [t for t in planned if t in manifests]
    missing = [t for t in planned if t not in manifests]
    passed = [t for t in have if manifests[t].passed]
    failed = [t for t in have if not manifests[t].passed]
    silent = [t for t in have if not manifests[t].contributed]
    ran_now = [t for t in ran if t in manifests]
    snapshots = [(t, p) for t, m in manifests.items() for p in m.processes if p.stale_lock]
    invalid = [(t, msg) for t, m in manifests.items() for msg in m.invalid]

    lines = [f"{len(planned)} planned test{'s' if len(planned) != 1 else ''}: {len(passed)} passed, "
             f"{len(failed)} failed, {len(missing)} without output"
             + (f" (ran now: {len(ran_now)} of {len(ran)})" if ran else " (nothing to run)")]
    contributing = len(have) - len(silent)
    lines.append(f"{contributing} test{'s' if contributing != 1 else ''} contributed metadata"
                 + (f"; {len(silent)} contributed nothing:" if silent else ""))
    lines += [f"  {t} ({manifests[t].status})" for t in silent]
    if failed:
        lines.append("failed (their JVMs' output is kept and merged; --rerun-failed runs them again):")
        for t in failed:
            lines.append(f"  {t}: {manifests[t].summary or manifests[t].status}")
            if manifests[t].first_error:  # from the services' logs, kept beside the agent output
                lines.append(f"    first error: {manifests[t].first_error}")
    if missing:
        lines.append("without output (run the same command again to run them):")
        lines += [f"  {t}" for t in missing]
    # A killed JVM either left a periodic snapshot (kept and merged) or died before the first one.
    for write, what in ((SNAPSHOT, "snapshot kept: their last periodic snapshot is merged (manifest: write=snapshot)"),
                        (NOTHING, "nothing written: killed before the agent's first snapshot (manifest: write=none; "
                                  "lower --write-initial-delay)")):
        these = [(t, p) for t, p in snapshots if p.write == write]
        if these:
            tests = len({t for t, _ in these})
            jvms = f"{len(these)} JVM{'s' if len(these) != 1 else ''}"
            lines.append(f"{jvms} in {tests} test{'s' if tests != 1 else ''} left a stale .lock (killed), {what}")
    for test_id, message in invalid:
        lines.append(f"invalid agent output in {test_id}: {message}")
    others = sorted(set(manifests) - set(planned))
    if others:
        lines.append(f"{len(others)} more test output{'s' if len(others) != 1 else ''} in {output} from earlier runs "
                     "(not in this plan) will be merged too")
    try:
        totals = summary_line(load([output], skip_invalid=True).metadata)
    except InputError:  # nothing with metadata in it yet
        totals = "no entries"
    lines.append(f"metadata in {output}: {totals}")
    lines.append("next: " + merge_command([output], kafka_dir, skip_invalid=bool(invalid)))
    if shard is not None:
        # The merge is associative: all shards' outputs together merge like one run's.
        lines.append(f"this is shard {shard}; once all {shard.count} are done, merge their outputs together: "
                     + merge_command([f"SHARD{i}_OUTPUT" for i in range(1, shard.count + 1)], kafka_dir,
                                     skip_invalid=bool(invalid)))
    exit_code = EXIT_OK if not failed and not missing else EXIT_FINDINGS
    return Summary("\n".join(lines) + "\n", exit_code)
