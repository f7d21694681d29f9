"""Fatal errors of the command line, each carrying its exit code.

What went wrong and which exit code it means are decided here; the entry point prints the
one-line message and exits. Exit codes: 0 success / no difference, 1 difference or findings,
2 usage or input error.
"""

from __future__ import annotations

__all__ = ["FatalError", "InputError", "UsageError", "EXIT_OK", "EXIT_FINDINGS", "EXIT_INPUT"]

EXIT_OK, EXIT_FINDINGS, EXIT_INPUT = 0, 1, 2


class FatalError(Exception):
    exit_code = EXIT_INPUT

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InputError(FatalError):
    """Unreadable, malformed or missing input (a user's file, directory or engine)."""


class UsageError(FatalError):
    """Options that do not fit together."""
