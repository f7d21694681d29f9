"""Read the index of a JDK's module image (``$JAVA_HOME/lib/modules``, the "jimage" file).

Layout (the format every JDK since 9 writes, version 1.0; see ``jdk.internal.jimage``):
a 28-byte header (magic ``0xCAFEDADA`` in the writer's byte order, version, flags,
resource count, table length, locations size, strings size), a redirect table and an
offsets table of ``table length`` 32-bit words, the location attributes, then the string
table. Each location is a run of attributes; an attribute byte holds ``kind << 3 |
(length - 1)`` followed by a big-endian value. Module, parent (package path), base and
extension are offsets into the string table; ``offset`` points past the index to the
resource's bytes. Only the index (a few MB at the start of the file) is read.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ImageEntry", "ImageIndex", "JImageFormatError", "read_image_index", "read_image_resource"]

_MAGIC = 0xCAFEDADA
_SUPPORTED_MAJOR = 1
_HEADER = struct.Struct("7I")
_END, _MODULE, _PARENT, _BASE, _EXTENSION, _OFFSET, _COMPRESSED, _UNCOMPRESSED = range(8)
# Locations the image keeps for its own directory tree, not resources of a module.
_SYNTHETIC_MODULES = frozenset({"", "modules", "packages"})


class JImageFormatError(ValueError):
    """The file is not a module image of a version this reader knows."""


@dataclass(frozen=True, slots=True)
class ImageEntry:
    module: str
    name: str  # resource path inside the module: ``java/lang/Object.class``
    offset: int  # relative to the end of the index
    compressed_size: int  # 0: stored as is
    size: int


@dataclass(frozen=True, slots=True)
class ImageIndex:
    path: Path
    index_size: int
    entries: tuple[ImageEntry, ...]


def read_image_index(path: Path) -> ImageIndex:
    with path.open("rb") as image:
        head = image.read(_HEADER.size)
        if len(head) < _HEADER.size:
            raise JImageFormatError(f"{path}: too short for a module image")
        order = _byte_order(head, path)
        _magic, version, _flags, _count, table_length, locations_size, strings_size = struct.unpack(
            order + "7I", head)
        if version >> 16 != _SUPPORTED_MAJOR:
            raise JImageFormatError(
                f"{path}: module image version {version >> 16}.{version & 0xFFFF} is not supported")
        image.seek(_HEADER.size + 4 * table_length)  # the redirect table only serves hashed lookups
        offsets_raw = image.read(4 * table_length)
        locations = image.read(locations_size)
        strings = image.read(strings_size)
    if len(strings) < strings_size or len(offsets_raw) < 4 * table_length:
        raise JImageFormatError(f"{path}: module image index is truncated")
    index_size = _HEADER.size + 8 * table_length + locations_size + strings_size
    try:
        entries = _entries(struct.unpack(f"{order}{table_length}I", offsets_raw), locations, strings)
    except (IndexError, ValueError):
        raise JImageFormatError(f"{path}: module image index is corrupt") from None
    return ImageIndex(path, index_size, tuple(entries))


def _entries(offsets: tuple[int, ...], locations: bytes, strings: bytes) -> list[ImageEntry]:
    text_at = _StringTable(strings)
    entries = []
    for location in offsets:
        attributes = _attributes(locations, location)
        module = text_at(attributes[_MODULE])
        if module in _SYNTHETIC_MODULES:
            continue
        parent = text_at(attributes[_PARENT])
        extension = text_at(attributes[_EXTENSION])
        name = text_at(attributes[_BASE])
        if parent:
            name = f"{parent}/{name}"
        if extension:
            name = f"{name}.{extension}"
        entries.append(ImageEntry(module, name, attributes[_OFFSET], attributes[_COMPRESSED],
                                  attributes[_UNCOMPRESSED]))
    return entries


def read_image_resource(index: ImageIndex, entry: ImageEntry) -> bytes | None:
    """The resource's bytes, or ``None`` when the image stores it compressed (jlink
    ``--compress``): decompressing needs the image's plugins, which this reader lacks."""
    if entry.compressed_size:
        return None
    with index.path.open("rb") as image:
        image.seek(index.index_size + entry.offset)
        data = image.read(entry.size)
    if len(data) != entry.size:
        raise JImageFormatError(f"{index.path}: resource {entry.module}/{entry.name} is truncated")
    return data


def _byte_order(head: bytes, path: Path) -> str:
    # The writer uses its platform's byte order; the magic number tells which.
    for order in ("<", ">"):
        if struct.unpack_from(order + "I", head)[0] == _MAGIC:
            return order
    raise JImageFormatError(f"{path}: not a module image (bad magic number)")


def _attributes(locations: bytes, start: int) -> list[int]:
    values = [0] * 8
    pos = start
    while True:
        byte = locations[pos]
        kind = byte >> 3
        if kind == _END:
            return values
        length = (byte & 7) + 1
        if kind < 8:
            values[kind] = int.from_bytes(locations[pos + 1:pos + 1 + length], "big")
        pos += 1 + length


class _StringTable:
    """NUL-terminated (modified) UTF-8 strings, decoded once per offset: packages repeat."""

    def __init__(self, strings: bytes) -> None:
        self._strings = strings
        self._decoded: dict[int, str] = {}

    def __call__(self, offset: int) -> str:
        text = self._decoded.get(offset)
        if text is None:
            end = self._strings.index(b"\0", offset)
            text = self._strings[offset:end].decode("utf-8", "surrogateescape")
            self._decoded[offset] = text
        return text
