"""``coverage --format html``: one self-contained page a maintainer opens from CI artifacts.

The curve is drawn by matplotlib (Agg backend, SVG inlined, text as paths, a fixed hash salt
and no date: the page is byte-identical for the same input); the per-test table sorts on a
click with a few lines of inline JavaScript. Nothing is fetched from anywhere.
"""

from __future__ import annotations

import html
import io
from typing import Sequence

from metadata_pipeline.core.coverage import CoverageReport
from metadata_pipeline.core.coverage_report import duration, guarantee_lines, headline

__all__ = ["render_html", "curve_svg"]


def curve_svg(report: CoverageReport) -> str:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    s = report.selection
    with matplotlib.rc_context({"svg.fonttype": "path", "svg.hashsalt": "metadata-pipeline", "font.size": 9}):
        fig, ax = plt.subplots(figsize=(8, 3.6), dpi=100)
        try:
            hours = s.full_seconds >= 3 * 3600
            unit, scale = ("hours", 3600.0) if hours else ("minutes", 60.0) if s.full_seconds >= 180 else ("seconds", 1.0)
            xs = [0.0] + [p.seconds / scale for p in report.curve]
            ys = [0.0] + [100 * p.fraction for p in report.curve]
            ax.step(xs, ys, where="post", color="#1f6feb", linewidth=1.6, label="greedy order")
            if s.tests:
                ax.plot([s.seconds / scale], [100 * s.items_covered / s.items_total if s.items_total else 100],
                        "o", color="#d1242f", label=f"selection: {len(s.tests)} tests, {duration(s.seconds)}")
            ax.axhline(s.target, color="#888", linestyle=":", linewidth=1, label=f"target {s.target:g}%")
            ax.axvline(s.full_seconds / scale, color="#aaa", linestyle="--", linewidth=1,
                       label=f"all {len(report.tests)} tests, {duration(s.full_seconds)}")
            ax.set_xlabel(f"cumulative run time ({unit})")
            ax.set_ylabel("items covered (%)")
            ax.set_ylim(0, 102)
            ax.set_xlim(0, max(xs[-1], s.full_seconds / scale) * 1.02 or 1)
            ax.grid(True, alpha=0.3)
            ax.legend(loc="lower right", frameon=False)
            fig.tight_layout()
            out = io.StringIO()
            fig.savefig(out, format="svg", metadata={"Date": None})
        finally:
            plt.close(fig)
    svg = out.getvalue()
    return svg[svg.index("<svg"):]  # drop the XML prolog and doctype: the SVG sits inside HTML


_SCRIPT = """
document.querySelectorAll('table.sortable th').forEach(function (th, col) {
  th.addEventListener('click', function () {
    var table = th.closest('table'), body = table.tBodies[0];
    var numeric = th.dataset.type === 'num', asc = th.dataset.order !== 'asc';
    table.querySelectorAll('th').forEach(function (h) { h.dataset.order = ''; });
    th.dataset.order = asc ? 'asc' : 'desc';
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = a.cells[col].dataset.v, y = b.cells[col].dataset.v;
      var c = numeric ? (parseFloat(x) - parseFloat(y)) : x.localeCompare(y);
      return asc ? c : -c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  });
});
"""

_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 72em; padding: 0 1em; color: #1f2328; }
h1 { font-size: 1.4em; } .note { color: #59636e; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { padding: 3px 8px; border-bottom: 1px solid #d1d9e0; text-align: left; }
th { cursor: pointer; background: #f6f8fa; position: sticky; top: 0; user-select: none; }
th[data-order=asc]::after { content: " \\25B2"; } th[data-order=desc]::after { content: " \\25BC"; }
td.num, th[data-type=num] { text-align: right; font-variant-numeric: tabular-nums; }
tr.selected td:first-child { font-weight: 600; } tr.failed td { color: #9a6700; }
code { font-size: 12px; }
"""


def _cell(text: str, value: object, numeric: bool = False) -> str:
    cls = ' class="num"' if numeric else ""
    return f'<td{cls} data-v="{html.escape(str(value), quote=True)}">{html.escape(text)}</td>'


def render_html(report: CoverageReport, inputs: Sequence[str]) -> str:
    s = report.selection
    rows = []
    for t in sorted(report.tests, key=lambda t: (t.rank is None, t.rank or 0, t.test_id)):
        selected = t.rank is not None and t.rank <= len(s.tests)
        classes = " ".join(c for c, on in (("selected", selected), ("failed", t.status not in ("PASS", "FLAKY"))) if on)
        rank = t.rank if t.rank is not None else ""
        rows.append(f'<tr class="{classes}">'
                    + _cell(str(rank) + (" *" if selected else ""), t.rank if t.rank is not None else 1e9, True)
                    + f'<td data-v="{html.escape(t.test_id, quote=True)}"><code>{html.escape(t.test_id)}</code></td>'
                    + _cell(t.status, t.status)
                    + _cell(duration(t.seconds), -1 if t.seconds is None else t.seconds, True)
                    + _cell(str(t.items), t.items, True) + _cell(str(t.unique_items), t.unique_items, True)
                    + "</tr>")
    notes = "".join(f"<li>{html.escape(line)}</li>" for line in guarantee_lines(s))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Metadata coverage: {html.escape(headline(report))}</title>
<style>{_STYLE}</style></head>
<body>
<h1>Reachability metadata coverage</h1>
<p><strong>{html.escape(headline(report))}</strong></p>
<ul class="note">{notes}</ul>
<figure>{curve_svg(report)}</figure>
<p class="note">Greedy order: each test adds the items no earlier test gave, cheapest per new item first.
* marks the selected tests; click a column heading to sort.</p>
<table class="sortable"><thead><tr><th data-type="num">#</th><th>test</th><th>status</th>
<th data-type="num">time</th><th data-type="num">items</th><th data-type="num">unique</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody></table>
<p class="note">from {html.escape(", ".join(inputs))}</p>
<script>{_SCRIPT}</script>
</body></html>
"""
