"""Decoding one metadata file's bytes, stricter than JSON parsers are.

The merge's reader (``fastload``) decodes with it, as do ``read_json`` and everything else that
reads a file whole.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import orjson

from metadata_pipeline.core.errors import InvalidMetadata
from metadata_pipeline.core.parse import MAX_DEPTH, too_deep

__all__ = ["decode_json"]


def decode_json(data: bytes, path: Path) -> object:
    """Decode one file's bytes; a malformed or truncated file is an ``InvalidMetadata`` saying where.

    Stricter than orjson alone, each with a JSON pointer: a key given twice in one object;
    nesting deeper than ``MAX_DEPTH`` where orjson cannot even write the value back (shallower
    excess the parser rejects by shape, ``foreign`` entries and the schemas by depth); in
    files with ``foreign`` entries (kept verbatim) an integer beyond 64 bits, which orjson would
    turn into a float.
    """
    if not data.strip():
        raise InvalidMetadata("empty file (an agent killed while writing leaves these)", "", str(path))
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        truncated = " (truncated: was the agent killed mid-write?)" if exc.pos >= len(data.rstrip()) else ""
        raise InvalidMetadata(f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}{truncated}",
                              "", str(path)) from None
    try:
        text = orjson.dumps(doc)
    except orjson.JSONEncodeError:  # orjson writes at most 254 levels: deeper than we allow anyway
        text = None
    # A key given twice leaves one ':' fewer after decoding: cheap to see, exact to locate. (A
    # ':' written as \u003a would hide one, so such files are always checked the slow way.)
    if text is None or text.count(b":") != data.count(b":") or b"\\u003" in data:
        deep = too_deep(doc)
        if deep is not None:
            raise InvalidMetadata(f"nested more than {MAX_DEPTH} levels deep", deep, str(path))
        duplicate = _duplicate_key(data)
        if duplicate is not None:
            raise InvalidMetadata(duplicate[1], duplicate[0], str(path))
    if b'"foreign"' in data and too_deep(doc) is None:
        # Bounded nesting by now: the stdlib decoder cannot recurse out.
        doc = json.loads(data, parse_int=_int64)
        big = _pointer_of(doc, lambda v: type(v) is _OutOfRange)
        if big is not None:
            raise InvalidMetadata("integer does not fit in 64 bits", big, str(path))
    return doc


class _OutOfRange(int):
    """An integer beyond 64 bits: native-image cannot read it, orjson would make it a float."""


def _int64(text: str) -> int:
    value = int(text)
    return value if -2**63 <= value < 2**64 else _OutOfRange(value)


class _Duplicated(dict):
    """A decoded object that had ``key`` twice."""

    key = ""


def _pairs(items: list) -> dict:
    out = dict(items)
    if len(out) == len(items):
        return out
    seen: set[str] = set()
    dup = _Duplicated(out)
    dup.key = next(k for k, _ in items if k in seen or seen.add(k))
    return dup


def _duplicate_key(data: bytes) -> tuple[str, str] | None:
    """(JSON pointer, problem) of the first key given twice in one object (error path only)."""
    found: list[_Duplicated] = []
    pointer = _pointer_of(json.loads(data, object_pairs_hook=_pairs),
                          lambda v: type(v) is _Duplicated and not found.append(v))
    if pointer is None:
        return None
    key = found[0].key
    shown = key if len(key) <= 80 else f"{key[:80]}... ({len(key)} characters)"
    return pointer, f"duplicate key {shown!r} (JSON objects need unique keys)"


def _pointer_of(doc: object, hit: Callable[[object], bool]) -> str | None:
    """JSON pointer of the first value (in document order) for which ``hit`` holds."""
    stack: list[tuple[object, str]] = [(doc, "")]
    while stack:
        value, pointer = stack.pop()
        if hit(value):
            return pointer or "/"
        if isinstance(value, dict):
            items = [(f"{pointer}/{k.replace('~', '~0').replace('/', '~1')[:80]}", v) for k, v in value.items()]
        elif isinstance(value, list):
            items = [(f"{pointer}/{i}", v) for i, v in enumerate(value)]
        else:
            continue
        stack.extend((v, p) for p, v in reversed(items))
    return None
