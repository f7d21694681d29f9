"""Which planned tests a run with an existing output directory executes (pure).

A test's output is complete when its directory holds a manifest (it is installed in one
rename, manifest included). Re-running ``collect`` with the same ``-o``:

- runs every planned test without complete output (never run, or interrupted);
- skips tests with complete output, except that ``--rerun-failed`` runs again the ones whose
  manifest says they did not pass (FAIL, or any status but PASS/FLAKY), and ``--force`` runs
  every planned test again;
- leaves alone outputs of tests that are not in this run's plan (another shard, other
  symbols): they stay in the directory and in the merge.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

from metadata_pipeline.collect.manifest import PASSED

__all__ = ["ResumeDecision", "decide"]


@dataclass(frozen=True)
class ResumeDecision:
    run: tuple[str, ...]  # test ids to run now, in plan order
    missing: tuple[str, ...]  # of run: no complete output yet
    failed: tuple[str, ...]  # of run: complete, but did not pass (--rerun-failed)
    forced: tuple[str, ...]  # of run: complete and passed (--force)
    skipped: tuple[str, ...]  # complete and kept
    not_planned: tuple[str, ...]  # complete outputs of tests outside this plan

    def describe(self) -> str:
        parts = [f"{len(self.run)} to run"]
        if self.skipped:
            parts.append(f"{len(self.skipped)} already collected (skipped)")
        if self.failed:
            parts.append(f"{len(self.failed)} failed before, run again")
        if self.forced:
            parts.append(f"{len(self.forced)} forced")
        return ", ".join(parts)


def decide(planned: Sequence[str], done: Mapping[str, str], *, rerun_failed: bool = False,
           force: bool = False) -> ResumeDecision:
    """``done`` maps test ids with complete output to their status (from their manifests)."""
    run, missing, failed, forced, skipped = [], [], [], [], []
    for test_id in planned:
        status = done.get(test_id)
        if status is None:
            missing.append(test_id)
        elif status not in PASSED and (rerun_failed or force):
            failed.append(test_id)
        elif force:
            forced.append(test_id)
        else:
            skipped.append(test_id)
            continue
        run.append(test_id)
    planned_set = set(planned)
    return ResumeDecision(run=tuple(run), missing=tuple(missing), failed=tuple(failed), forced=tuple(forced),
                          skipped=tuple(skipped), not_planned=tuple(sorted(set(done) - planned_set)))
