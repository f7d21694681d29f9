"""The shapes of reflection and JNI entries, for decoding an entry and checking its shape in one pass.

msgspec decodes entry text straight into these Structs and, in C and in the same pass, checks
what the JSON schemas say of an entry's shape: known keys only; a string, a boolean or an
array where one goes; no null standing for an absent value. What a shape cannot say (a type
name well-formed, exactly one condition key, ``name`` or ``type``) the parser checks after
(``parse``).

A text these shapes refuse is not wrong for that: the reader then reads its file the general
way, whose parser says what is wrong and where, or accepts it. The one thing a shape loses is a
member written as its default (a flag ``false``), left out when encoded: ``decode_shaped``
notices, as it notices a key given twice, by counting keys, and refuses the text.

Shapes hold no reference cycles, so none is tracked by the cyclic GC (``gc=False``): cheaper to
make and to free, by the hundred thousand.
"""

from __future__ import annotations

from typing import Callable, Union

import msgspec
from msgspec import UNSET, Struct, UnsetType

from metadata_pipeline.core.model import ACCESS_FLAGS, QUERY_FLAGS, UNIFIED_FLAGS

__all__ = ["MethodShape", "FieldShape", "TypeObjectShape", "LegacyTypeShape", "UnifiedTypeShape",
           "LEGACY_FLAG_FIELDS", "UNIFIED_FLAG_FIELDS", "Refused", "decode_shaped", "canonical_text", "UNSET"]


class Refused(Exception):
    """Entry texts that are not plainly strict JSON of their shape: read the file the general way."""


class MethodShape(Struct, forbid_unknown_fields=True, gc=False):
    name: str
    parameterTypes: Union[tuple[str, ...], UnsetType] = UNSET


class FieldShape(Struct, forbid_unknown_fields=True, omit_defaults=True, gc=False):
    name: str
    allowWrite: bool = False
    allowUnsafeAccess: bool = False


class _LambdaShape(Struct, forbid_unknown_fields=True):
    declaringClass: str
    interfaces: tuple[str, ...]
    declaringMethod: Union[MethodShape, UnsetType] = UNSET


class TypeObjectShape(Struct, forbid_unknown_fields=True, rename={"lambda_": "lambda"}):
    """A ``type`` written as an object: a proxy or (unified) a lambda; the parser checks which."""

    proxy: Union[tuple[str, ...], UnsetType] = UNSET
    lambda_: Union[_LambdaShape, UnsetType] = UNSET


class _LegacyConditionShape(Struct, forbid_unknown_fields=True, gc=False):
    typeReachable: Union[str, UnsetType] = UNSET
    typeReached: Union[str, UnsetType] = UNSET


class _UnifiedConditionShape(Struct, forbid_unknown_fields=True, gc=False):
    typeReached: str


_Methods = Union[tuple[MethodShape, ...], UnsetType]
_Fields = Union[tuple[FieldShape, ...], UnsetType]
_TypeRef = Union[str, TypeObjectShape, UnsetType]

# The flags come last, in this order: ``astuple(entry)[-len(FLAGS):]`` are their values.
LEGACY_FLAG_FIELDS: tuple[str, ...] = tuple(sorted(frozenset(ACCESS_FLAGS) | QUERY_FLAGS))
UNIFIED_FLAG_FIELDS: tuple[str, ...] = tuple(sorted(UNIFIED_FLAGS | {"serializable", "jniAccessible"}))

LegacyTypeShape = msgspec.defstruct(
    "LegacyTypeShape",
    [("name", Union[str, UnsetType], UNSET), ("type", _TypeRef, UNSET),
     ("condition", Union[_LegacyConditionShape, UnsetType], UNSET),
     ("methods", _Methods, UNSET), ("queriedMethods", _Methods, UNSET), ("fields", _Fields, UNSET),
     ("reasons", Union[tuple[str, ...], UnsetType], UNSET),
     *((flag, bool, False) for flag in LEGACY_FLAG_FIELDS)],
    forbid_unknown_fields=True, omit_defaults=True, gc=False, module=__name__,
)

UnifiedTypeShape = msgspec.defstruct(
    "UnifiedTypeShape",
    [("type", Union[str, TypeObjectShape]),
     ("condition", Union[_UnifiedConditionShape, UnsetType], UNSET),
     ("methods", _Methods, UNSET), ("fields", _Fields, UNSET),
     ("reason", Union[str, tuple[str, ...], UnsetType], UNSET),
     *((flag, bool, False) for flag in UNIFIED_FLAG_FIELDS)],
    forbid_unknown_fields=True, omit_defaults=True, gc=False, module=__name__,
)

# A value's canonical text: compact, keys in the order given (a shape's: its own, absent members
# left out). The reader keys entries by it, the parser method lists. msgspec's encoder, not
# orjson's: orjson.dumps takes 2.5 us a call for a small value (a fresh output buffer each
# time), msgspec's 0.4 us (measured).
canonical_text: Callable[[object], bytes] = msgspec.json.Encoder().encode

_ONE = {shape: msgspec.json.Decoder(shape) for shape in (LegacyTypeShape, UnifiedTypeShape)}
_ALL = {shape: msgspec.json.Decoder(list[shape]) for shape in (LegacyTypeShape, UnifiedTypeShape)}


def decode_shaped(chunks: list[bytes], braced: bool, shape: type) -> tuple[list, list[bytes]]:
    """(the entries, their canonical texts) of raw entry texts, each whole (``braced``: an
    element msgspec found whole) or without its braces; ``Refused`` unless every one is
    plainly strict JSON of ``shape``.

    Whole elements are decoded in one call. Texts without braces are decoded one by one: only
    each alone being one object proves the split that made them was exact. Every entry a reader
    skips as known went through here once (or through the general way), so what is checked
    here holds for every entry of every file.
    """
    text = b"".join(chunks)
    if text.find(b"\\u003") >= 0:  # an escaped ':' would fool the count below
        raise Refused
    try:
        if braced:
            entries = _ALL[shape].decode(b"[" + b",".join(chunks) + b"]")
        else:
            decode = _ONE[shape].decode
            entries = [decode(b"{" + chunk + b"\n}") for chunk in chunks]
    except msgspec.DecodeError:  # malformed, or not of the shape (ValidationError is one)
        raise Refused from None
    texts = list(map(canonical_text, entries))
    # A key given twice, or a flag written false, leaves one ':' fewer once encoded. Counted in
    # the texts joined, which adds none: one call, not one a text.
    if len(entries) != len(chunks) or text.count(b":") != b"".join(texts).count(b":"):
        raise Refused
    return entries, texts
