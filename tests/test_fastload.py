"""The deduplicating reader gives exactly what plain parsing gives, only faster."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metadata_pipeline.core.errors import InvalidMetadata
from metadata_pipeline.core.kinds import FileKind
from metadata_pipeline.core.merge import Accumulator
from metadata_pipeline.core.parse import add_to
from metadata_pipeline.fastload import DedupingReader

from strategies import config_dir_documents


def agent_layout(doc: object) -> bytes:
    """The text GraalVM for JDK 17/21 agents write: top-level entries at column 0."""
    if not isinstance(doc, list) or not doc:
        return json.dumps(doc, indent=2).encode()
    compact = lambda v: json.dumps(v, separators=(",", ":"))  # noqa: E731
    entries = ["{\n" + ",\n".join(f"  {compact(k)}:{compact(v)}" for k, v in e.items()) + "\n}" for e in doc]
    return ("[\n" + ",\n".join(entries) + "\n]\n").encode()


def plain(files: list[tuple[FileKind, object, str]]) -> Accumulator:
    acc = Accumulator().track_provenance()
    for kind, doc, label in files:
        part = Accumulator(label)
        add_to(part, kind, doc)
        acc.absorb(part, label)
    return acc


def deduped(files: list[tuple[FileKind, object, str]], layout=agent_layout) -> Accumulator:
    acc = Accumulator().track_provenance()
    reader = DedupingReader(acc, provenance=True)
    for kind, doc, label in files:
        reader.add(kind, layout(doc), label, json.loads)
    return acc


@given(st.lists(config_dir_documents(), min_size=1, max_size=6))
def test_same_metadata_and_provenance_as_plain_parsing(dirs) -> None:
    # Repeat some inputs whole, as per-test outputs do.
    dirs = dirs + dirs[: len(dirs) // 2]
    files = [(kind, doc, f"test{i}") for i, d in enumerate(dirs) for kind, doc in d.items()]
    expected, got = plain(files), deduped(files)
    assert got.build() == expected.build()
    assert got.provenance() == expected.provenance()


def test_a_bad_entry_is_located_and_teaches_nothing() -> None:
    good = [{"name": "a.A"}, {"name": "b.B", "methods": [{"name": "m", "parameterTypes": []}]}]
    bad = good + [{"name": "c.C", "fields": [{"name": 3}]}]
    acc = Accumulator()
    reader = DedupingReader(acc, provenance=False)
    with pytest.raises(InvalidMetadata) as info:
        reader.add(FileKind.REFLECT, agent_layout([{"name": "new.N"}] + bad), "t1", json.loads)
    assert info.value.entry == "/3/fields/0/name"
    assert acc.build().reflection == ()
    # new.N was read in the failed file: it must not count as known later.
    reader.add(FileKind.REFLECT, agent_layout([{"name": "new.N"}]), "t2", json.loads)
    assert [e.type for e in acc.build().reflection] == ["new.N"]


def test_other_layouts_take_the_general_path() -> None:
    doc = [{"name": "a.A"}, {"name": "b.B"}]
    for layout in (lambda d: json.dumps(d).encode(), lambda d: json.dumps(d, indent=4).encode()):
        assert deduped([(FileKind.REFLECT, doc, "t")], layout).build() == plain([(FileKind.REFLECT, doc, "t")]).build()


def test_truncated_agent_file_is_an_error_from_the_general_decoder() -> None:
    text = agent_layout([{"name": "a.A"}, {"name": "b.B"}])[:-8]
    reader = DedupingReader(Accumulator(), provenance=False)
    with pytest.raises(json.JSONDecodeError):
        reader.add(FileKind.REFLECT, text, "t", json.loads)
