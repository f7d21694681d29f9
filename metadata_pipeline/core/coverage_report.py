"""``coverage`` for people: the terminal, a PR comment, the ``--select`` file (pure)."""

from __future__ import annotations

import math
from typing import Sequence

from metadata_pipeline.core.coverage import CoverageReport, Selection

__all__ = ["render_text", "render_markdown", "render_selection_file", "duration", "guarantee_lines"]


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    if seconds < 60:
        return f"{seconds:.1f}s"
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def _pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "100.0%"


def headline(report: CoverageReport) -> str:
    s = report.selection
    saved = s.full_seconds - s.seconds
    return (f"{len(s.tests)} of {len(report.tests)} tests cover {s.items_covered} of {s.items_total} items "
            f"({_pct(s.items_covered, s.items_total)}, target {s.target:g}%) in {duration(s.seconds)} "
            f"of {duration(s.full_seconds)}: {duration(saved)} saved ({_pct(saved, s.full_seconds)})")


def guarantee_lines(s: Selection) -> list[str]:
    """What greedy promises, and the bound it can prove on the cheapest selection."""
    lines = []
    if s.factor is not None and s.items_total:
        n = s.items_total
        lines.append(f"greedy weighted set cover: within a factor H(k) = {s.factor:.2f} of the cheapest cover "
                     f"(k = most items of one test; H(k) <= ln(n)+1 = {math.log(n) + 1:.2f} for n = {n} items)")
    elif s.items_total:
        lines.append("greedy weighted set cover, stopped at the target (the ln(n)+1 factor is proven for 100%)")
    sole = "some item" if s.target == 100 else "more items than the target leaves out"
    reasons = []
    if s.essential:
        reasons.append(f"{len(s.essential)} test(s) are the only source of {sole}, so every selection has them "
                       f"({duration(s.essential_seconds)})")
    if s.factor:
        reasons.append(f"greedy's time / H(k) = {duration(s.seconds / s.factor)}")
    if reasons:
        lines.append(f"lower bound: no selection reaching {s.target:g}% takes less than "
                     f"{duration(s.lower_bound_seconds)}: " + "; ".join(reasons))
    else:
        lines.append(f"lower bound: none proven (no test alone holds more items than {s.target:g}% leaves out)")
    if s.estimated:
        lines.append(f"{len(s.estimated)} test(s) without a run time count as the mean of the others")
    return lines


def render_text(report: CoverageReport, inputs: Sequence[str]) -> str:
    s = report.selection
    failed = [t for t in report.tests if t.status not in ("PASS", "FLAKY")]
    lines = [f"coverage of {', '.join(inputs)}: {len(report.tests)} tests, {s.items_total} items after filters"
             + (f"; {len(failed)} did not pass (their output counts, marked !)" if failed else "")]
    rows = [("#", "TEST", "STATUS", "TIME", "ITEMS", "UNIQUE")]
    ranked = sorted(report.tests, key=lambda t: (t.rank is None, t.rank or 0, t.test_id))
    for t in ranked:
        mark = "" if t.status in ("PASS", "FLAKY") else "!"
        rows.append((str(t.rank) if t.rank is not None else "-", t.test_id, t.status + mark, duration(t.seconds),
                     str(t.items), str(t.unique_items)))
    widths = [max(len(r[i]) for r in rows) for i in range(6)]
    for r in rows:
        lines.append(f"  {r[0]:>{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]:>{widths[3]}}  "
                     f"{r[4]:>{widths[4]}}  {r[5]:>{widths[5]}}".rstrip())
    lines.append("")
    lines.append("selection: " + headline(report))
    for n, p in enumerate(report.curve[:len(s.tests)], 1):
        lines.append(f"  {n:>{len(str(len(s.tests)))}}. {p.test_id}  -> {_pct(p.items_covered, s.items_total)} "
                     f"after {duration(p.seconds)}")
    lines += guarantee_lines(s)
    return "\n".join(lines) + "\n"


def render_markdown(report: CoverageReport, inputs: Sequence[str]) -> str:
    s = report.selection
    lines = ["### Metadata coverage", "", f"**{headline(report)}**", ""]
    lines += [f"- {line}" for line in guarantee_lines(s)]
    lines += ["", "| # | selected test | status | time | items | unique | covered after |", "|---:|---|---|---:|---:|---:|---:|"]
    by_id = {t.test_id: t for t in report.tests}
    for n, p in enumerate(report.curve[:len(s.tests)], 1):
        t = by_id[p.test_id]
        lines.append(f"| {n} | `{t.test_id}` | {t.status} | {duration(t.seconds)} | {t.items} | {t.unique_items} "
                     f"| {_pct(p.items_covered, s.items_total)} |")
    lines += ["", f"<details><summary>all {len(report.tests)} tests</summary>", "",
              "| test | status | time | items | unique |", "|---|---|---:|---:|---:|"]
    lines += [f"| `{t.test_id}` | {t.status} | {duration(t.seconds)} | {t.items} | {t.unique_items} |"
              for t in report.tests]
    lines += ["", "</details>", "", f"_from {', '.join(f'`{i}`' for i in inputs)}_"]
    return "\n".join(lines) + "\n"


def render_selection_file(report: CoverageReport, inputs: Sequence[str]) -> str:
    """Test ids one a line, ``#`` comments: what ``collect --tests-from`` reads."""
    lines = [f"# metadata-pipeline coverage {' '.join(inputs)}",
             f"# {headline(report)}",
             "# run them with: metadata-pipeline collect --kafka-dir KAFKA --tests-from THIS_FILE -o OUT"]
    lines += list(report.selection.tests)
    return "\n".join(lines) + "\n"
