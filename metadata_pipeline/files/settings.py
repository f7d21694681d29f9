"""Per-repository defaults: ``metadata-pipeline.toml``, found from the working directory up.

A Kafka checkout that adopts the tool commits one file, so that every maintainer and CI run
merges and collects with the same filters without repeating flags::

    [metadata_pipeline]
    filters = ["system-test-overrides/filters/kafka.json"]   # merge --filter and agent access filters
    format = "legacy"                                        # merge --format default

Paths are relative to the file. Command-line flags add to (filters) or override (format) it;
``--no-config`` ignores it.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from metadata_pipeline.errors import InputError
from metadata_pipeline.files.fsio import read_text_file

__all__ = ["Settings", "SETTINGS_FILE", "load_settings"]

SETTINGS_FILE = "metadata-pipeline.toml"
_KEYS = {"filters", "format"}


@dataclass(frozen=True)
class Settings:
    source: Path | None = None
    filters: tuple[Path, ...] = ()
    format: str | None = None


def _find(start: Path) -> Path | None:
    for directory in (start, *start.parents):
        candidate = directory / SETTINGS_FILE
        if candidate.exists() or candidate.is_symlink():
            return candidate  # whatever it is: reading it says so if it is no regular file
        if (directory / ".git").exists():  # do not wander out of the repository
            return None
    return None


def load_settings(start: Path | None = None) -> Settings:
    path = _find((start or Path.cwd()).absolute())
    if path is None:
        return Settings()
    try:
        doc = tomllib.loads(read_text_file(path))
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: cannot read settings: {exc}") from None
    table = doc.get("metadata_pipeline", {})
    if not isinstance(table, dict):
        raise InputError(f"{path}: [metadata_pipeline] must be a table")
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise InputError(f"{path}: unknown setting {unknown[0]!r} (known: {', '.join(sorted(_KEYS))})")
    filters = table.get("filters", [])
    if not isinstance(filters, list) or not all(isinstance(f, str) for f in filters):
        raise InputError(f"{path}: 'filters' must be a list of paths")
    fmt = table.get("format")
    if fmt not in (None, "legacy", "unified"):
        raise InputError(f"{path}: 'format' must be \"legacy\" or \"unified\", not {fmt!r}")
    return Settings(path, tuple((path.parent / f).resolve() for f in filters), fmt)
