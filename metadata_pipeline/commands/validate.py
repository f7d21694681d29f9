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
    from metadata_pipeline.configdir import LOCK_FILE, find_config_dirs, read_json
    from metadata_pipeline.core.checks import semantic_findings
    from metadata_pipeline.core.errors import InvalidMetadata
    from metadata_pipeline.errors import InputError
    from metadata_pipeline.schema import schema_errors

    findings: list[str] = []
    files = 0
    for cdir in find_config_dirs(args.paths):
        if cdir.locked:
            findings.append(f"{cdir.path / LOCK_FILE}: agent lock file left behind "
                            "(the agent is still running or was killed; its output may be incomplete)")
        for kind, path in cdir.files:
            files += 1
            try:
                data = read_json(path)
            except InvalidMetadata as exc:
                raise InputError(str(exc)) from None
            errors = schema_errors(kind, data)
            findings += [f"{path}: {e.entry}: {e.problem}" for e in errors]
            if not errors:  # semantic checks assume the shape the schema promises
                findings += [f"{path}: {f.entry}: {f.problem}" for f in semantic_findings(kind, data)]
    for line in findings:
        print(line)
    print(f"{files} file(s) checked, {len(findings)} finding(s)")
    return 1 if findings else 0
