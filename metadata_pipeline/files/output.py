"""What every command does with the metadata it writes or reports."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

from metadata_pipeline.core.kinds import kind_of_file
from metadata_pipeline.core.model import Metadata
from metadata_pipeline.errors import FatalError, UsageError
from metadata_pipeline.files.fsio import refuse_replacing_cwd, resolve_output
from metadata_pipeline.files.schema import conforms, schema_errors

__all__ = ["check_output_schema", "refuse_unsafe_paths", "summary_line"]

_SUMMARY = (("reflection", "reflection type", "reflection types"), ("jni", "JNI type", "JNI types"),
            ("resource_globs", "resource", "resources"), ("resource_patterns", "resource pattern", "resource patterns"),
            ("bundles", "bundle", "bundles"), ("proxies", "proxy", "proxies"),
            ("serialization", "serialization type", "serialization types"),
            ("predefined_classes", "predefined class", "predefined classes"))


def check_output_schema(docs: dict[str, Any]) -> None:
    """Every output is checked whole against its schema before it is written; a failure is our bug.

    jsonschema-rs checks a 23 k-type reflect-config in ~25 ms; jsonschema, at ~80 us an entry, would take 2 s.
    """
    for name, doc in docs.items():
        kind = kind_of_file(name)
        assert kind is not None, name
        if conforms(kind, doc):  # our writer's nesting is fixed: no depth check needed first
            continue
        errors = schema_errors(kind, doc)
        if errors:
            raise FatalError(f"internal error: generated {name} fails its schema: {errors[0]} (please report)")


def refuse_unsafe_paths(output: str, inputs: Sequence[str], provenance: str | None) -> None:
    """Refuse, before anything is read, an output that replacing would destroy inputs with.

    OUTDIR is replaced whole: it may not be, hold or lie inside an input (the next merge would
    read it), the working directory or a directory holding it, or "/". The provenance file may
    not be or lie inside an input or OUTDIR. Paths are compared resolved (symlinks followed).
    """
    if output == "":
        raise UsageError("-o '': empty path (name the config directory to write)")
    if provenance == "":
        raise UsageError("--provenance '': empty path")
    target = resolve_output(output)
    try:
        refuse_replacing_cwd(target, output)
    except FatalError as exc:
        raise UsageError(exc.message) from None
    if target.exists() and not target.is_dir():
        raise UsageError(f"{output}: exists and is not a directory (-o names the config directory to write)")
    sources = [(raw, Path(os.path.realpath(raw))) for raw in inputs]
    for raw, source in sources:
        if source == target:
            raise UsageError(f"{output}: is an input: merge replaces OUTDIR, which would destroy {raw}")
        if source.is_relative_to(target):
            raise UsageError(f"{output}: contains input {raw}: merge replaces OUTDIR, which would destroy it")
        if target.is_relative_to(source):
            raise UsageError(f"{output}: lies inside input {raw}: the next merge would read its own output")
    if provenance is None:
        return
    side = Path(os.path.realpath(provenance))
    if side == target:
        raise UsageError(f"--provenance {provenance}: is the output directory")
    if side.is_relative_to(target):
        raise UsageError(f"--provenance {provenance}: lies inside the output directory, which merge replaces")
    for raw, source in sources:
        if side == source:
            raise UsageError(f"--provenance {provenance}: is an input ({raw}); it would be overwritten")
        if side.is_relative_to(source):
            raise UsageError(f"--provenance {provenance}: lies inside input {raw}; write it beside the inputs")
    if side.is_dir():
        raise UsageError(f"--provenance {provenance}: is a directory")


def summary_line(metadata: Metadata) -> str:
    counts = metadata.counts()
    return ", ".join(f"{counts[key]} {one if counts[key] == 1 else many}"
                     for key, one, many in _SUMMARY if counts[key]) or "no entries"
