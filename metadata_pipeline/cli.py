"""The command line: thin wiring over the commands in ``metadata_pipeline/commands``.

Each command module offers ``register(subparsers)`` and ``run(args) -> int``; modules import
their heavy dependencies inside ``run`` so that ``--help`` and ``merge --check`` start fast.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
from typing import Sequence

from metadata_pipeline import __version__
from metadata_pipeline.errors import EXIT_INPUT, EXIT_INTERRUPTED, FatalError

__all__ = ["main", "COMMANDS"]

# In the order of the workflow: collect -> merge -> diff -> validate -> lint -> build.
COMMANDS = ("collect", "merge", "diff", "validate", "lint", "build", "coverage", "why")

DESCRIPTION = """\
Reachability metadata for Apache Kafka's GraalVM native image (KIP-974).

The loop: `collect` runs Kafka's system tests with the native-image agent and keeps its output
per test; `merge` turns that into native-image-configs/ (`merge --check` is the CI gate);
`diff` explains a change; `validate` and `lint` catch broken or stale entries; `build` makes
the native executable; `coverage` and `why` say which tests give which metadata. Exit codes:
0 ok / no difference, 1 difference or findings, 2 usage or input error, 130 interrupted (Ctrl-C
or SIGTERM; nothing replaced).
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


class _Interrupts:
    """Ctrl-C and SIGTERM become one ``KeyboardInterrupt`` (cleanup runs, then one line, exit 130).

    A second signal while that cleanup runs, or any signal once the command has finished, is
    ignored: there is nothing left to stop, and a traceback would only hide what happened.
    """

    def __init__(self) -> None:
        self.raised = False
        self.signal: int | None = None
        self.finished = False
        self.previous: dict[int, object] = {}

    def handle(self, signum: int, frame: object) -> None:
        if self.raised or self.finished:
            return
        self.raised = True
        self.signal = signum
        raise KeyboardInterrupt

    def install(self) -> None:
        try:
            self.previous = {sig: signal.signal(sig, self.handle) for sig in (signal.SIGINT, signal.SIGTERM)}
        except ValueError:  # not the main thread: signals are not ours to handle
            self.previous = {}

    def restore(self) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; the exit code.

    As the process entry (``argv`` None) the signal handlers stay installed, finished, until
    the interpreter exits, so a late Ctrl-C cannot turn a done command into a traceback;
    called with ``argv`` (tests, embedding), the caller's handlers are put back.
    """
    interrupts = _Interrupts()
    interrupts.install()
    try:
        try:
            args = build_parser().parse_args(argv)
            code = args.run(args)
        except FatalError as exc:
            print(f"error: {exc.message}", file=sys.stderr)
            code = exc.exit_code
        except BrokenPipeError:
            code = 0
    except KeyboardInterrupt:  # also when it lands in a handler above
        interrupts.raised = True  # (a held signal re-raised by the command did not pass through handle)
        print("interrupted (SIGTERM)" if interrupts.signal == signal.SIGTERM else "interrupted", file=sys.stderr)
        code = EXIT_INTERRUPTED
    finally:
        interrupts.finished = True
        if argv is not None:
            interrupts.restore()
    return code
