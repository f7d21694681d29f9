"""``diff``: what changed between two config directories, in Kafka's own terms."""

from __future__ import annotations

import argparse

HELP = "show the semantic difference between two config dirs"
DESCRIPTION = """\
Compare the reachability metadata in OLD and NEW (config dirs in either format, mixed
allowed) and print what changed: types added/removed/moved per reflection, JNI and
serialization; methods, fields and flags of types in both; condition changes; resources
(a regex and the equivalent glob are the same resource; version bumps show as renames),
bundles and locales, proxies, predefined classes. Formatting, order, duplicates and
descriptor vs. source spelling are never differences.

Exit 0 when equal, 1 when different, 2 on an input error.

examples:
  metadata-pipeline diff old-configs/ native-image-configs/
  metadata-pipeline diff old/ new/ --report-format markdown > comment.md   # for a PR comment
  metadata-pipeline diff old/ new/ --report-format json                    # stable, for tools
"""


def register(sub: argparse._SubParsersAction) -> None:
    from metadata_pipeline.commands.options import add_report_format

    p = sub.add_parser("diff", help=HELP, description=DESCRIPTION,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("old", metavar="OLD", help="config dir (or tree of them) before")
    p.add_argument("new", metavar="NEW", help="config dir (or tree of them) after")
    add_report_format(p, choices=("text", "markdown", "json"), dest="format", old=["--format"],
                      help="text (coloured on a terminal), markdown (PR comment) or json (documented, stable)")
    p.add_argument("--color", choices=("auto", "always", "never"), default="auto", help="colour text output")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from metadata_pipeline.files.configdir import load
    from metadata_pipeline.core.diff import diff
    from metadata_pipeline.commands.report import print_diff

    old = load([args.old]).metadata
    new = load([args.new]).metadata
    d = diff(old, new)
    print_diff(d, args.format, args.color)
    return 1 if d else 0
