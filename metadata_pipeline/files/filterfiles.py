"""Reading agent filter files (``--filter``, the repository's default filters)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

from metadata_pipeline.core.errors import InvalidMetadata
from metadata_pipeline.core.filters import ClassFilter, FilterReport, parse_filter
from metadata_pipeline.errors import InputError
from metadata_pipeline.files.fsio import read_text_file

__all__ = ["load_filters", "report_lines"]


def load_filters(paths: Sequence[Path]) -> ClassFilter:
    """All filter files, in order (later rules win), as one filter."""
    combined = ClassFilter()
    for path in paths:
        try:
            doc = json.loads(read_text_file(Path(path)))  # a regular file, UTF-8, or one line saying not
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}: malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
        try:
            combined = combined + parse_filter(doc, str(path))
        except InvalidMetadata as exc:
            raise InputError(str(exc)) from None
    return combined


def report_lines(report: FilterReport) -> list[str]:
    """One line per rule that removed something, most first."""
    lines = [f"filters removed {report.total} {'entry' if report.total == 1 else 'entries'}"
             + (" (" + ", ".join(f"{n} {c}" for c, n in sorted(report.by_category.items())) + ")" if report.total else "")]
    for label, count in sorted(report.by_rule.items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"  {count:6d}  {label}")
    return lines
