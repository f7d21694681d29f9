"""The merge's algebra, on generated agent-shaped inputs: what makes per-test collection safe."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from metadata_pipeline.core.merge import merge
from metadata_pipeline.core.model import CATEGORIES, Metadata
from metadata_pipeline.core.serialize import render

from strategies import metadata_values


@given(metadata_values, metadata_values, metadata_values)
def test_merge_is_associative(a: Metadata, b: Metadata, c: Metadata) -> None:
    assert merge(merge(a, b), c) == merge(a, merge(b, c))


@given(metadata_values, metadata_values)
def test_merge_is_commutative(a: Metadata, b: Metadata) -> None:
    assert merge(a, b) == merge(b, a)


@given(metadata_values)
def test_merge_is_idempotent_and_empty_is_neutral(a: Metadata) -> None:
    assert merge(a, a) == a
    assert merge(a, Metadata()) == a
    assert merge(Metadata(), a) == a


@given(st.lists(metadata_values, min_size=1, max_size=5), st.randoms(use_true_random=False))
def test_output_bytes_do_not_depend_on_input_order(inputs: list[Metadata], rnd) -> None:
    shuffled = list(inputs)
    rnd.shuffle(shuffled)
    for fmt in ("legacy", "unified"):
        assert render(merge(*inputs), fmt) == render(merge(*shuffled), fmt)


def _identities(m: Metadata, category: str) -> set:
    entries = getattr(m, category)
    if category in ("reflection", "jni"):
        return {e.identity for e in entries}
    if category == "bundles":
        return {b.identity for b in entries}
    return set(entries) if category != "predefined_classes" else {p.hash for p in entries}


@given(metadata_values, metadata_values)
def test_nothing_present_in_an_input_is_lost(a: Metadata, b: Metadata) -> None:
    merged = merge(a, b)
    for category in CATEGORIES:
        assert _identities(a, category) | _identities(b, category) == _identities(merged, category)
    by_identity = {e.identity: e for e in merged.reflection}
    for entry in (*a.reflection, *b.reflection):
        out = by_identity[entry.identity]
        # Every flag survives or is subsumed by its stronger twin; every member survives.
        assert entry.methods <= out.methods
        assert entry.queried_methods <= out.queried_methods | out.methods
        assert {f.name for f in entry.fields} <= {f.name for f in out.fields}
        for f in entry.fields:
            kept = next(g for g in out.fields if g.name == f.name)
            assert kept.allow_write >= f.allow_write
        for flag in entry.flags:
            assert flag in out.flags or flag.startswith("queryAll") and "all" + flag[len("queryAll"):] in out.flags
