"""The provenance sidecar: which inputs (tests, nodes, processes) contributed each entry.

Its JSON::

    {"version": 1,
     "inputs": ["<test dir>/<node>/<process>", ...],
     "entries": [{"category": "reflection", "entry": "byte[]", "legacy_name": "[B",
                  "sources": ["<test dir>/<node>/<process>", ...]}, ...]}

``entry`` names an entry as diff and lint do, with source names for types
(``java.lang.String[]``, as reachability-metadata.json spells them). Array types of reflection,
JNI and serialization entries also carry ``legacy_name``, the JVM descriptor the legacy files
(reflect-config.json, ...) spell them with (``[Ljava.lang.String;``), so either spelling can
be searched for.
"""

from __future__ import annotations

from typing import Any, Iterable

from metadata_pipeline.core.labels import entry_label
from metadata_pipeline.core.merge import Provenance, keys_of
from metadata_pipeline.core.model import Metadata
from metadata_pipeline.core.names import descriptor_name, is_array

__all__ = ["provenance_document"]

FORMAT_VERSION = 1
_TYPED = ("reflection", "jni", "serialization")  # categories whose identity starts with the type


def _entry(category: str, identity: tuple, sources: Iterable[str]) -> dict[str, Any]:
    doc: dict[str, Any] = {"category": category, "entry": entry_label(category, identity)}
    type_ref = identity[0] if category in _TYPED else None
    if isinstance(type_ref, str) and is_array(type_ref):
        doc["legacy_name"] = descriptor_name(type_ref)
    doc["sources"] = list(sources)
    return doc


def provenance_document(provenance: Provenance, inputs: list[str], metadata: Metadata) -> dict[str, Any]:
    """A stable JSON document for the entries of ``metadata`` (what was written, after filters)."""
    kept = set(keys_of(metadata))
    entries = sorted(
        (_entry(category, identity, sources)
         for (category, identity), sources in provenance.sources.items() if (category, identity) in kept),
        key=lambda e: (e["category"], e["entry"]),
    )
    return {"version": FORMAT_VERSION, "inputs": sorted(inputs), "entries": entries}
