"""JSON-schema validation with the project's own schemas (``metadata_pipeline/schemas``).

``validate`` and every written output go through the schemas. The merge's hot path uses the
parser's equivalent checks instead (see ``core/parse.py``); ``merge --strict-schema`` checks
every input against the schemas as well.

Two validators, one verdict: jsonschema-rs (compiled, ~100x faster) says whether a document
conforms; jsonschema explains why one does not (its messages, its best match of a oneOf).
tests/test_schemas.py checks that the two agree.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from metadata_pipeline.core.errors import InvalidMetadata
from metadata_pipeline.core.kinds import FileKind
from metadata_pipeline.core.parse import MAX_DEPTH, TYPE_NAME_PATTERN, too_deep

__all__ = ["schema_for", "conforms", "schema_errors", "check_schema"]


@lru_cache(maxsize=None)
def schema_for(kind: FileKind) -> dict[str, Any]:
    name = ("reachability-metadata" if kind is FileKind.UNIFIED else f"{kind.value}-config") + ".schema.json"
    return json.loads(resources.files("metadata_pipeline.schemas").joinpath(name).read_text(encoding="utf-8"))


@lru_cache(maxsize=None)
def _validator(kind: FileKind):
    from jsonschema import Draft202012Validator  # deferred: quick commands should not pay for it

    # The schemas are the project's own files: tests/test_schemas.py checks them against the
    # metaschema once, instead of every run paying ~0.3 s for it.
    return Draft202012Validator(schema_for(kind))


@lru_cache(maxsize=None)
def _fast_validator(kind: FileKind):
    import jsonschema_rs  # deferred, as jsonschema is

    return jsonschema_rs.Draft202012Validator(schema_for(kind))


def conforms(kind: FileKind, data: Any) -> bool:
    """True when jsonschema-rs finds ``data`` valid; False when it does not, or cannot take it in.

    It cannot take in a lone surrogate (``"\\ud800"`` decodes to one, and the schemas allow it):
    False then sends the caller to jsonschema, which decides. ``data`` must be bounded in depth
    (our outputs are; ``schema_errors`` checks inputs first).
    """
    try:
        return _fast_validator(kind).is_valid(data)
    except ValueError:
        return False


_MESSAGE_MAX = 200  # jsonschema quotes the whole offending value: a 10 MB string would be one line


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _pointer(path: Any) -> str:
    return "/" + "/".join(_short(str(p).replace("~", "~0").replace("/", "~1"), 80) for p in path) if path else "/"


def schema_errors(kind: FileKind, data: Any) -> list[InvalidMetadata]:
    """Every schema violation, deepest entry first within each top-level entry.

    Nesting is bounded first (``MAX_DEPTH``): both validators recurse once per level.
    """
    deep = too_deep(data)
    if deep is not None:
        return [InvalidMetadata(f"nested more than {MAX_DEPTH} levels deep", deep)]
    if conforms(kind, data):
        return []
    errors = sorted(_validator(kind).iter_errors(data), key=lambda e: (list(map(str, e.absolute_path)), -len(e.absolute_path)))
    out = []
    for error in errors:
        # oneOf failures say "is not valid under any of the given schemas"; the best match says why.
        from jsonschema.exceptions import best_match

        best = best_match([error]) if error.context else error
        if best.validator == "pattern" and best.validator_value == TYPE_NAME_PATTERN:
            message = f"{_short(repr(best.instance), 80)} is not a type name (empty, a NUL, or a malformed array descriptor)"
        else:
            message = _short(best.message, _MESSAGE_MAX)
        out.append(InvalidMetadata(message, _pointer(best.absolute_path)))
    return out


def check_schema(kind: FileKind, data: Any, path: Path) -> None:
    """Raise the first schema violation, located in ``path`` (for ``merge --strict-schema``)."""
    errors = schema_errors(kind, data)
    if errors:
        raise errors[0].located(str(path))
