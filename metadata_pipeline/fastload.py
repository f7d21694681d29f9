"""Reading many agent outputs fast: skip what an earlier input already said, byte for byte.

Per-test collection yields hundreds of config dirs that mostly repeat each other: every
broker JVM reflects on the same classes in every test, and the agent writes an entry the
same way each time. Decoding and checking each repeat would cost far more than the merge,
so this reader remembers what it has seen:

- a whole file identical to one already read adds nothing (its entries are known);
- in reflect/jni files in the agent's own layout (GraalVM for JDK 17/21: top-level entries
  at column 0, separated by a ``},`` line), each entry's text is looked up before it is
  decoded; only new texts are decoded and checked, each on its own.

Skipping is exact, not a heuristic: identical bytes are an identical entry, and the merge is
idempotent. Any file not in that layout takes the general path (decode, check, add).
"""

from __future__ import annotations

import gc
import hashlib
from contextlib import contextmanager
from typing import Callable, Iterator

import orjson

from metadata_pipeline.core.errors import InvalidMetadata
from metadata_pipeline.core.kinds import FileKind
from metadata_pipeline.core.merge import Accumulator, EntryKey
from metadata_pipeline.core.parse import add_legacy_type_entry, add_to

__all__ = ["DedupingReader", "paused_gc"]


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

_HEAD, _SEP, _TAIL = b"[\n{", b"\n},\n{", b"\n}\n]"
_TABLE = {FileKind.REFLECT: "reflection", FileKind.JNI: "jni"}


class DedupingReader:
    """Adds files to one accumulator, decoding only content not seen before."""

    def __init__(self, total: Accumulator, provenance: bool) -> None:
        self.total = total
        self.provenance = provenance
        self._files: dict[bytes, list[EntryKey]] = {}
        self._entries: dict[FileKind, dict[bytes, tuple]] = {}

    def add(self, kind: FileKind, data: bytes, label: str, decode: Callable[[bytes], object]) -> None:
        """Add one file's bytes; ``decode(data)`` is the general JSON decoder (raises on bad JSON).

        Raises ``InvalidMetadata`` for a bad entry; nothing of the file is added then.
        """
        if kind in _TABLE:
            part = Accumulator(label)
            new: dict[bytes, tuple] = {}
            keys = self._add_agent_layout(part, kind, data, new)
            if keys is not None:
                # Only a file that was read whole teaches us anything: a bad one adds nothing.
                self._entries.setdefault(kind, {}).update(new)
                self._fold(part, keys, label)
                return
        # Small files (proxy, jni, serialization, ...) often repeat whole across tests.
        digest = hashlib.blake2b(data, digest_size=16).digest() + kind.value.encode()
        known = self._files.get(digest)
        if known is not None:
            if self.provenance:
                self.total.add_sources(known, label)
            return
        part = Accumulator(label)
        add_to(part, kind, decode(data))
        keys = list(part.entry_keys()) if self.provenance else []
        self._fold(part, keys, label)
        self._files[digest] = keys

    def _fold(self, part: Accumulator, keys: list[EntryKey], label: str) -> None:
        self.total.absorb(part, label)
        if self.provenance:
            self.total.add_sources(keys, label)

    def _add_agent_layout(self, part: Accumulator, kind: FileKind, data: bytes,
                          new: dict[bytes, tuple]) -> list[EntryKey] | None:
        """Entries of a reflect/jni file in the agent's layout; None when it is not in it."""
        body = data.strip()
        if not (body.startswith(_HEAD) and body.endswith(_TAIL)) or len(body) < len(_HEAD) + len(_TAIL):
            return None
        chunks = body[len(_HEAD):-len(_TAIL)].split(_SEP)
        seen = self._entries.setdefault(kind, {})
        # The hot spot: most entries were seen before. A C-level set difference finds the new
        # ones; their order does not matter to the merge (errors are located below).
        for chunk in set(chunks).difference(seen):
            try:
                raw = orjson.loads(b"{" + chunk + b"\n}")
            except orjson.JSONDecodeError:
                return None  # not the layout after all (or broken): the general path says why
            try:
                new[chunk] = add_legacy_type_entry(part, kind, raw, "")
            except InvalidMetadata:
                raise _first_error(kind, chunks) from None
        if not self.provenance:
            return []
        table = _TABLE[kind]
        return [(table, seen.get(c) or new[c]) for c in chunks]


def _first_error(kind: FileKind, chunks: list[bytes]) -> InvalidMetadata:
    """The first bad entry in file order, with its JSON pointer (error path only)."""
    scratch = Accumulator()
    for index, chunk in enumerate(chunks):
        try:
            add_legacy_type_entry(scratch, kind, orjson.loads(b"{" + chunk + b"\n}"), f"/{index}")
        except InvalidMetadata as exc:
            return exc
    raise AssertionError("an entry failed once and then passed")
