"""The deduplicating reader gives exactly what plain parsing gives, only faster."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metadata_pipeline.core.errors import InvalidMetadata
from metadata_pipeline.core.kinds import FileKind
from metadata_pipeline.core.merge import Accumulator
from metadata_pipeline.core.parse import add_to
from metadata_pipeline.files.fastload import DedupingReader

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
        reader.add(kind, layout(doc), label, Path("f.json"))
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
        reader.add(FileKind.REFLECT, agent_layout([{"name": "new.N"}] + bad), "t1", Path("f.json"))
    assert info.value.entry == "/3/fields/0/name"
    assert acc.build().reflection == ()
    # new.N was read in the failed file: it must not count as known later.
    reader.add(FileKind.REFLECT, agent_layout([{"name": "new.N"}]), "t2", Path("f.json"))
    assert [e.type for e in acc.build().reflection] == ["new.N"]


def test_other_layouts_take_the_general_path() -> None:
    doc = [{"name": "a.A"}, {"name": "b.B"}]
    for layout in (lambda d: json.dumps(d).encode(), lambda d: json.dumps(d, indent=4).encode()):
        assert deduped([(FileKind.REFLECT, doc, "t")], layout).build() == plain([(FileKind.REFLECT, doc, "t")]).build()


def test_truncated_agent_file_is_an_error_from_the_general_decoder() -> None:
    text = agent_layout([{"name": "a.A"}, {"name": "b.B"}])[:-8]
    reader = DedupingReader(Accumulator(), provenance=False)
    with pytest.raises(InvalidMetadata, match="truncated"):
        reader.add(FileKind.REFLECT, text, "t", Path("f.json"))


# -- every layout, one reader -------------------------------------------------------------------

def indented(doc: object) -> bytes:
    return json.dumps(doc, indent=2).encode()


def minified(doc: object) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


@pytest.mark.parametrize("layout", [indented, minified, lambda d: json.dumps(d, indent=4).encode(),
                                    lambda d: json.dumps(d).encode(),
                                    lambda d: json.dumps(d, indent="\t").replace("\n", "\r\n").encode()],
                         ids=["indented", "minified", "indent4", "spaced", "tabs-crlf"])
@given(st.lists(config_dir_documents(), min_size=1, max_size=4))
def test_every_layout_merges_the_same(layout, dirs) -> None:
    dirs = dirs + dirs[: len(dirs) // 2]
    files = [(kind, doc, f"test{i}") for i, d in enumerate(dirs) for kind, doc in d.items()]
    # Mixed in one run: entries known from one layout are recognised in another.
    mixed = lambda d: (layout if hash(json.dumps(d, sort_keys=True)) % 2 else agent_layout)(d)  # noqa: E731
    expected = plain(files)
    for chosen in (layout, mixed):
        got = deduped(files, chosen)
        assert got.build() == expected.build()
        assert got.provenance() == expected.provenance()


# -- bad input through the fast path: one clean line (issue 15, items 7-9, 12) -------------------

from cli_helpers import assert_one_line_error, run_cli, write_dir  # noqa: E402

from conftest import reference  # noqa: E402


def test_kafkas_real_configs_in_every_layout_merge_as_plain_parsing_does() -> None:
    # Kafka's committed reflect/jni configs at each of the 7 commits, as they are (the agent's
    # layout) and rewritten in layouts only msgspec's split reads, merged into one model.
    root = reference("kafka-native-image-configs")
    docs = [(kind, json.loads((d / kind.file_name).read_text()), d.name)
            for d in sorted(p for p in root.iterdir() if p.is_dir())
            for kind in (FileKind.REFLECT, FileKind.JNI) if (d / kind.file_name).exists()]
    assert len(docs) >= 14
    expected = plain(docs)
    for layout in (agent_layout, minified, lambda d: json.dumps(d).encode(),
                   lambda d: json.dumps(d, indent="\t").replace("\n", "\r\n").encode()):
        got = deduped(docs, layout)
        assert got.build() == expected.build()
        assert got.provenance() == expected.provenance()


def test_a_corrupted_real_config_is_one_clean_error_whatever_the_hash_seed(tmp_path) -> None:
    # Two small corruptions of Kafka's real reflect-config: one entry no longer JSON, a later
    # one with an unknown key. Which the reader meets first depended on PYTHONHASHSEED.
    text = reference("kafka-native-image-configs", "07-2d896d9130f", "reflect-config.json").read_text()
    entries = text.split("\n},\n{")
    entries[3] = entries[3].replace('"name":', '"name"', 1)
    entries[7] = entries[7].replace('"name":', '"nme":', 1)
    bad = write_dir(tmp_path / "bad", {"reflect-config.json": "\n},\n{".join(entries)})
    good = write_dir(tmp_path / "good", {"reflect-config.json": [{"name": "a.A"}]})
    for seed in range(6):
        result = run_cli("merge", bad, "-o", tmp_path / f"out{seed}", env={"PYTHONHASHSEED": str(seed)})
        assert_one_line_error(result, "reflect-config.json", "malformed JSON")
        skipped = run_cli("merge", bad, good, "-o", tmp_path / f"skip{seed}", "--skip-invalid",
                          env={"PYTHONHASHSEED": str(seed)})
        assert skipped.code == 0 and "Traceback" not in skipped.err, skipped
        assert "skipped:" in skipped.err and "reflect-config.json" in skipped.err


AGENT_DUPLICATE = '[\n{\n  "name":"a.A"\n},\n{\n  "name":"b.B",\n  "name":"c.C"\n}\n]\n'


@pytest.mark.parametrize("text, pointer", [
    (AGENT_DUPLICATE, "/1"),
    ('[{"name": "a.A", "methods": [{"name": "m", "name": "n"}]}]', "/0/methods/0"),
    ('{"reflection": [], "reflection": [{"type": "a.A"}]}', "/"),
    # a ':' escaped in a string would make up for the one a duplicate key loses, were it counted
    ('[\n{\n  "name":"a.A",\n  "reasons":["z"],\n  "reasons":["x\\u003ay"]\n}\n]\n', "/0"),
    ('[{"name":"a.A","reasons":["z"],"reasons":["x\\u003Ay"]}]', "/0"),
    ('{\n  "reflection": [\n    {\n      "type": "a.A",\n      "reason": "y",\n      "reason": "x\\u003a"\n    }\n  ]\n}\n',
     "/reflection/0"),
], ids=["agent-layout", "nested", "unified-top-level", "agent-escaped-colon", "minified-escaped-colon",
        "unified-escaped-colon"])
def test_duplicate_keys_are_rejected_with_a_pointer(tmp_path, text, pointer) -> None:
    name = "reachability-metadata.json" if text.startswith("{") else "reflect-config.json"
    d = write_dir(tmp_path / "in", {name: text})
    for args in (["merge", d, "-o", tmp_path / "out"], ["merge", d, "-o", tmp_path / "out", "--strict-schema"],
                 ["validate", d]):
        assert_one_line_error(run_cli(*args), f"{name}: {pointer}: duplicate key")
    assert not (tmp_path / "out").exists()


def test_a_duplicate_key_in_an_entry_seen_before_is_still_an_error() -> None:
    reader = DedupingReader(Accumulator(), provenance=False)
    reader.add(FileKind.REFLECT, agent_layout([{"name": "a.A"}, {"name": "b.B"}]), "t1", Path("f"))
    with pytest.raises(InvalidMetadata, match="duplicate key 'name'"):
        reader.add(FileKind.REFLECT, AGENT_DUPLICATE.replace('"c.C"', '"b.B"').encode(), "t2", Path("f"))


@pytest.mark.parametrize("name, text", [
    ("reflect-config.json", '[\n{\n  "name":"a.B",\n  "methods":[{"name":"m"}\0{"name":"n"}]\n}\n]\n'),
    ("reflect-config.json", '[{"name":"a.B","methods":[{"name":"m"}\0{"name":"n"}]}]'),
    ("reachability-metadata.json", '{\n  "reflection": [\n    {\n      "type": "a.B",\n'
                                   '      "methods": [{"name": "m"}\0{"name": "n"}]\n    }\n  ]\n}\n'),
], ids=["agent-layout", "minified", "unified"])
def test_a_raw_nul_between_two_methods_is_malformed_in_every_layout(tmp_path, name, text) -> None:
    d = write_dir(tmp_path / "in", {name: text})
    assert_one_line_error(run_cli("merge", d, "-o", tmp_path / "out"), name, "malformed JSON")
    assert not (tmp_path / "out").exists()


def test_a_leading_form_feed_is_not_json(tmp_path) -> None:
    d = write_dir(tmp_path / "in", {"reflect-config.json": "\f" + agent_layout([{"name": "a.A"}]).decode()})
    assert_one_line_error(run_cli("merge", d, "-o", tmp_path / "out"), "reflect-config.json", "malformed JSON")


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("name, text", [
    ("reflect-config.json", '[{"name": "a.A", "reasons": %s}]' % _nested(990)),
    ("reflect-config.json", '[{"name": "a.A", "reasons": %s}]' % _nested(300)),
    ("reachability-metadata.json", '{"foreign": {"downcalls": [{"returnType": %s}]}}' % _nested(254)),
    ("reachability-metadata.json", '{"foreign": {"downcalls": [{"returnType": %s}]}}' % _nested(100)),
], ids=["990", "300", "foreign-254", "foreign-100"])
def test_deep_nesting_is_a_clear_error_everywhere(tmp_path, name, text) -> None:
    d = write_dir(tmp_path / "in", {name: text})
    for args in (["merge", d, "-o", tmp_path / "out"], ["merge", d, "-o", tmp_path / "out", "--format", "unified"],
                 ["merge", d, "-o", tmp_path / "out", "--strict-schema"], ["diff", d, d]):
        result = run_cli(*args)
        assert_one_line_error(result, name)
        assert len(result.err) < 1000
    assert not (tmp_path / "out").exists()
    validate = run_cli("validate", d)  # a finding, or an input error when not even decodable
    lines = (validate.out + validate.err).splitlines()
    assert validate.code in (1, 2) and "Traceback" not in validate.err
    assert any(name in line and "nested" in line for line in lines) and len(validate.out + validate.err) < 1000


def test_integers_beyond_64_bits_in_foreign_entries_are_an_error_not_a_float(tmp_path) -> None:
    d = write_dir(tmp_path / "in", {"reachability-metadata.json":
                                    '{"foreign": {"downcalls": [{"returnType": "jint", "n": 18446744073709551616}]}}'})
    for args in (["merge", d, "-o", tmp_path / "out", "--format", "unified"], ["validate", d]):
        assert_one_line_error(run_cli(*args), "/foreign/downcalls/0/n", "64 bits")
    ok = write_dir(tmp_path / "ok", {"reachability-metadata.json":
                                     '{"foreign": {"downcalls": [{"returnType": "jint", "n": 9223372036854775807}]}}'})
    assert run_cli("merge", ok, "-o", tmp_path / "out", "--format", "unified").code == 0
    assert '"n": 9223372036854775807' in (tmp_path / "out" / "reachability-metadata.json").read_text()


@pytest.mark.parametrize("entry, pointer, problem", [
    ({"name": "[Q"}, "/0/name", "malformed array type descriptor '[Q'"),
    # found by the stress profile of tests/test_fuzz_cli.py: became "[La.B[]", which no writer takes
    ({"name": "[L[La.B;"}, "/0/name", "malformed array type descriptor"),
    ({"name": ""}, "/0/name", "empty type name"),
    ({"name": "a\u0000b"}, "/0/name", "NUL"),
    ({"name": "a.A", "condition": {"typeReachable": "["}}, "/0/condition/typeReachable", "malformed array type"),
    ({"name": "a.A", "methods": [{"name": "m", "parameterTypes": ["[X"]}]}, "/0/methods/0/parameterTypes/0", "malformed"),
])
def test_bad_type_names_are_errors_with_a_pointer_in_merge_and_validate(tmp_path, entry, pointer, problem) -> None:
    d = write_dir(tmp_path / "in", {"reflect-config.json": agent_layout([{"name": "ok.Ok"}, entry]).decode()
                                    .replace("/0/", "/1/")})
    pointer = pointer.replace("/0", "/1", 1)
    assert_one_line_error(run_cli("merge", d, "-o", tmp_path / "out"), f"reflect-config.json: {pointer}: ", problem)
    validate = run_cli("validate", d)
    assert validate.code == 1 and f"reflect-config.json: {pointer}: " in validate.out, validate


def test_a_malformed_condition_type_fails_cleanly_with_filters_and_lint(tmp_path) -> None:
    d = write_dir(tmp_path / "in", {"reflect-config.json": [{"name": "a.A", "condition": {"typeReachable": "["}}]})
    kafka_filter = Path(__file__).resolve().parents[1] / "system-test-overrides" / "filters" / "kafka.json"
    assert_one_line_error(run_cli("merge", d, "-o", tmp_path / "out", "--filter", kafka_filter),
                          "/0/condition/typeReachable")
    (tmp_path / "cp").mkdir()
    assert_one_line_error(run_cli("lint", d, "--classpath", tmp_path / "cp", "--no-jdk"), "/0/condition/typeReachable")


def test_huge_values_give_short_messages_and_are_bounded(tmp_path) -> None:
    huge = "x" * 10_000_000
    cases = {
        "resource": {"resource-config.json": {"resources": {"includes": [{"pattern": "\\Q" + huge + "\\E"}]}}},
        "type": {"reflect-config.json": [{"name": huge}]},
        "key": {"reflect-config.json": [{"name": "a.A", huge: True}]},
        "value": {"reflect-config.json": [{"name": "a.A", "allDeclaredFields": huge}]},
    }
    for case, files in cases.items():
        d = write_dir(tmp_path / case, files)
        for args in (["merge", d, "-o", tmp_path / "out"], ["merge", d, "-o", tmp_path / "out", "--strict-schema"]):
            result = run_cli(*args)
            assert_one_line_error(result)
            assert len(result.err) < 1000, (case, args, len(result.err))
        validate = run_cli("validate", d)
        assert validate.code in (1, 2) and len(validate.out) + len(validate.err) < 2000, (case, len(validate.out))


def test_deep_nesting_in_the_agent_layout_is_a_clear_error(tmp_path) -> None:
    text = agent_layout([{"name": "a.A"}]).decode().replace('"a.A"', '"a.A",\n  "reasons":' + _nested(300))
    d = write_dir(tmp_path / "in", {"reflect-config.json": text})
    assert_one_line_error(run_cli("merge", d, "-o", tmp_path / "out"), "reflect-config.json", "nested")


# -- minified and unified files split without decoding what was seen -------------------------

def test_minified_entries_with_brackets_and_separators_in_strings_merge_the_same() -> None:
    docs = [[{"name": "a.A", "methods": [{"name": "m", "parameterTypes": []}, {"name": "n", "parameterTypes": ["int"]}]},
             {"name": "b.B", "fields": [{"name": "x},{y"}, {"name": "z"}]}],
            [{"name": "c.C{["}, {"name": "a.A", "methods": [{"name": "m", "parameterTypes": []}]}, {"name": "d.D]}"}]]
    files = [(FileKind.REFLECT, d, f"t{i}") for i, d in enumerate(docs + docs)]
    got = deduped(files, minified)
    assert got.build() == plain(files).build() and got.provenance() == plain(files).provenance()


def test_minified_entries_with_inner_arrays_seen_before_are_not_decoded_again() -> None:
    import metadata_pipeline.files.fastload as fastload

    a = {"name": "a.A", "methods": [{"name": "m", "parameterTypes": []}, {"name": "n", "parameterTypes": ["int"]}]}
    b = {"name": "b.B", "fields": [{"name": "x"}, {"name": "y"}], "queriedMethods": [{"name": "q"}, {"name": "r"}]}
    files = [(FileKind.REFLECT, [a, b], "t1"), (FileKind.REFLECT, [b, {"name": "c.C"}, a], "t2")]
    tried: list = []
    real = fastload.decode_shaped
    fastload.decode_shaped = lambda chunks, braced, shape: tried.append(chunks) or real(chunks, braced, shape)
    try:
        got = deduped(files, minified)
    finally:
        fastload.decode_shaped = real
    assert got.build() == plain(files).build() and got.provenance() == plain(files).provenance()
    # a and b decoded once, from the first file; of the second only c.C, split out of the text
    assert [len(chunks) for chunks in tried] == [2, 1]
    assert tried[1] == [b'{"name":"c.C"}']


def test_an_entry_read_in_one_layout_is_not_parsed_again_in_another(monkeypatch) -> None:
    import metadata_pipeline.core.parse as parse

    a = {"name": "a.A", "methods": [{"name": "m", "parameterTypes": ["int"]}], "allDeclaredFields": True}
    b = {"name": "b.B", "condition": {"typeReachable": "x.X"}, "fields": [{"name": "f"}]}
    c = {"name": "c.C"}
    files = [(FileKind.REFLECT, [a, b], "agent"), (FileKind.REFLECT, [b, c, a], "minified"),
             (FileKind.REFLECT, [c, a], "indented"), (FileKind.REFLECT, [a, c], "spaced")]
    layouts = iter([agent_layout, minified, indented, lambda d: json.dumps(d).encode()])
    parsed: list = []
    real = parse.add_legacy_type_entry
    monkeypatch.setattr(parse, "add_legacy_type_entry", lambda acc, kind, raw, path: parsed.append(raw.name)
                        or real(acc, kind, raw, path))
    got = deduped(files, lambda d: next(layouts)(d))
    monkeypatch.undo()
    assert got.build() == plain(files).build() and got.provenance() == plain(files).provenance()
    assert parsed == ["a.A", "b.B", "c.C"]  # each value once, whatever text it came in


@pytest.mark.parametrize("text", [b'[{"name":"b.B","name":"b.B"}]', b'[\n{\n  "name":"b.B",\n  "name":"b.B"\n}\n]\n'],
                         ids=["minified", "agent-layout"])
def test_a_duplicate_key_in_a_new_text_of_a_known_value_is_still_an_error(text) -> None:
    reader = DedupingReader(Accumulator(), provenance=False)
    reader.add(FileKind.REFLECT, indented([{"name": "b.B"}]), "t1", Path("f"))
    with pytest.raises(InvalidMetadata, match="duplicate key 'name'"):
        reader.add(FileKind.REFLECT, text, "t2", Path("f"))


def test_an_entry_text_known_whole_is_not_taken_for_one_without_braces() -> None:
    # The minified file teaches the text {"name":"a.A"}; the same text between the agent
    # layout's braces is {{"name":"a.A"}}, no JSON: it must be decoded, and refused.
    reader = DedupingReader(Accumulator(), provenance=False)
    reader.add(FileKind.REFLECT, b'[{"name":"a.A"}]', "t1", Path("f.json"))
    with pytest.raises(InvalidMetadata, match="malformed JSON"):
        reader.add(FileKind.REFLECT, b'[\n{{"name":"a.A"}\n}\n]\n', "t2", Path("g.json"))


@pytest.mark.parametrize("text, pointer", [
    (b'[{"name":"a.A"},1]', "/1"),
    (b'[{"name":"a.A"}, ["b.B"]]', "/1"),
    (b'[{"name":"a.A"},{"name":"a.B","name":"a.C"}]', "/1"),
])
def test_a_split_array_element_that_is_no_entry_is_located(text, pointer) -> None:
    reader = DedupingReader(Accumulator(), provenance=False)
    reader.add(FileKind.REFLECT, b'[{"name":"a.A"}]', "t1", Path("f.json"))
    with pytest.raises(InvalidMetadata) as info:
        reader.add(FileKind.REFLECT, text, "t2", Path("f.json"))
    assert info.value.entry == pointer


def _unified(reflection: list, **rest) -> bytes:
    return json.dumps({"reflection": reflection, **rest}, indent=2).encode()


def test_a_unified_file_split_at_its_reflection_array_is_as_strict_as_a_whole_one(tmp_path) -> None:
    import orjson

    entries = [{"type": "a.A", "allDeclaredFields": True}, {"type": "b.B", "methods": [{"name": "m", "parameterTypes": []}]}]
    late = _unified(entries, resources=[{"glob": "x"}]).replace(b'"glob"', b'"glob" "')
    with pytest.raises(orjson.JSONDecodeError) as info:
        orjson.loads(late)
    where = info.value
    assert where.lineno > 10  # after the reflection array
    cases = {
        # an error after the array: line and column of the file as written, not of what is left
        "late-syntax": (late, f"line {where.lineno} column {where.colno}:"),
        "twice": (_unified(entries)[:-2] + b',\n  "reflection": []\n}', "duplicate key 'reflection'"),
        "bad-entry": (_unified(entries + [{"type": "c.C", "fields": [{"name": 3}]}]), "/reflection/2/fields/0/name"),
    }
    for name, (text, expected) in cases.items():
        d = tmp_path / name
        d.mkdir()
        (d / "reachability-metadata.json").write_bytes(text)
        # the same entries read before from a good file: the split reader knows them
        good = tmp_path / f"{name}-good"
        good.mkdir()
        (good / "reachability-metadata.json").write_bytes(_unified(entries))
        result = run_cli("merge", good, d, "-o", tmp_path / f"out-{name}")
        assert_one_line_error(result, "reachability-metadata.json", expected)


def test_a_reflection_array_nested_elsewhere_is_not_taken_for_the_top_level_one() -> None:
    # A foreign entry (kept verbatim) holding a "reflection" key laid out like the top-level one.
    inner = [{"type": "x.X"}]
    doc = {"foreign": {"downcalls": [{"reflection": inner}]}, "reflection": [{"type": "a.A"}]}
    text = json.dumps(doc, indent=2).encode().replace(b'\n        "reflection": [\n          {',
                                                        b'\n  "reflection": [\n    {')
    text = text.replace(b'"type": "x.X"\n          }\n        ]', b'"type": "x.X"\n    }\n  ]')
    assert json.loads(text) == doc
    files = [(FileKind.UNIFIED, doc, "t")]
    got = deduped(files, lambda d: text)
    assert got.build() == plain(files).build()


def test_the_decoded_arrays_of_a_split_unified_file_are_keyed_by_value() -> None:
    import metadata_pipeline.files.fastload as fastload

    # The 1.0/1.1 top-level jni array and the resources come decoded (only reflection is split).
    docs = [{"reflection": [{"type": "a.A"}], "jni": [{"type": "b.B"}], "resources": [{"glob": "r"}]},
            {"reflection": [{"type": "a.A"}], "jni": [{"type": "b.B"}, {"type": "c.C"}],
             "resources": [{"glob": "r"}, {"bundle": "b"}]}]
    files = [(FileKind.UNIFIED, doc, f"t{i}") for i, doc in enumerate(docs + docs)]
    tried: list = []
    real = fastload.decode_shaped
    fastload.decode_shaped = lambda chunks, braced, shape: tried.append(chunks) or real(chunks, braced, shape)
    try:
        got = deduped(files, indented)
    finally:
        fastload.decode_shaped = real
    assert got.build() == plain(files).build() and got.provenance() == plain(files).provenance()
    # the decoded entries are never handed to the text decoder (they are no text)
    assert all(type(c) is bytes for chunks in tried for c in chunks), tried


def test_resource_entries_seen_before_are_not_parsed_again(monkeypatch) -> None:
    import metadata_pipeline.core.parse as parse

    include = lambda p: {"pattern": f"\\Q{p}\\E"}  # noqa: E731
    files = [(FileKind.RESOURCE, {"resources": {"includes": [include("a"), include("b")]}}, "t1"),
             (FileKind.RESOURCE, {"resources": {"includes": [include("b"), include("c")],
                                                "excludes": [{"pattern": "x.*"}]}}, "t2"),
             (FileKind.UNIFIED, {"resources": [{"glob": "g"}, {"bundle": "m.B"}]}, "t3"),
             (FileKind.UNIFIED, {"resources": [{"bundle": "m.B"}, {"glob": "h", "module": "m"}]}, "t4")]
    parsed: list = []
    for name in ("_include_entry", "_exclude_entry", "_unified_resource_entry"):
        real = getattr(parse, name)
        monkeypatch.setattr(parse, name, lambda acc, raw, path, real=real: parsed.append(raw) or real(acc, raw, path))
    got = deduped(files, indented)
    monkeypatch.undo()
    assert got.build() == plain(files).build() and got.provenance() == plain(files).provenance()
    assert parsed == [include("a"), include("b"), include("c"), {"pattern": "x.*"}, {"glob": "g"}, {"bundle": "m.B"},
                      {"glob": "h", "module": "m"}]
    reader = DedupingReader(Accumulator(), provenance=False)
    reader.add(FileKind.RESOURCE, indented(files[0][1]), "t1", Path("f"))
    with pytest.raises(InvalidMetadata) as info:
        reader.add(FileKind.RESOURCE, indented({"resources": {"includes": [include("a"), {"pattern": 3}]}}), "t5",
                   Path("f"))
    assert info.value.entry == "/resources/includes/1/pattern"


def test_the_members_one_file_gives_two_registrations_stay_apart() -> None:
    # A type's member sets are taken from the parser, not copied: a jniAccessible entry's
    # reflection and JNI registrations must still each own theirs, whatever comes later.
    files = [
        (FileKind.UNIFIED, {"reflection": [{"type": "a.A", "jniAccessible": True,
                                            "methods": [{"name": "m", "parameterTypes": []}],
                                            "fields": [{"name": "f"}]}]}, "t1"),
        (FileKind.JNI, [{"name": "a.A", "methods": [{"name": "j", "parameterTypes": []}], "fields": [{"name": "g"}]}], "t2"),
        (FileKind.REFLECT, [{"name": "a.A", "queriedMethods": [{"name": "q", "parameterTypes": []}]}], "t3"),
    ]
    for got in (plain(files).build(), deduped(files).build()):
        (reflection,), (jni,) = got.reflection, got.jni
        assert {m.name for m in reflection.methods} == {"m"} and {f.name for f in reflection.fields} == {"f"}
        assert {m.name for m in reflection.queried_methods} == {"q"}
        assert {m.name for m in jni.methods} == {"m", "j"} and {f.name for f in jni.fields} == {"f", "g"}
        assert not jni.queried_methods


# -- entries decoded to their shape (core.entry_shapes): the parser's verdict, exactly ---------

import copy  # noqa: E402

from strategies import legacy_type_entry  # noqa: E402

# Values the shapes take and the parser refuses (bad type names), the parser takes and the
# shapes refuse (a flag written false, a proxy or lambda type), and plain wrong ones.
_ODD = st.sampled_from([
    None, 0, 1.5, "", "x.Y", "[X", "[Lx;y", "[[I", "a\u0000b", True, False, [], ["x.Y"], [None], ["[Q"],
    [{"name": "m"}], [{"name": "m", "parameterTypes": ["[Z;"]}], [{"name": "f", "allowWrite": False}],
    {}, {"typeReached": "x.Y"}, {"typeReachable": "x.Y", "typeReached": "y.Z"}, {"typeReached": ""},
    {"proxy": ["a.B"]}, {"proxy": []}, {"lambda": {"declaringClass": "a.B", "interfaces": ["java.lang.Runnable"]}},
    {"lambda": {"declaringClass": "a.B", "interfaces": ["x.Y"], "declaringMethod": {"name": "m", "parameterTypes": []}}},
])
_KEYS = st.sampled_from(["name", "type", "condition", "methods", "queriedMethods", "fields", "reasons", "reason",
                         "allDeclaredFields", "queryAllPublicMethods", "jniAccessible", "serializable",
                         "parameterTypes", "allowWrite", "typeReachable", "proxy", "bogus"])


def _places(value: object, path: tuple = ()):
    yield path
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, inner in items:
        yield from _places(inner, path + (key,))


def _at(value, path: tuple):
    for key in path:
        value = value[key]
    return value


_BAD_NAMES = st.sampled_from(["", "[X", "[Lx;y", "[", "a\u0000b", "[[I", "x" * 65536])


@st.composite
def changed_entry(draw, legacy: bool):
    """A valid entry with one thing changed anywhere in it: a value replaced, a key added or taken away."""
    entry = copy.deepcopy(draw(legacy_type_entry(legacy=legacy, flag_values=st.just(True))))
    places = list(_places(entry))
    names = [p for p in places if type(_at(entry, p)) is str]  # type names, mostly: checked after the shape
    path = draw(st.sampled_from(names if names and draw(st.booleans()) else places))
    *parent_path, last = path or (None,)
    holder = _at(entry, tuple(parent_path))
    target = _at(entry, path)
    how = draw(st.sampled_from(["replace", "add", "remove"]))
    if how == "add" and isinstance(target, dict):
        target[draw(_KEYS)] = draw(_ODD)
    elif how == "remove" and path:
        del holder[last]
    elif path:
        holder[last] = draw(_BAD_NAMES if type(target) is str and draw(st.booleans()) else _ODD)
    return entry



def _outcome(read, files, *args) -> tuple:
    try:
        got = read(files, *args)
    except InvalidMetadata as exc:
        return ("error", exc.entry, exc.problem)
    return ("merged", got.build(), got.provenance())


@pytest.mark.parametrize("legacy", [True, False], ids=["legacy", "unified"])
@pytest.mark.parametrize("layout", [agent_layout, minified, indented], ids=["agent", "minified", "indented"])
@given(data=st.data())
def test_entries_decoded_to_their_shape_get_exactly_the_parsers_verdict(legacy, layout, data) -> None:
    entries = [data.draw(legacy_type_entry(legacy=legacy, flag_values=st.just(True))),
               *data.draw(st.lists(changed_entry(legacy), min_size=1, max_size=3))]
    kind, doc = (FileKind.REFLECT, list) if legacy else (FileKind.UNIFIED, lambda e: {"reflection": e})
    # A file before it makes some of its entries known as text, the rest are decoded.
    files = [(kind, doc(entries[:1]), "t1"), (kind, doc(entries), "t2")]
    assert _outcome(deduped, files, layout) == _outcome(plain, files)


def test_the_common_entry_is_checked_by_its_shape_alone(monkeypatch) -> None:
    import metadata_pipeline.core.parse as parse

    handed_on: list = []
    real = parse._value_of
    monkeypatch.setattr(parse, "_value_of", lambda entry: handed_on.append(entry) or real(entry))
    legacy = [{"name": "a.A", "condition": {"typeReachable": "c.C"}, "allDeclaredFields": True,
               "methods": [{"name": "<init>", "parameterTypes": ["int", "[B"]}], "fields": [{"name": "f"}]}]
    unified = {"reflection": [{"type": "b.B", "condition": {"typeReached": "c.C"}, "allPublicMethods": True,
                               "fields": [{"name": "g", "allowWrite": True}]}]}
    files = [(FileKind.REFLECT, legacy, "t1"), (FileKind.UNIFIED, unified, "t2")]
    assert deduped(files, indented).build() == plain(files).build()
    assert handed_on == []
    # a rarer shape is handed to the parser as the value it is
    files = [(FileKind.UNIFIED, {"reflection": [{"type": "b.B", "jniAccessible": True}]}, "t3")]
    assert deduped(files, indented).build() == plain(files).build()
    assert len(handed_on) == 1


_LEGACY_CASES = [
    {"name": "a.A", "condition": {"typeReachable": "[X"}},  # what the shape cannot say: type names,
    {"name": "a.A", "condition": {"typeReachable": "x.Y", "typeReached": "y.Z"}},  # one condition key,
    {"name": "a.A", "condition": {}},
    {"name": "a.A", "methods": [{"name": "m", "parameterTypes": ["int", "[Lx;y"]}]},
    {"name": "a.A", "queriedMethods": [{"name": "m", "parameterTypes": [""]}]},
    {"name": "a\u0000A"}, {"name": "x" * 65536}, {"name": ""},
    {"name": "a.A", "type": "a.A"}, {"type": "a.A"}, {"type": {"proxy": ["a.B"]}}, {},  # name or type
    {"name": "a.A", "allDeclaredFields": False}, {"name": "a.A", "fields": [{"name": "f", "allowWrite": False}]},
    {"name": "a.A", "methods": None}, {"name": "a.A", "allDeclaredFields": 1}, {"name": "a.A", "bogus": 1},
]
_UNIFIED_CASES = [
    {"type": "a.A", "condition": {"typeReached": "[X"}}, {"type": "a.A", "condition": {"typeReachable": "x.Y"}},
    {"type": "a.A", "methods": [{"name": "m", "parameterTypes": ["[Q"]}]}, {"type": "[[I", "jniAccessible": True},
    {"type": "a.A", "serializable": True}, {"type": {"proxy": ["a.B"]}, "allPublicMethods": True},
    {"type": {"lambda": {"declaringClass": "a.B", "interfaces": ["java.lang.Runnable"]}}},
    {"type": {"proxy": ["a.B"], "lambda": {"declaringClass": "a.B", "interfaces": ["x.Y"]}}},
    {"type": "a.A", "queriedMethods": []}, {"type": "a.A", "reason": ["why", 1]}, {"type": "a.A", "reason": "why"},
]


@pytest.mark.parametrize("layout", [agent_layout, minified, indented], ids=["agent", "minified", "indented"])
@pytest.mark.parametrize("kind, entry", [*((FileKind.REFLECT, e) for e in _LEGACY_CASES),
                                         *((FileKind.UNIFIED, e) for e in _UNIFIED_CASES)])
def test_each_check_after_the_shape_gives_the_parsers_verdict(layout, kind, entry) -> None:
    entries = [{"name": "k.K"} if kind is FileKind.REFLECT else {"type": "k.K"}, entry]
    doc = entries if kind is FileKind.REFLECT else {"reflection": entries}
    files = [(kind, doc, "t1")]
    assert _outcome(deduped, files, layout) == _outcome(plain, files)
