"""Reading many agent outputs fast: skip what an earlier input already said.

Per-test collection yields hundreds of config dirs that mostly repeat each other: every
broker JVM reflects on the same classes in every test, and the agent writes an entry the
same way each time. Checking each repeat would cost far more than the merge, so this reader
remembers what it has seen:

- the big arrays (legacy reflect/jni files, the unified ``reflection`` array) are split as
  text into their entries, at C speed: the agent's layout (and the same indented) and the
  two-space layout of GraalVM's ``reachability-metadata.json`` at their separators (the rest
  of that file is decoded whole, the array cut out), a legacy array in any other layout by
  msgspec's decoder, which checks its syntax and hands each entry over as text. An entry
  whose text was seen before is skipped undecoded, building no Python object at all; a new
  text is decoded into its shape, which checks most of it in the same pass
  (``core.entry_shapes``), and skipped too when its value was seen before, in any layout
  (keyed by its canonical text); only the rest are checked further and added;
- any other file is skipped whole when identical to one already read, else decoded once
  (orjson) and the entries of its big arrays keyed by their value.

Skipping is exact, not a heuristic: an entry's text or value equal to one decoded and checked
before is that entry, and the merge is idempotent.
"""

from __future__ import annotations

import gc
import hashlib
import re
from contextlib import contextmanager
from functools import lru_cache
from itertools import compress
from operator import itemgetter, not_
from pathlib import Path
from typing import Any, Iterable, Iterator, NamedTuple

import msgspec

from metadata_pipeline.core.entry_shapes import LegacyTypeShape, Refused, UnifiedTypeShape, canonical_text, decode_shaped
from metadata_pipeline.core.errors import InvalidMetadata
from metadata_pipeline.core.kinds import FileKind
from metadata_pipeline.core.merge import Accumulator, EntryKey
from metadata_pipeline.core.parse import add_to
from metadata_pipeline.files.decode import decode_json

__all__ = ["DedupingReader", "RawEntries", "paused_gc", "raw_entries"]


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection inside: for building and writing large acyclic structures.

    A merge allocates millions of small objects and no cycles; the collector would rescan
    them again and again (a third of merge time, measured) and could free nothing. On the way
    out they are frozen, so the first collection after does not walk them all once more;
    reference counting still frees them as usual.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


# How a file's entries reach the memo: split text without braces, whole element texts
# (``RawEntries.braced``), or decoded values (a file read whole). Texts are keyed per mode, each
# its own key space (an entry's text without its braces could equal another's whole text);
# every decoded entry is also keyed by its value, as canonical text, in one key space for all
# modes: an entry read in one layout is known in every other.
_SPLIT, _ELEMENTS, _VALUE = "split", "elements", "value"


def _split_entries(text: bytes, indent: bytes, outer: bytes = b"") -> list[bytes] | None:
    """The entries of a top-level array of objects laid out one per block at ``indent``.

    ``[\n{..\n},\n{..\n}\n]`` (the agent's layout, indent ``b""``), two-space indented, and
    orjson's own ``OPT_INDENT_2`` output alike, with JSON whitespace around it. Strings cannot
    hold a raw newline, so the separator can only stand between top-level entries: once every
    chunk decodes as an object, the split is exact.
    """
    head, tail = b"[\n" + indent + b"{", b"\n" + indent + b"}\n" + outer + b"]"
    start, end = 0, len(text)
    while start < end and text[start] in _WHITESPACE:  # a few bytes at most: no stripped copy
        start += 1
    while end > start and text[end - 1] in _WHITESPACE:
        end -= 1
    if not (text.startswith(head, start) and text.endswith(tail, 0, end)) or end - start < len(head) + len(tail):
        return None
    # Split the whole text and trim the two ends: no copy of the text first.
    chunks = _literal(b"\n" + indent + b"},\n" + indent + b"{").split(text)
    chunks[0] = chunks[0][start + len(head):]
    chunks[-1] = chunks[-1][:len(chunks[-1]) - (len(text) - end) - len(tail)]
    return chunks  # each is an entry without its braces


_WHITESPACE = b" \t\r\n"  # JSON's whitespace only (not a form feed)


@lru_cache(maxsize=None)
def _literal(text: bytes) -> re.Pattern[bytes]:
    """A separator to split at (or text to find), compiled: for 6 bytes or more, ``bytes.split``
    prepares its search once per piece it finds, and it and ``bytes.find`` search a long text
    more slowly than the regex engine does (measured: a fifth, and a third)."""
    return re.compile(re.escape(text))


class RawEntries(NamedTuple):
    """The entries of a top-level array as text, each whole (``braced``) or without its braces."""

    chunks: list[bytes]
    braced: bool


