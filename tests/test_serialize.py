"""Canonical writing: stable bytes, faithful round trips, and honest conversion notes."""

from __future__ import annotations

import json

import pytest
from hypothesis import given

from metadata_pipeline.core.kinds import FileKind, kind_of_file
from metadata_pipeline.core.merge import Accumulator, merge
from metadata_pipeline.core.model import Metadata
from metadata_pipeline.core.parse import add_to, parse
from metadata_pipeline.core.serialize import conversion_losses, java_regex_of_glob, render
from metadata_pipeline.errors import FatalError
from metadata_pipeline.files.output import check_output_schema

from conftest import REFERENCE
from strategies import metadata_values, reparse


@given(metadata_values)
def test_legacy_round_trip_is_exact_for_legacy_expressible_metadata(m: Metadata) -> None:
    files = render(m, "legacy")
    check_output_schema({n: json.loads(t) for n, t in files.items()})
    assert sorted(files) == sorted(k.file_name for k in FileKind if k.is_legacy)
    if not conversion_losses(m, "legacy"):
        assert reparse(files) == m
    assert render(reparse(files), "legacy") == files


@given(metadata_values)
def test_unified_output_is_stable_and_valid(m: Metadata) -> None:
    files = render(m, "unified")
    check_output_schema({n: json.loads(t) for n, t in files.items()})
    assert render(reparse(files), "unified") == files
    if not conversion_losses(m, "unified"):
        assert reparse(files) == m


def test_legacy_writer_speaks_graalvm_21() -> None:
    m = parse(FileKind.UNIFIED, {"reflection": [{"type": "byte[]"}, {"type": "java.lang.String[]"}],
                                 "resources": [{"glob": "linux/*/libzstd-jni-*.so"}, {"module": "java.base", "glob": "a/b.txt"}]})
    files = render(m, "legacy")
    assert [e["name"] for e in json.loads(files["reflect-config.json"])] == ["[B", "[Ljava.lang.String;"]
    patterns = [i["pattern"] for i in json.loads(files["resource-config.json"])["resources"]["includes"]]
    assert patterns == ["\\Qlinux/\\E[^/]*\\Q/libzstd-jni-\\E[^/]*\\Q.so\\E", "java.base:\\Qa/b.txt\\E"]


def test_java_regex_of_glob_quotes_an_embedded_end_marker() -> None:
    regex = java_regex_of_glob("a\\\\Eb", None)  # the literal name a\Eb
    assert regex == "\\Qa\\E\\\\E\\Qb\\E"
    assert reparse({"resource-config.json": json.dumps({"resources": {"includes": [{"pattern": regex}]}})}) \
        .resource_globs[0].glob == "a\\\\Eb"


def test_unified_spills_what_it_cannot_hold_into_legacy_files() -> None:
    m = merge(parse(FileKind.RESOURCE, {"resources": {"includes": [{"pattern": "a(b|c)"}], "excludes": [{"pattern": ".*\\.txt"}]},
                                        "bundles": [{"name": "a.Msgs", "locales": ["en"]}]}),
              parse(FileKind.PREDEFINED_CLASSES, [{"type": "agent-extracted", "classes": [{"hash": "ab"}]}]))
    files = render(m, "unified")
    assert sorted(files) == ["predefined-classes-config.json", "reachability-metadata.json", "resource-config.json"]
    assert reparse(files) == m


def test_conversion_losses_are_named() -> None:
    m = parse(FileKind.REFLECT, [{"name": "a.B", "queriedMethods": [{"name": "x", "parameterTypes": []}],
                                  "condition": {"typeReachable": "c.D"}}])
    notes = conversion_losses(m, "unified")
    assert any("queried-only" in n for n in notes)
    assert not any("typeReachable" in n for n in notes)  # one condition in both formats: nothing lost
    lam = parse(FileKind.UNIFIED, {"reflection": [{"type": {"lambda": {"declaringClass": "a.B", "interfaces": ["java.lang.Runnable"]}}}]})
    assert any("lambda" in n for n in conversion_losses(lam, "legacy"))
    assert json.loads(render(lam, "legacy")["reflect-config.json"]) == []


def _reference_dirs():
    if not REFERENCE.exists():
        return []
    return sorted({p.parent for p in REFERENCE.rglob("*.json") if kind_of_file(p.name)})


@pytest.mark.parametrize("directory", _reference_dirs(), ids=lambda p: str(p.relative_to(REFERENCE)))
def test_real_metadata_round_trips(directory) -> None:
    acc = Accumulator()
    for path in sorted(directory.iterdir()):
        if kind_of_file(path.name):
            add_to(acc, kind_of_file(path.name), json.loads(path.read_text()))
    m = acc.build()
    for fmt in ("legacy", "unified"):
        files = render(m, fmt)
        check_output_schema({n: json.loads(t) for n, t in files.items()})
        assert render(reparse(files), fmt) == files
        if not conversion_losses(m, fmt):
            assert reparse(files) == m


@pytest.mark.parametrize("name, doc, entry", [
    # A malformed name in entry 1500 of 2000: keys and JSON types as in every other entry.
    ("reflect-config.json", [{"name": f"a.C{i}"} for i in range(1500)] + [{"name": "[Q"}] +
     [{"name": f"b.C{i}"} for i in range(499)], "/1500/name"),
    ("reachability-metadata.json", {"reflection": [{"type": f"a.C{i}"} for i in range(1999)] +
                                    [{"type": "a.D", "jniAccessible": "yes"}]}, "/reflection/1999/jniAccessible"),
])
def test_an_invalid_entry_anywhere_in_a_long_output_is_our_bug_and_stops_the_write(name, doc, entry) -> None:
    with pytest.raises(FatalError) as info:
        check_output_schema({name: doc})
    assert info.value.message.startswith(f"internal error: generated {name} fails its schema: ")
    assert entry in info.value.message
