"""What GraalVM's own readers accept and how its ``generate`` merges (issue 11, domain facts 3a).

Each test here failed before the fix it guards. ``tests/test_oracle.py`` checks the same
against GraalVM's own code; these run without a JDK.
"""

from __future__ import annotations

import json
from pathlib import Path

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
