"""Read a class's declared members from its class file (JVMS chapter 4), nothing more.

Only the constant pool, the field table and the method table are walked; attributes and
code are skipped by length. That is enough to tell whether a class found elsewhere on the
classpath declares the same members as a stale entry (a moved class), and it costs one
``struct`` pass over a few kilobytes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

__all__ = ["MethodSignature", "ClassMembers", "ClassFormatError", "read_members", "parameter_types"]

_MAGIC = 0xCAFEBABE
# Constant-pool tag -> fixed size of its payload (Utf8 is variable: u2 length + bytes).
_FIXED_SIZE = {3: 4, 4: 4, 5: 8, 6: 8, 7: 2, 8: 2, 9: 4, 10: 4, 11: 4, 12: 4,
               15: 3, 16: 2, 17: 4, 18: 4, 19: 2, 20: 2}
_UTF8, _LONG, _DOUBLE = 1, 5, 6
_PRIMITIVE_BY_CODE = {
    "B": "byte", "C": "char", "D": "double", "F": "float",
    "I": "int", "J": "long", "S": "short", "Z": "boolean", "V": "void",
}


class ClassFormatError(ValueError):
    """Bytes that are not a class file this parser understands."""


@dataclass(frozen=True, slots=True, order=True)
class MethodSignature:
    """A declared method (``<init>`` for constructors) with source-form parameter types."""

    name: str
    parameter_types: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ClassMembers:
    """What a class file declares: its methods (no ``<clinit>``) and its fields' names."""

    methods: frozenset[MethodSignature]
    fields: frozenset[str]

    @property
    def method_names(self) -> frozenset[str]:
        return frozenset(method.name for method in self.methods)


def read_members(data: bytes) -> ClassMembers:
    try:
        return _read_members(data)
    except (struct.error, IndexError, UnicodeDecodeError) as error:
        raise ClassFormatError(f"truncated or malformed class file ({error})") from None


def _read_members(data: bytes) -> ClassMembers:
    magic, _minor, _major, pool_count = struct.unpack_from(">IHHH", data, 0)
    if magic != _MAGIC:
        raise ClassFormatError("not a class file (bad magic number)")
    utf8: dict[int, bytes] = {}
    pos = 10
    index = 1
    while index < pool_count:
        tag = data[pos]
        if tag == _UTF8:
            (length,) = struct.unpack_from(">H", data, pos + 1)
            utf8[index] = data[pos + 3:pos + 3 + length]
            pos += 3 + length
        elif tag in _FIXED_SIZE:
            pos += 1 + _FIXED_SIZE[tag]
        else:
            raise ClassFormatError(f"unknown constant-pool tag {tag} at entry {index}")
        # Long and Double take two pool slots (JVMS 4.4.5).
        index += 2 if tag in (_LONG, _DOUBLE) else 1
    pos += 6  # access_flags, this_class, super_class
    (interface_count,) = struct.unpack_from(">H", data, pos)
    pos += 2 + 2 * interface_count

    def text(index: int) -> str:
        if index not in utf8:
            raise ClassFormatError(f"constant-pool entry {index} is not a UTF-8 string")
        return _modified_utf8(utf8[index])

    fields: set[str] = set()
    methods: set[MethodSignature] = set()
    for is_method in (False, True):
        (count,) = struct.unpack_from(">H", data, pos)
        pos += 2
        for _ in range(count):
            _access, name_index, descriptor_index, attribute_count = struct.unpack_from(">HHHH", data, pos)
            pos += 8
            for _ in range(attribute_count):
                (length,) = struct.unpack_from(">I", data, pos + 2)
                pos += 6 + length
            name = text(name_index)
            if not is_method:
                fields.add(name)
            elif name != "<clinit>":  # static initialisers cannot be reflected on
                methods.add(MethodSignature(name, parameter_types(text(descriptor_index))))
    if pos > len(data):
        raise ClassFormatError("class file ends inside its method table")
    return ClassMembers(frozenset(methods), frozenset(fields))


def parameter_types(descriptor: str) -> tuple[str, ...]:
    """``(I[BLjava/lang/String;[[J)V`` -> ``("int", "byte[]", "java.lang.String", "long[][]")``."""
    try:
        return _parameter_types(descriptor)
    except (IndexError, ValueError):
        raise ClassFormatError(f"malformed method descriptor {descriptor!r}") from None


def _parameter_types(descriptor: str) -> tuple[str, ...]:
    if not descriptor.startswith("("):
        raise ValueError(descriptor)
    params = descriptor[1:descriptor.index(")")]
    types: list[str] = []
    pos = 0
    while pos < len(params):
        dims = 0
        while params[pos] == "[":
            dims += 1
            pos += 1
        code = params[pos]
        if code == "L":
            end = params.index(";", pos)
            element = params[pos + 1:end].replace("/", ".")
            pos = end + 1
        elif code in _PRIMITIVE_BY_CODE and code != "V":
            element = _PRIMITIVE_BY_CODE[code]
            pos += 1
        else:
            raise ValueError(descriptor)
        types.append(element + "[]" * dims)
    return tuple(types)


def _modified_utf8(raw: bytes) -> str:
    """Decode the JVM's modified UTF-8 (NUL as C0 80, supplementary chars as surrogate pairs)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.replace(b"\xc0\x80", b"\x00").decode("utf-8", "surrogatepass")
        return text.encode("utf-16", "surrogatepass").decode("utf-16")
