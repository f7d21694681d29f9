"""Our schemas vs. GraalVM's official ones, and the parser vs. our schemas.

- What GraalVM's official schemas accept among real files, ours accept too.
- The parser (the merge's hot path) rejects exactly what our schemas reject: on the real
  corpus and on generated invalid inputs.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metadata_pipeline.core.errors import InvalidMetadata
from metadata_pipeline.core.kinds import FileKind, kind_of_file
from metadata_pipeline.core.parse import parse
from metadata_pipeline.files.schema import conforms, schema_errors

from conftest import REFERENCE, reference
from strategies import config_dir_documents

OFFICIAL = {
    FileKind.REFLECT: ["reflect-config-schema-v1.2.0.json", "reflect-config-schema-v1.1.0.json"],
    FileKind.JNI: ["jni-config-schema-v1.2.0.json"],
    FileKind.PROXY: ["proxy-config-schema-v1.1.0.json"],
    FileKind.RESOURCE: ["resource-config-schema-v1.1.0.json"],
    FileKind.SERIALIZATION: ["serialization-config-schema-v1.2.0.json"],
    FileKind.PREDEFINED_CLASSES: ["predefined-classes-config-schema-v1.0.0.json"],
    FileKind.UNIFIED: ["reachability-metadata-schema-v1.0.0.json", "reachability-metadata-schema-v1.1.0.json",
                       "reachability-metadata-schema-v1.2.0.json", "substratevm-schemas/reachability-metadata-schema-v1.2.0.json"],
}


def _corpus_files() -> list[Path]:
    if not REFERENCE.exists():
        return []
    return sorted(p for p in REFERENCE.rglob("*.json") if kind_of_file(p.name))


def _official_accepts(kind: FileKind, data: object) -> bool:
    from jsonschema import validators
    from referencing import Registry, Resource

    schemas_dir = reference("graalvm-schemas")
    registry = Registry()
    for path in schemas_dir.rglob("*.json"):
        doc = json.loads(path.read_text())
        registry = registry.with_resource(doc["$id"], Resource.from_contents(doc))
    for name in OFFICIAL[kind]:
        schema = json.loads((schemas_dir / name).read_text())
        validator = validators.validator_for(schema)(schema, registry=registry)
        try:
            if not any(validator.iter_errors(data)):
                return True
        except Exception:  # an official schema that jsonschema cannot evaluate decides nothing
            continue
    return False


@pytest.mark.parametrize("path", _corpus_files(), ids=lambda p: str(p.relative_to(REFERENCE)))
def test_what_graalvm_schemas_accept_ours_accept(path: Path) -> None:
    kind = kind_of_file(path.name)
    data = json.loads(path.read_text())
    if _official_accepts(kind, data):
        assert schema_errors(kind, data) == []


def test_official_schemas_accept_most_of_the_corpus() -> None:
    # Guards the test above against passing vacuously (e.g. a registry that resolves nothing).
    files = _corpus_files() or pytest.skip("reference data not available")
    accepted = sum(_official_accepts(kind_of_file(p.name), json.loads(p.read_text())) for p in files)
    assert accepted >= len(files) // 2


def _parser_rejects(kind: FileKind, data: object) -> bool:
    try:
        parse(kind, data)
    except InvalidMetadata:
        return True
    return False


@pytest.mark.parametrize("path", _corpus_files(), ids=lambda p: str(p.relative_to(REFERENCE)))
def test_parser_and_schema_agree_on_real_files(path: Path) -> None:
    kind = kind_of_file(path.name)
    data = json.loads(path.read_text())
    assert _parser_rejects(kind, data) == bool(schema_errors(kind, data))


# -- generated invalid inputs ---------------------------------------------------------------

_ODD_VALUES = [None, 1, 2.5, True, "x", [], {}, ["x"], [1], {"name": "x"}, {"proxy": ["a.I"]}, {"typeReached": "a"},
               # type names the format forbids: empty, with a NUL, a malformed array descriptor
               "", "a\u0000b", "[", "[Q", "[L;", "[B\n", "[L[La.B;", "[La;b;", "[Ljava.lang.String;", [""], ["["], {"typeReachable": "["}]
_ODD_KEYS = ["bogus", "name", "type", "condition", "typeReachable", "typeReached", "methods", "interfaces",
             "pattern", "glob", "bundle", "module", "locales", "parameterTypes", "allowWrite", "jniAccessible",
             "queryAllDeclaredMethods", "reason", "reasons", "lambda", "proxy", "hash", "includes", "excludes"]


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, prefix + (i,))


def _get(value, path):
    for p in path:
        value = value[p]
    return value


@st.composite
def mutated(draw):
    docs = draw(config_dir_documents().filter(bool))
    kind = draw(st.sampled_from(sorted(docs, key=lambda k: k.value)))
    data = copy.deepcopy(docs[kind])
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(data))
        path = draw(st.sampled_from(paths))
        op = draw(st.sampled_from(["replace", "add_key", "drop_key", "append"]))
        target = _get(data, path[:-1]) if path else None
        if op == "replace" and path:
            target[path[-1]] = copy.deepcopy(draw(st.sampled_from(_ODD_VALUES)))
        elif op == "replace":
            data = copy.deepcopy(draw(st.sampled_from(_ODD_VALUES)))
        else:
            node = _get(data, path)
            if op == "add_key" and isinstance(node, dict):
                node[draw(st.sampled_from(_ODD_KEYS))] = copy.deepcopy(draw(st.sampled_from(_ODD_VALUES)))
            elif op == "drop_key" and isinstance(node, dict) and node:
                node.pop(draw(st.sampled_from(sorted(node))))
            elif op == "append" and isinstance(node, list):
                node.append(copy.deepcopy(draw(st.sampled_from(_ODD_VALUES))))
    return kind, data


@given(mutated())
def test_parser_rejects_exactly_what_the_schema_rejects(case) -> None:
    kind, data = case
    assert _parser_rejects(kind, data) == bool(schema_errors(kind, data)), json.dumps(data)[:500]


@pytest.mark.parametrize("kind, data", [
    (FileKind.REFLECT, [{"name": ""}]),
    (FileKind.REFLECT, [{"name": "a\u0000b"}]),
    (FileKind.REFLECT, [{"name": "[Q"}]),
    (FileKind.REFLECT, [{"name": "a.A", "condition": {"typeReachable": "["}}]),
    (FileKind.REFLECT, [{"name": "a.A", "methods": [{"name": "m", "parameterTypes": ["[X"]}]}]),
    (FileKind.PROXY, [{"interfaces": [""]}]),
    (FileKind.UNIFIED, {"reflection": [{"type": "[", "condition": {"typeReached": "a.A"}}]}),
])
def test_malformed_type_names_are_rejected_by_both_with_a_pointer(kind, data) -> None:
    errors = schema_errors(kind, data)
    assert errors and errors[0].entry != "/"
    with pytest.raises(InvalidMetadata) as info:
        parse(kind, data)
    assert info.value.entry not in ("", "/")


@pytest.mark.parametrize("kind", list(FileKind), ids=lambda k: k.value)
def test_our_schemas_are_valid_draft_2020_12(kind: FileKind) -> None:
    # The validator no longer checks its schema at run time (it cost ~0.3 s per merge): here instead.
    from jsonschema import Draft202012Validator

    from metadata_pipeline.files.schema import schema_for

    Draft202012Validator.check_schema(schema_for(kind))


# -- the fast verdict (jsonschema-rs) agrees with jsonschema's -------------------------------

def _jsonschema_accepts(kind: FileKind, data: object) -> bool:
    from jsonschema import Draft202012Validator

    from metadata_pipeline.files.schema import schema_for

    return not any(Draft202012Validator(schema_for(kind)).iter_errors(data))


@given(mutated())
def test_fast_verdict_agrees_with_jsonschema_on_generated_inputs(case) -> None:
    kind, data = case
    assert conforms(kind, data) == _jsonschema_accepts(kind, data), json.dumps(data)[:500]


@pytest.mark.parametrize("path", _corpus_files(), ids=lambda p: str(p.relative_to(REFERENCE)))
def test_fast_verdict_agrees_with_jsonschema_on_real_files(path: Path) -> None:
    kind = kind_of_file(path.name)
    data = json.loads(path.read_text())
    assert conforms(kind, data) == _jsonschema_accepts(kind, data)


def test_a_lone_surrogate_is_left_to_jsonschema_which_accepts_it() -> None:
    data = json.loads('[{"name": "a.\\ud800"}]')  # valid JSON; jsonschema-rs cannot take it in
    assert not conforms(FileKind.REFLECT, data)
    assert schema_errors(FileKind.REFLECT, data) == []
