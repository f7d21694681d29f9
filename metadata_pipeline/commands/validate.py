"""``validate``: schema and semantic checks of config directories or files."""

from __future__ import annotations

import argparse

HELP = "check metadata files against the schemas and for semantic mistakes"
DESCRIPTION = """\
Check every metadata file found under PATH... with the project's JSON schemas (both formats)
and for mistakes a schema cannot see: the same entry twice, a method both invoked and
queried, a condition on an array type, a type name with stray whitespace, an agent .lock left
behind.

One line per finding: FILE: JSON-POINTER: PROBLEM.
Exit 0 when all is valid, 1 with findings, 2 when an input cannot be read.

example:
  metadata-pipeline validate native-image-configs/
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help=HELP, description=DESCRIPTION,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="+", metavar="PATH", help="config dir, metadata file, or a tree holding them")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from metadata_pipeline.validation import validate_paths

    result = validate_paths(args.paths)
    for line in result.findings:
        print(line)
    print(f"{result.files} file(s) checked, {len(result.findings)} finding(s)")
    return 0 if result.ok else 1
