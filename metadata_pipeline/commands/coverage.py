"""``coverage``: which tests give which metadata, and the cheapest set of tests that gives it all."""

from __future__ import annotations

import argparse
import sys

HELP = "which tests give which metadata, and the fastest set of tests that reproduces it"
DESCRIPTION = """\
Read one or more `collect` outputs (COLLECTED: per-test agent output with the manifests collect
writes) and count, per test, the items it contributes and the items only it contributes.
Items are what the semantic diff compares: a type under its condition and each of its flags,
methods and fields; each resource, bundle (and locale), proxy, serialization entry and
predefined class. Filters apply as in `merge` (metadata-pipeline.toml, --filter).

The selection is the set of tests with the least total run time whose output covers --target
percent of all items (default 100: merging only them gives exactly what merging all gives),
found by greedy weighted set cover. Greedy is within a factor H(k) <= ln(n)+1 of the cheapest
selection; the output shows the lower bound it can prove (tests that are the only source of
some item are in every selection). Run times come from the manifests, or from --timings.

--select FILE writes the selection as test ids, one a line, for `collect --tests-from FILE`.

examples:
  metadata-pipeline coverage collected/
  metadata-pipeline coverage shard-*/ --timings report.json --format html -o coverage.html
  metadata-pipeline coverage collected/ --target 99 --select refresh-tests.txt
  metadata-pipeline collect --kafka-dir ../kafka --tests-from refresh-tests.txt -o refreshed
"""


def _percent(text: str) -> float:
    try:
        value = float(text.rstrip("%"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a percentage") from None
    if not 0 < value <= 100:
        raise argparse.ArgumentTypeError(f"{text}: a percentage above 0 and at most 100")
    return value


def add_input_options(p: argparse.ArgumentParser) -> None:
    """The reading options coverage and why share with merge."""
    p.add_argument("--filter", action="append", default=[], metavar="FILE", dest="filters",
                   help="drop entries of classes a filter file excludes, as merge --filter (repeatable); "
                        "added to the filters of metadata-pipeline.toml")
    p.add_argument("--no-config", action="store_true", help="ignore metadata-pipeline.toml (its default filters)")
    p.add_argument("--skip-invalid", action="store_true",
                   help="skip (with a warning) agent files that are malformed, as merge --skip-invalid")
    p.add_argument("--allow-stale-locks", action="store_true",
                   help="read process dirs that still hold an agent .lock, as merge --allow-stale-locks")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("coverage", help=HELP, description=DESCRIPTION,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("inputs", nargs="+", metavar="COLLECTED", help="a collect output directory")
    p.add_argument("--timings", metavar="REPORT",
                   help="ducktape report.json with every collected test's run time (default: the manifests')")
    p.add_argument("--target", type=_percent, default=100.0, metavar="PCT",
                   help="percent of all items the selection must cover (default 100)")
    p.add_argument("--format", choices=("text", "markdown", "json", "html"), default="text",
                   help="text (default), markdown for a PR comment, json (stable; see README), "
                        "html (one self-contained page with the curve and a sortable table)")
    p.add_argument("-o", "--output", metavar="FILE", help="write the report here instead of stdout")
    p.add_argument("--select", metavar="FILE", help="write the selected test ids here, for collect --tests-from")
    add_input_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from metadata_pipeline.collect.collected import class_filter_for, read_items, timings_from_report
    from metadata_pipeline.files.configdir import atomic_write_text
    from metadata_pipeline.core import coverage_report
    from metadata_pipeline.core.coverage import TestItems, analyse, report_json
    from metadata_pipeline.core.serialize import dumps

    warn = lambda msg: print(f"warning: {msg}", file=sys.stderr)  # noqa: E731
    collected = read_items(args.inputs, class_filter_for(args.no_config, args.filters),
                           skip_invalid=args.skip_invalid, allow_stale_locks=args.allow_stale_locks, warn=warn)
    seconds = {t.test_id: t.seconds for t in collected.tests}
    if args.timings:
        seconds = timings_from_report(Path(args.timings), list(seconds))
    tests = [TestItems(t.test_id, seconds[t.test_id], t.status, items) for t, items in zip(collected.tests, collected.items)]
    report = analyse(tests, collected.index, args.target)
    inputs = list(args.inputs)
    if args.format == "json":
        text = dumps(report_json(report, inputs))
    elif args.format == "markdown":
        text = coverage_report.render_markdown(report, inputs)
    elif args.format == "html":
        from metadata_pipeline.commands.coverage_html import render_html

        text = render_html(report, inputs)
    else:
        text = coverage_report.render_text(report, inputs)
    # Everything is rendered before anything is written: an error leaves no file half-done.
    if args.select:
        atomic_write_text(Path(args.select), coverage_report.render_selection_file(report, inputs))
    if args.output:
        atomic_write_text(Path(args.output), text)
        print(f"coverage: {coverage_report.headline(report)}; wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
