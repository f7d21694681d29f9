"""What every command does with the metadata it writes or reports."""

from __future__ import annotations

import json

from metadata_pipeline.core.kinds import kind_of_file
from metadata_pipeline.core.model import Metadata
from metadata_pipeline.errors import FatalError
from metadata_pipeline.schema import schema_errors

__all__ = ["check_output_schema", "summary_line"]

_SUMMARY = (("reflection", "reflection types"), ("jni", "JNI types"), ("resource_globs", "resources"),
            ("resource_patterns", "resource patterns"), ("bundles", "bundles"), ("proxies", "proxies"),
            ("serialization", "serialization types"), ("predefined_classes", "predefined classes"))


def check_output_schema(files: dict[str, str]) -> None:
    """Every output goes through jsonschema before it is written; a failure is our bug."""
    for name, text in files.items():
        kind = kind_of_file(name)
        assert kind is not None, name
        errors = schema_errors(kind, json.loads(text))
        if errors:
            raise FatalError(f"internal error: generated {name} fails its schema: {errors[0]} (please report)")


def summary_line(metadata: Metadata) -> str:
    counts = metadata.counts()
    return ", ".join(f"{counts[key]} {label}" for key, label in _SUMMARY if counts[key]) or "no entries"
