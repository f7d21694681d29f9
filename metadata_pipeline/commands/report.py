"""Printing a diff where a person (or a CI system) reads it."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Sequence

from metadata_pipeline.core.diff import MetadataDiff
from metadata_pipeline.core.diff_report import as_json, as_markdown, as_text
from metadata_pipeline.core.kinds import FileKind
from metadata_pipeline.core.serialize import dumps

__all__ = ["print_diff", "github_annotations", "in_github_actions", "file_of_category", "plural", "filter_files_lines"]

_LEGACY_FILE = {
    "reflection": FileKind.REFLECT, "jni": FileKind.JNI, "proxies": FileKind.PROXY,
    "resource_globs": FileKind.RESOURCE, "resource_patterns": FileKind.RESOURCE,
    "resource_excludes": FileKind.RESOURCE, "bundles": FileKind.RESOURCE,
    "serialization": FileKind.SERIALIZATION, "serialization_lambda_capturing": FileKind.SERIALIZATION,
    "serialization_proxies": FileKind.SERIALIZATION, "predefined_classes": FileKind.PREDEFINED_CLASSES,
    "foreign": FileKind.UNIFIED,
}
# What the unified format keeps in legacy files beside reachability-metadata.json.
_SPILLED = {"resource_patterns", "resource_excludes", "serialization_lambda_capturing",
            "serialization_proxies", "predefined_classes"}


def plural(count: int, one: str, many: str | None = None) -> str:
    """``1 proxy``, ``2 proxies``, ``0 config dirs``."""
    return f"{count} {one if count == 1 else (many or one + 's')}"


def filter_files_lines(toml_filters: Sequence[Path], toml: Path | None, cli_filters: Sequence[Path],
                       *, no_config: bool) -> list[str]:
    """Which filter files a command applies, and where each came from (in the order they apply)."""
    lines = [f"filter file {f} (from {toml})" for f in toml_filters]
    lines += [f"filter file {f} (from --filter)" for f in cli_filters]
    if not lines:
        why = ("--no-config: metadata-pipeline.toml ignored" if no_config
               else f"{toml} names none" if toml else "no --filter, no metadata-pipeline.toml found")
        lines.append(f"no filter files ({why})")
    return lines


def file_of_category(category: str, fmt: str) -> str:
    if fmt == "unified" and category not in _SPILLED:
        return FileKind.UNIFIED.file_name
    return _LEGACY_FILE[category].file_name


def _colour(choice: str) -> bool:
    if choice == "always":
        return True
    if choice == "never" or os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty()


def print_diff(d: MetadataDiff, fmt: str, colour: str = "auto") -> None:
    if fmt == "json":
        sys.stdout.write(dumps(as_json(d)))
    elif fmt == "markdown":
        sys.stdout.write(as_markdown(d))
    else:
        sys.stdout.write(as_text(d, _colour(colour)))


def in_github_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def _escape(text: str) -> str:
    # GitHub's workflow-command escaping for messages.
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def github_annotations(d: MetadataDiff, outdir: str, fmt: str) -> list[str]:
    lines = []
    for c in d.changes:
        what = {"added": "exercised by the tests but not committed", "removed": "committed but no longer exercised",
                "moved": "moved", "renamed": "renamed", "changed": "changed"}[c.action]
        text = c.entry if c.to is None else f"{c.entry} -> {c.to}"
        if c.details:
            text += " (" + "; ".join(c.details) + ")"
        path = os.path.join(outdir, file_of_category(c.category, fmt))
        lines.append(f"::error file={path},title=reachability metadata {what}::{_escape(text)}")
    return lines