def raw_entries(data: bytes) -> RawEntries | None:
    """The top-level entries of a reflect/jni array, split as text: at the separators of one
    entry per block (the agent's layout, the same indented), else by msgspec's decoder (any
    layout); None when the text is no JSON array."""
    for indent in (b"", b"  ", b"    "):
        chunks = _split_entries(data, indent)
        if chunks is not None:
            return RawEntries(chunks, braced=False)
    try:
        # A syntax check of the array (strict as orjson: no trailing comma, JSON whitespace
        # only) that returns each element's exact span, undecoded.
        elements = _ARRAY_OF_RAW.decode(data)
    except (msgspec.DecodeError, RecursionError):  # malformed, no array at the top, or too deep
        return None  # the general decoder then says what and where
    return RawEntries(list(map(bytes, elements)), braced=True)


_ARRAY_OF_RAW = msgspec.json.Decoder(list[msgspec.Raw])


class _FileMemo:
    """The ``EntryMemo`` of one file: what the reader knows, plus what this file teaches.

    What the file teaches is kept apart until the whole file was read without error: a bad
    file adds nothing, not even to what is known. The array a file was split at (``split``:
    its section and mode) comes as raw texts: a text seen before is skipped undecoded, a new
    one is decoded here, and skipped when its value was seen before, in another layout. Every
    other array comes decoded, and is keyed by value alone.
    """

    __slots__ = ("_known", "_kind", "_learned", "_sections", "_split", "_values", "provenance")

    def __init__(self, known: dict[tuple, dict[bytes, tuple]], kind: FileKind, provenance: bool,
                 split: tuple[str, str] | None = None) -> None:
        self._known = known
        self._kind = kind
        self._split = split
        self._sections: list[tuple[str, str, list[bytes]]] = []  # (section, mode, keys)
        self._values: dict[int, bytes] = {}  # index -> canonical text, of the last section's new entries
        self._learned: dict[tuple, list[tuple[bytes, tuple]]] = {}  # key space -> (key, entry keys)
        self.provenance = provenance

    def unseen(self, section: str, entries: list) -> Iterable[tuple[int, Any]]:
        by_value = self._known.get((_VALUE, self._kind, section))
        if self._split is None or section != self._split[0]:
            keys = list(map(canonical_text, entries))
            indexes = _unknown(by_value, keys)
            self._sections.append((section, _VALUE, keys))
            self._values = dict(zip(indexes, map(keys.__getitem__, indexes)))
            return zip(indexes, map(entries.__getitem__, indexes))
        mode = self._split[1]
        self._sections.append((section, mode, entries))
        indexes = _unknown(self._known.get((mode, self._kind, section)), entries)
        if not indexes:
            return ()
        # all decoded (and their shape checked) before any is parsed
        decoded, values = decode_shaped(list(map(entries.__getitem__, indexes)), mode is _ELEMENTS,
                                        UnifiedTypeShape if self._kind is FileKind.UNIFIED else LegacyTypeShape)
        self._values = dict(zip(indexes, values))
        if by_value and any(map(by_value.__contains__, values)):
            # Known by value, from another layout: learned now, with what it was; not parsed again.
            self.learn(section, [(i, by_value[v]) for i, v in zip(indexes, values) if v in by_value])
            return [(i, d) for i, d, v in zip(indexes, decoded, values) if v not in by_value]
        return zip(indexes, decoded)

    def learn(self, section: str, learned: list[tuple[int, tuple]]) -> None:
        _, mode, keys = self._sections[-1]
        indexes, entry_keys = list(map(_FIRST, learned)), list(map(_SECOND, learned))
        by_value = self._learned.setdefault((_VALUE, self._kind, section), [])
        by_value.extend(zip(map(self._values.__getitem__, indexes), entry_keys))
        if mode is not _VALUE:
            by_text = self._learned.setdefault((mode, self._kind, section), [])
            by_text.extend(zip(map(keys.__getitem__, indexes), entry_keys))

    def commit(self) -> list[EntryKey]:
        """Remember what the file taught; the entry keys of all its memoised entries."""
        for space, learned in self._learned.items():
            self._known.setdefault(space, {}).update(learned)
        if not self.provenance:
            return []
        out: list[EntryKey] = []
        for section, mode, keys in self._sections:
            known = self._known.get((mode, self._kind, section), {})
            for k in keys:
                out.extend(known[k])
        return out


_FIRST, _SECOND = itemgetter(0), itemgetter(1)


def _unknown(known: dict[bytes, tuple] | None, keys: list[bytes]) -> list[int]:
    """The indexes of the keys not known, in file order (so the first bad entry is the one
    reported): one C pass, no set built."""
    if not known:
        return list(range(len(keys)))
    return list(compress(range(len(keys)), map(not_, map(known.__contains__, keys))))


