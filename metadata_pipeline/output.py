"""What every command does with the metadata it writes or reports."""

from __future__ import annotations

from typing import Any

from metadata_pipeline.core.kinds import kind_of_file
from metadata_pipeline.core.model import Metadata
from metadata_pipeline.errors import FatalError
from metadata_pipeline.schema import schema_errors

__all__ = ["check_output_schema", "summary_line"]

_SUMMARY = (("reflection", "reflection type", "reflection types"), ("jni", "JNI type", "JNI types"),
            ("resource_globs", "resource", "resources"), ("resource_patterns", "resource pattern", "resource patterns"),
            ("bundles", "bundle", "bundles"), ("proxies", "proxy", "proxies"),
            ("serialization", "serialization type", "serialization types"),
            ("predefined_classes", "predefined class", "predefined classes"))


# Arrays longer than this are validated one entry per distinct shape (see below).
_FULL_VALIDATION_LIMIT = 1000


def _shape(value: Any) -> Any:
    """Keys, JSON types and emptiness of a value, recursively: what our schemas constrain.

    Key order is kept (our writer's order is fixed), which can only split a shape in two,
    never join two shapes that differ.
    """
    t = type(value)
    if t is dict:
        return tuple([(k, _shape(v)) for k, v in value.items()])
    if t is list:
        return frozenset(map(_shape, value)) if value else "[]"
    return t


def _representatives(entries: list) -> list:
    if len(entries) <= _FULL_VALIDATION_LIMIT:
        return entries
    by_shape: dict[Any, Any] = {}
    for entry in entries:
        by_shape.setdefault(_shape(entry), entry)
    return list(by_shape.values())


def check_output_schema(docs: dict[str, Any]) -> None:
    """Every output goes through jsonschema before it is written; a failure is our bug.

    jsonschema costs ~80 us per reflection entry, more than the whole merge of it; for the
    long arrays of large outputs it therefore checks one entry of every distinct shape (same
    keys, JSON types and emptiness at every level). The reflect/jni/unified schemas
    constrain exactly those, so an entry is valid iff its shape's representative is; value
    constants (the predefined-classes ``type``) sit in arrays short enough to check whole.
    """
    for name, doc in docs.items():
        kind = kind_of_file(name)
        assert kind is not None, name
        if isinstance(doc, list):
            doc = _representatives(doc)
        elif isinstance(doc, dict):
            doc = {k: _representatives(v) if isinstance(v, list) else v for k, v in doc.items()}
        errors = schema_errors(kind, doc)
        if errors:
            raise FatalError(f"internal error: generated {name} fails its schema: {errors[0]} (please report)")


def summary_line(metadata: Metadata) -> str:
    counts = metadata.counts()
    return ", ".join(f"{counts[key]} {one if counts[key] == 1 else many}"
                     for key, one, many in _SUMMARY if counts[key]) or "no entries"
