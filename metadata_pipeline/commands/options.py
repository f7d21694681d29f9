"""Options that mean the same in every command, spelled the same in every command.

``--format`` is the metadata format a command writes (legacy or unified: ``merge --format``,
``format =`` in metadata-pipeline.toml); ``--report-format`` is how a command prints what it
reports (``diff``, ``merge --check``, ``collect --plan``). Older spellings stay accepted,
hidden from --help, with a one-line warning.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Sequence

__all__ = ["REPORT_FORMAT", "add_report_format"]

REPORT_FORMAT = "--report-format"


class _Deprecated(argparse.Action):
    """An old spelling of an option: still works, says once what to write instead."""

    def __init__(self, option_strings: Sequence[str], dest: str, replacement: str, **kwargs: Any) -> None:
        self.replacement = replacement
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        print(f"warning: {parser.prog} {option_string} is deprecated; use {self.replacement}", file=sys.stderr)
        setattr(namespace, self.dest, values)


def add_report_format(group: Any, *, choices: Sequence[str], dest: str, help: str,
                      old: Sequence[str] = ()) -> None:
    """``--report-format`` (default ``text``) on ``group``; ``old`` spellings as deprecated aliases."""
    group.add_argument(REPORT_FORMAT, choices=choices, default="text", dest=dest, help=help)
    for spelling in old:
        group.add_argument(spelling, choices=choices, dest=dest, default=argparse.SUPPRESS, help=argparse.SUPPRESS,
                           action=_Deprecated, replacement=REPORT_FORMAT)