class DedupingReader:
    """Adds files to one accumulator, checking only content not seen before."""

    def __init__(self, total: Accumulator, provenance: bool) -> None:
        self.total = total
        self.provenance = provenance
        self._files: dict[bytes, list[EntryKey]] = {}
        self._entries: dict[tuple, dict[bytes, tuple]] = {}

    def add(self, kind: FileKind, data: bytes, label: str, path: Path) -> None:
        """Add the bytes of one file, read from ``path`` (which errors name): split or decode,
        skip what is known, parse the rest into the accumulator.

        Raises ``InvalidMetadata`` for bad JSON or a bad entry; nothing of the file is added then.
        """
        part, digest = None, None
        if kind in _LEGACY_TYPES:
            # Split the text, decode only new entries.
            split = raw_entries(data)
            if split is not None:
                mode = _ELEMENTS if split.braced else _SPLIT
                part, memo = Accumulator(label), _FileMemo(self._entries, kind, self.provenance, split=("", mode))
                try:
                    add_to(part, kind, split.chunks, memo)
                except Refused:
                    part = None
        elif kind is FileKind.UNIFIED:
            # reachability-metadata.json: its ``reflection`` array split as above, the rest decoded.
            part, memo = self._unified(data, label, path)
        if part is None:
            # Small files (proxy, jni, serialization, ...) often repeat whole across tests.
            digest = hashlib.blake2b(data, digest_size=16).digest() + kind.value.encode()
            known = self._files.get(digest)
            if known is not None:
                if self.provenance:
                    self.total.add_sources(known, label)
                return
            doc = decode_json(data, path)
            part, memo = Accumulator(label), _FileMemo(self._entries, kind, self.provenance)
            add_to(part, kind, doc, memo)
        memoised = memo.commit()
        keys = [*part.entry_keys(), *memoised] if self.provenance else []
        self.total.absorb(part, label)
        if self.provenance:
            self.total.add_sources(keys, label)
        if digest is not None:
            self._files[digest] = keys

    def _unified(self, data: bytes, label: str, path: Path) -> tuple[Accumulator | None, Any]:
        split = _split_unified(data)
        if split is None:
            return None, None
        rest, chunks = split
        try:
            doc = decode_json(rest, path)
        except InvalidMetadata:  # reported from the whole file instead, where line and column are right
            return None, None
        if type(doc) is not dict or doc.get("reflection") != _MARK:
            return None, None  # the span cut out was not the top-level array
        doc["reflection"] = chunks
        part, memo = Accumulator(label), _FileMemo(self._entries, FileKind.UNIFIED, self.provenance,
                                                   split=("/reflection", _SPLIT))
        try:
            add_to(part, FileKind.UNIFIED, doc, memo)
        except Refused:
            return None, None
        return part, memo


# Stands in the text for the ``reflection`` array cut out of a unified file (never in the input).
_MARK = "\u0000mp-reflection-cut-out"
_MARK_TEXT = b'"\\u0000mp-reflection-cut-out"'
_ENTRY_END, _NEXT_ENTRY, _ARRAY_END = b"\n    }", b",\n    {", b"\n  ]"
_SECTION_HEAD = b'\n  "reflection": [\n    {'
_SECTION_SEPARATOR, _SECTION_TAIL = _ENTRY_END + _NEXT_ENTRY, _ENTRY_END + _ARRAY_END
# An entry separator, or the array's end with all that follows it (``.*`` takes the rest in one
# step): one scan splits the array and finds its end, which the lengths of the pieces locate.
_SECTION_SPLIT = re.compile(b"%s(?:%s|%s(?s:.*))" % tuple(map(re.escape, (_ENTRY_END, _NEXT_ENTRY, _ARRAY_END))))


def _split_unified(data: bytes) -> tuple[bytes, list[bytes]] | None:
    """(the file with its ``reflection`` array replaced by ``_MARK``, the array's raw entries).

    For the two-space layout GraalVM writes (entries at indent 4). Exact: the separator cannot
    stand inside a string (no raw newline there), each entry is decoded or identical to one
    decoded before, the rest is decoded whole
    (as strictly as any file), and ``_MARK`` found at the top level shows the cut-out span was
    the top-level array, so the file is the rest with the array put back.
    """
    start = data.find(_SECTION_HEAD)
    if start < 0:
        return None
    body = start + len(_SECTION_HEAD)
    chunks = _SECTION_SPLIT.split(memoryview(data)[body:])  # split where it lies, not copied first
    if len(chunks) < 2 or chunks[-1]:  # no end found: the last piece is all after the last separator
        return None
    chunks.pop()
    end = body + sum(map(len, chunks)) + len(_SECTION_SEPARATOR) * (len(chunks) - 1)
    if not data.startswith(_SECTION_TAIL, end):  # the file ended in a separator instead
        return None
    rest = data[:start] + b'\n  "reflection": ' + _MARK_TEXT + data[end + len(_SECTION_TAIL):]
    if rest.count(b"mp-reflection-cut-out") != 1:  # only ours: the input's own could fake the cut
        return None
    return rest, chunks


_LEGACY_TYPES = (FileKind.REFLECT, FileKind.JNI)
