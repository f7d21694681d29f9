"""The provenance sidecar: which inputs (tests, nodes, processes) contributed each entry."""

from __future__ import annotations

from typing import Any

from metadata_pipeline.core.labels import entry_label
from metadata_pipeline.core.merge import Provenance, keys_of
from metadata_pipeline.core.model import Metadata

__all__ = ["provenance_document"]

FORMAT_VERSION = 1


def provenance_document(provenance: Provenance, inputs: list[str], metadata: Metadata) -> dict[str, Any]:
    """A stable JSON document for the entries of ``metadata`` (what was written, after filters)."""
    kept = set(keys_of(metadata))
    entries = sorted(
        ({"category": category, "entry": entry_label(category, identity), "sources": list(sources)}
         for (category, identity), sources in provenance.sources.items() if (category, identity) in kept),
        key=lambda e: (e["category"], e["entry"]),
    )
    return {"version": FORMAT_VERSION, "inputs": sorted(inputs), "entries": entries}
