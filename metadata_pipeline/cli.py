"""The command line: thin wiring over the commands in ``metadata_pipeline/commands``.

Each command module offers ``register(subparsers)`` and ``run(args) -> int``; modules import
their heavy dependencies inside ``run`` so that ``--help`` and ``merge --check`` start fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from metadata_pipeline import __version__
from metadata_pipeline.errors import EXIT_INPUT, FatalError

__all__ = ["main", "COMMANDS"]

# In the order of the workflow: collect -> merge -> diff -> validate -> lint -> build.
COMMANDS = ("collect", "merge", "diff", "validate", "lint", "build", "coverage", "why")

DESCRIPTION = """\
Reachability metadata for Apache Kafka's GraalVM native image (KIP-974).

The loop: `collect` runs Kafka's system tests with the native-image agent and keeps its output
per test; `merge` turns that into native-image-configs/ (`merge --check` is the CI gate);
`diff` explains a change; `validate` and `lint` catch broken or stale entries; `build` makes
the native executable; `coverage` and `why` say which tests give which metadata. Exit codes: 0 ok / no difference, 1 difference or findings, 2 usage or
input error.
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # usage errors exit 2 with one line, as argparse does
        self.print_usage(sys.stderr)
        self.exit(EXIT_INPUT, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="metadata-pipeline", description=DESCRIPTION,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"metadata_pipeline.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"metadata_pipeline.commands.{name}":
                raise
            continue  # a command not built yet is simply not offered
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except FatalError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
