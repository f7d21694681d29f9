"""``validate``: schema and semantic checks of config directories or files."""

from __future__ import annotations

import argparse

HELP = "check metadata files against the schemas and for semantic mistakes"
DESCRIPTION = """\
Check every metadata file found under PATH... with the project's JSON schemas (both formats)
and for what GraalVM would reject or silently misread: a method both invoked and queried, a
condition on an array type, a type name with stray whitespace, typeReached in a legacy file,
a legacy entry without "name", allowUnsafeAccess, an invalid glob (org/**.xml), predefined
classes without their .classdata, an agent .lock left behind. What is only redundant (the same
entry twice, which GraalVM merges) is a note: it fails the run only with --strict.

One line per finding: FILE: JSON-POINTER: PROBLEM (notes: FILE: JSON-POINTER: note: PROBLEM).
Exit 0 when all is valid, 1 with findings (or notes under --strict), 2 when an input cannot be read.

example:
  metadata-pipeline validate native-image-configs/
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help=HELP, description=DESCRIPTION,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="+", metavar="PATH", help="config dir, metadata file, or a tree holding them")
    p.add_argument("--strict", action="store_true", help="notes (duplicate entries) fail the run too")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from metadata_pipeline.files.validation import validate_paths

    result = validate_paths(args.paths)
    for line in result.findings:
        print(line)
    for line in result.notes:
        print(line)
    print(f"{result.files} file(s) checked, {len(result.findings)} finding(s)"
          + (f", {len(result.notes)} note(s)" if result.notes else ""))
    return 0 if result.ok and not (args.strict and result.notes) else 1
