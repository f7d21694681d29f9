"""The provenance sidecar: which inputs (tests, nodes, processes) contributed each entry."""

from __future__ import annotations

from typing import Any

from metadata_pipeline.core.labels import entry_label
from metadata_pipeline.core.merge import Provenance

__all__ = ["provenance_document"]

FORMAT_VERSION = 1


def provenance_document(provenance: Provenance, inputs: list[str]) -> dict[str, Any]:
    """A stable JSON document: entries sorted by category, then by their label."""
    entries = sorted(
        ({"category": category, "entry": entry_label(category, identity), "sources": list(sources)}
         for (category, identity), sources in provenance.sources.items()),
        key=lambda e: (e["category"], e["entry"]),
    )
    return {"version": FORMAT_VERSION, "inputs": sorted(inputs), "entries": entries}
