"""What GraalVM's own readers accept and how its ``generate`` merges (issue 11, domain facts 3a).

Each test here failed before the fix it guards. ``tests/test_oracle.py`` checks the same
against GraalVM's own code; these run without a JDK.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from metadata_pipeline.core.kinds import FileKind
from metadata_pipeline.core.merge import merge
from metadata_pipeline.core.model import Condition, ProxyEntry
from metadata_pipeline.core.parse import parse
from metadata_pipeline.core.resources import glob_of_regex, glob_problems
from metadata_pipeline.core.serialize import conversion_losses, render

from cli_helpers import run_cli, write_dir


def _docs(files: dict[str, str]) -> dict[str, object]:
    return {name: json.loads(text) for name, text in files.items()}


def test_legacy_files_never_say_type_reached() -> None:
    # GraalVM's legacy parsers reject typeReached ("cannot be used in older schemas").
    m = parse(FileKind.UNIFIED, {
        "reflection": [{"condition": {"typeReached": "a.C"}, "type": "a.B"}],
        "resources": [{"condition": {"typeReached": "a.C"}, "glob": "x.txt"}, {"condition": {"typeReached": "a.C"}, "bundle": "a.M"}],
    })
    legacy = render(m, "legacy")
    assert not any("typeReached" in text for text in legacy.values())
    assert _docs(legacy)["reflect-config.json"] == [{"condition": {"typeReachable": "a.C"}, "name": "a.B"}]
    # The unified file says typeReached; legacy files spilled beside it say typeReachable.
    m2 = merge(m, parse(FileKind.RESOURCE, {"bundles": [{"name": "a.M", "locales": ["fr"], "condition": {"typeReached": "a.C"}}]}))
    unified = render(m2, "unified")
    assert "typeReachable" not in unified["reachability-metadata.json"]
    assert "typeReached" not in unified["resource-config.json"]


def test_type_reachable_and_type_reached_are_one_condition() -> None:
    # generate reads typeReachable as typeReached, so both collapse into one entry.
    m = merge(parse(FileKind.REFLECT, [{"name": "a.B", "condition": {"typeReachable": "x.Y"}, "allDeclaredFields": True}]),
              parse(FileKind.UNIFIED, {"reflection": [{"type": "a.B", "condition": {"typeReached": "x.Y"}, "allPublicMethods": True}]}))
    (entry,) = m.reflection
    assert entry.condition == Condition("x.Y")
    assert entry.flags == {"allDeclaredFields", "allPublicMethods"}
    assert not any("typeReachable" in n for n in conversion_losses(m, "unified"))


def test_regex_to_glob_never_makes_an_invalid_glob() -> None:
    # org/.*\.xml is not org/**.xml: GraalVM reads that as org/*.xml.
    assert glob_of_regex("org/.*\\.xml") is None
    assert glob_of_regex("org/(.*/)?x\\.xml") == "org/**/x.xml"
    assert glob_of_regex("\\Qa//b\\E") is None  # empty level
    m = parse(FileKind.RESOURCE, {"resources": {"includes": [{"pattern": "org/.*\\.xml"}, {"pattern": "\\Qa/b.txt\\E"}]}})
    assert [p.pattern for p in m.resource_patterns] == ["org/.*\\.xml"]
    unified = _docs(render(m, "unified"))
    assert [r["glob"] for r in unified["reachability-metadata.json"]["resources"]] == ["a/b.txt"]
    assert unified["resource-config.json"]["resources"]["includes"] == [{"pattern": "org/.*\\.xml"}]


def test_glob_problems_follow_graalvm() -> None:
    assert glob_problems("org/**/x.xml") == [] and glob_problems("**/") == [] and glob_problems("a\\?b") == []
    for bad in ("org/**.xml", "x**", "a//b", "a/***", "**/**", "a?b", ""):
        assert glob_problems(bad), bad


def test_proxy_types_go_where_legacy_parsers_take_them() -> None:
    # Legacy reflect/serialization parsers require "name": no {"type": {"proxy": ...}} there.
    m = parse(FileKind.UNIFIED, {"reflection": [
        {"type": {"proxy": ["a.I"]}, "allDeclaredMethods": True},
        {"type": {"proxy": ["a.J"]}, "serializable": True},
    ]})
    legacy = _docs(render(m, "legacy"))
    assert all("name" in e for e in legacy["reflect-config.json"])
    assert legacy["reflect-config.json"] == []
    assert legacy["proxy-config.json"] == [{"interfaces": ["a.I"]}, {"interfaces": ["a.J"]}]
    assert legacy["serialization-config.json"]["types"] == []
    assert legacy["serialization-config.json"]["proxies"] == [{"interfaces": ["a.J"]}]
    (note,) = conversion_losses(m, "legacy")
    assert note.startswith("1 proxy types with reflection flags or members")
    # A serializable proxy is one entry however it is spelled.
    assert m.serialization == () and m.serialization_proxies == (ProxyEntry(("a.J",)),)
    assert parse(FileKind.SERIALIZATION, {"types": [{"type": {"proxy": ["a.J"]}}]}).serialization_proxies == m.serialization_proxies


def test_no_allow_unsafe_access_in_output_and_the_loss_is_said() -> None:
    m = parse(FileKind.REFLECT, [{"name": "a.B", "fields": [{"name": "f", "allowWrite": True, "allowUnsafeAccess": True}]}])
    legacy = _docs(render(m, "legacy"))
    assert legacy["reflect-config.json"] == [{"name": "a.B", "fields": [{"name": "f", "allowWrite": True}]}]
    assert any("allowUnsafeAccess" in n for n in conversion_losses(m, "legacy"))


def test_lambda_capturing_names_are_cut_at_lambda() -> None:
    m = parse(FileKind.SERIALIZATION, {"lambdaCapturingTypes": [{"name": "a.M$$Lambda$123/0x0000000800c1d000"}, {"name": "a.M"}]})
    assert [t.name for t in m.serialization_lambda_capturing] == ["a.M"]


def test_top_level_reason_and_comment_are_accepted(tmp_path: Path) -> None:
    src = write_dir(tmp_path / "in", {
        "reachability-metadata.json": {"reason": "why", "comment": ["a", "b"], "reflection": [{"type": "a.B"}]},
        "resource-config.json": {"comment": "c", "resources": {"includes": [{"pattern": "\\Qa.txt\\E"}]}},
        "serialization-config.json": {"reason": ["r"], "types": [{"name": "a.B"}]},
    })
    result = run_cli("merge", src, "-o", tmp_path / "out")
    assert result.code == 0, result.err
    assert run_cli("validate", src).code == 0


def test_predefined_class_data_is_copied(tmp_path: Path) -> None:
    src = write_dir(tmp_path / "in", {"predefined-classes-config.json": [
        {"type": "agent-extracted", "classes": [{"hash": "ab12", "nameInfo": "x.Y"}, {"hash": "cd34"}]}]})
    (src / "agent-extracted-predefined-classes").mkdir()
    (src / "agent-extracted-predefined-classes" / "ab12.classdata").write_bytes(b"\xca\xfe\xba\xbe\x00")
    out = tmp_path / "out"
    result = run_cli("merge", src, "-o", out)
    assert result.code == 0, result.err
    assert (out / "agent-extracted-predefined-classes" / "ab12.classdata").read_bytes() == b"\xca\xfe\xba\xbe\x00"
    # The one without bytes is a loss, and said once with a count.
    assert "1 predefined class(es) without class data" in result.err and "cd34" in result.err
    # Re-running into the same directory replaces the class data, never duplicates or loses it.
    assert run_cli("merge", src, "-o", out).code == 0
    assert sorted(p.name for p in (out / "agent-extracted-predefined-classes").iterdir()) == ["ab12.classdata"]


def test_only_losses_are_reported(tmp_path: Path) -> None:
    # Kafka-shaped legacy input converted to legacy: nothing is lost, nothing is said.
    src = write_dir(tmp_path / "in", {"reflect-config.json": [{"name": "a.B", "condition": {"typeReachable": "x.Y"}}]})
    result = run_cli("merge", src, "-o", tmp_path / "out")
    assert result.code == 0 and "cannot express" not in result.err, result.err
    result = run_cli("merge", src, "-o", tmp_path / "out2", "--format", "unified")
    assert result.code == 0 and "cannot express" not in result.err, result.err


def test_validate_errors_on_what_graalvm_rejects_or_misreads(tmp_path: Path) -> None:
    d = write_dir(tmp_path / "cfg", {
        "reflect-config.json": [{"name": "a.B", "condition": {"typeReached": "x.Y"}},
                                {"type": {"proxy": ["a.I"]}, "allDeclaredMethods": True},
                                {"name": "c.D", "fields": [{"name": "f", "allowUnsafeAccess": True}]}],
        "reachability-metadata.json": {"resources": [{"glob": "org/**.xml"}, {"glob": "org/**/x.xml"}]},
        "predefined-classes-config.json": [{"type": "agent-extracted", "classes": [{"hash": "ab12"}]}],
    })
    result = run_cli("validate", d)
    assert result.code == 1
    lines = result.out.splitlines()
    assert any("reflect-config.json: /0/condition: 'typeReached' in a legacy file" in l for l in lines)
    assert any("reflect-config.json: /1: legacy entry without 'name'" in l for l in lines)
    assert any("reflect-config.json: /2/fields/0: allowUnsafeAccess is ignored" in l for l in lines)
    assert any("reachability-metadata.json: /resources/0/glob: glob 'org/**.xml': '**' not alone" in l for l in lines)
    assert any("predefined-classes-config.json: /0/classes/0: no class data" in l for l in lines)
    assert lines[-1] == "3 file(s) checked, 5 finding(s)"


def test_duplicate_entry_is_a_note_that_fails_only_with_strict(tmp_path: Path) -> None:
    d = write_dir(tmp_path / "cfg", {"reflect-config.json": [{"name": "a.B"}, {"name": "a.B", "condition": {"typeReachable": "x.Y"}},
                                                             {"name": "a.B"}]})
    result = run_cli("validate", d)
    assert result.code == 0, result.out
    assert "reflect-config.json: /2: note: duplicate entry for 'a.B'" in result.out
    assert result.out.splitlines()[-1] == "1 file(s) checked, 0 finding(s), 1 note(s)"
    assert run_cli("validate", "--strict", d).code == 1


def test_validate_notes_the_real_duplicate_in_log4j_api() -> None:
    from conftest import reference

    result = run_cli("validate", reference("reachability-corpus", "org.apache.logging.log4j", "log4j-api", "2.0"))
    assert "note: duplicate entry" in result.out, result.out


# -- every output against GraalVM's official schemas ------------------------------------------

_OFFICIAL = {
    "reflect-config.json": "reflect-config-schema-v1.2.0.json",
    "jni-config.json": "jni-config-schema-v1.2.0.json",
    "proxy-config.json": "proxy-config-schema-v1.1.0.json",
    "resource-config.json": "resource-config-schema-v1.1.0.json",
    "serialization-config.json": "serialization-config-schema-v1.2.0.json",
    "predefined-classes-config.json": "predefined-classes-config-schema-v1.0.0.json",
    "reachability-metadata.json": "reachability-metadata-schema-v1.2.0.json",
}


def _repaired(doc: dict) -> dict:
    """Two official schemas are malformed; repaired here, in memory, never on disk.

    - config-condition-schema-v1.0.0.json says ``"oneOf": ["typeReachable", "typeReached"]``
      (strings, not schemas): meant is exactly one of the two keys, so each becomes
      ``{"required": [key]}``.
    - config-type-schema-v1.0.0.json has ``"required": "proxy"`` inside ``properties`` (as if
      ``required`` were a property): it moves out to the object schema as ``["proxy"]``.
    """
    import copy

    doc = copy.deepcopy(doc)
    if doc.get("oneOf") == ["typeReachable", "typeReached"]:
        doc["oneOf"] = [{"required": ["typeReachable"]}, {"required": ["typeReached"]}]
    for alt in doc.get("oneOf", []):
        if isinstance(alt, dict) and alt.get("properties", {}).get("required") == "proxy":
            del alt["properties"]["required"]
            alt["required"] = ["proxy"]
    return doc


def _official_validators():
    from jsonschema import validators
    from referencing import Registry, Resource

    from conftest import reference

    root = reference("graalvm-schemas")
    docs = {path.name: _repaired(json.loads(path.read_text())) for path in root.glob("*.json")}
    # Schemas refer to their siblings by file name, relative to $ids under two different base
    # URLs (github.com/.../blob and raw.githubusercontent.com): each is registered under both.
    bases = {doc["$id"].rsplit("/", 1)[0] for doc in docs.values()}
    registry = Registry()
    for name, doc in docs.items():
        for base in bases:
            registry = registry.with_resource(f"{base}/{name}", Resource.from_contents(doc))
    out = {}
    for file, schema_name in _OFFICIAL.items():
        schema = _repaired(json.loads((root / schema_name).read_text()))
        out[file] = validators.validator_for(schema)(schema, registry=registry)
    return out


def _schema_input(doc: object) -> object:
    # GraalVM's legacy parsers read allowWrite and its generate writes it, while the official
    # legacy schemas list only "name" in fields: the one deliberate difference (README).
    text = json.dumps(doc).replace(', "allowWrite": true', "")
    return json.loads(text)


def test_repaired_schemas_are_needed_and_enough() -> None:
    from jsonschema import exceptions, validators

    from conftest import reference

    for name in ("config-condition-schema-v1.0.0.json", "config-type-schema-v1.0.0.json"):
        broken = json.loads(reference("graalvm-schemas", name).read_text())
        cls = validators.validator_for(broken)
        if name.startswith("config-condition"):
            with pytest.raises(exceptions.SchemaError):  # strings where schemas belong
                cls.check_schema(broken)
        assert _repaired(broken) != broken
        cls.check_schema(_repaired(broken))
    condition = _official_validators()["reflect-config.json"]
    assert condition.is_valid([{"name": "a.B", "condition": {"typeReachable": "x.Y"}}])
    assert not condition.is_valid([{"name": "a.B", "condition": {"typeReachable": "x.Y", "typeReached": "x.Y"}}])


def _reference_dirs() -> list[Path]:
    from conftest import REFERENCE
    from metadata_pipeline.files.configdir import find_config_dirs

    return [d.path for d in find_config_dirs([REFERENCE])] if REFERENCE.exists() else []


@pytest.mark.parametrize("fmt", ["legacy", "unified"])
def test_every_output_passes_the_official_schemas(tmp_path: Path, fmt: str) -> None:
    dirs = _reference_dirs() or pytest.skip("reference data not available")
    validators = _official_validators()
    failures = []
    for i, d in enumerate(dirs + [None]):  # each dir alone, then all of them merged
        out = tmp_path / str(i)
        assert run_cli("merge", *(dirs if d is None else [d]), "-o", out, "--format", fmt).code == 0
        for path in sorted(out.glob("*.json")):
            errors = list(validators[path.name].iter_errors(_schema_input(json.loads(path.read_text()))))
            failures += [f"{d}: {path.name}: {e.json_path}: {e.message}" for e in errors[:1]]
    assert failures == []
