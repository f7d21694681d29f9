"""Failures of a build or smoke test that ran: exit code 1, unlike refused input (2)."""

from __future__ import annotations

from metadata_pipeline.errors import EXIT_FINDINGS, FatalError

__all__ = ["BuildFailed", "SmokeFailed"]


class BuildFailed(FatalError):
    """native-image ran and did not produce the executable."""

    exit_code = EXIT_FINDINGS


class SmokeFailed(FatalError):
    """The executable was built but the broker did not format, start, answer or stop cleanly."""

    exit_code = EXIT_FINDINGS
