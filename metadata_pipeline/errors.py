"""Fatal errors of the command line, each carrying its exit code.

What went wrong and which exit code it means are decided here; the entry point prints the
one-line message and exits. Exit codes: 0 success / no difference, 1 difference or findings,
2 usage or input error.
"""

from __future__ import annotations

__all__ = ["FatalError", "InputError", "UsageError", "EXIT_OK", "EXIT_FINDINGS", "EXIT_INPUT", "EXIT_INTERRUPTED",
           "os_reason"]

EXIT_OK, EXIT_FINDINGS, EXIT_INPUT = 0, 1, 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C; SIGTERM too


class FatalError(Exception):
    exit_code = EXIT_INPUT

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InputError(FatalError):
    """Unreadable, malformed or missing input (a user's file, directory or engine)."""


class UsageError(FatalError):
    """Options that do not fit together."""


def os_reason(exc: OSError) -> str:
    """Why an OS call failed, in words: ``strerror`` when the OS gave one.

    ``shutil.Error`` (copytree) has none: its argument is a list of (source, destination,
    reason) for every file that failed; the first one says enough.
    """
    if exc.strerror:
        return exc.strerror
    failures = exc.args[0] if exc.args else None
    if isinstance(failures, list) and failures and isinstance(failures[0], tuple) and len(failures[0]) == 3:
        source, _, why = failures[0]
        more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
        return f"{source}: {why}{more}"
    return str(exc) or type(exc).__name__
