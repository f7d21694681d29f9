"""``merge`` and ``validate`` end to end, as a maintainer runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_helpers import assert_one_line_error, run_cli, write_dir
from conftest import reference

TEST_A = {"reflect-config.json": [{"name": "kafka.Kafka", "methods": [{"name": "main", "parameterTypes": ["java.lang.String[]"]}]},
                                  {"name": "[B"}],
          "resource-config.json": {"resources": {"includes": [{"pattern": "\\Qkafka/kafka-version.properties\\E"}]}, "bundles": []}}
TEST_B = {"reflect-config.json": [{"name": "kafka.Kafka", "allDeclaredFields": True}, {"name": "byte[]"},
                                  {"name": "kafka.server.KafkaConfig"}],
          "reachability-metadata.json": {"resources": [{"glob": "linux/amd64/libzstd-jni-1.5.6-6.so"}]}}


@pytest.fixture
def collected(tmp_path: Path) -> Path:
    root = tmp_path / "collected"
    write_dir(root / "SomeTest.test_a" / "ducker02" / "kafka.Kafka-1", TEST_A)
    write_dir(root / "SomeTest.test_b" / "ducker03" / "kafka.Kafka-7", TEST_B)
    return root


def test_merge_finds_config_dirs_recursively_and_writes_canonical_legacy(collected: Path, tmp_path: Path) -> None:
    out = tmp_path / "native-image-configs"
    result = run_cli("merge", collected, "-o", out)
    assert result.code == 0, result.err
    assert "merged 2 config dirs" in result.out
    assert sorted(p.name for p in out.iterdir()) == sorted([
        "jni-config.json", "predefined-classes-config.json", "proxy-config.json", "reflect-config.json",
        "resource-config.json", "serialization-config.json"])
    reflect = json.loads((out / "reflect-config.json").read_text())
    assert reflect == [
        {"name": "[B"},
        {"name": "kafka.Kafka", "allDeclaredFields": True,
         "methods": [{"name": "main", "parameterTypes": ["java.lang.String[]"]}]},
        {"name": "kafka.server.KafkaConfig"},
    ]
    patterns = [i["pattern"] for i in json.loads((out / "resource-config.json").read_text())["resources"]["includes"]]
    assert patterns == ["\\Qkafka/kafka-version.properties\\E", "\\Qlinux/amd64/libzstd-jni-1.5.6-6.so\\E"]


def test_merge_is_byte_identical_on_rerun_and_input_order(collected: Path, tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    dirs = sorted(p for p in collected.rglob("kafka.Kafka-*"))
    assert run_cli("merge", *dirs, "-o", a).code == 0
    assert run_cli("merge", *reversed(dirs), "-o", b).code == 0
    for f in a.iterdir():
        assert f.read_bytes() == (b / f.name).read_bytes()


def test_unified_format_and_provenance_sidecar(collected: Path, tmp_path: Path) -> None:
    out, prov = tmp_path / "out", tmp_path / "provenance.json"
    result = run_cli("merge", collected, "-o", out, "--format", "unified", "--provenance", prov)
    assert result.code == 0, result.err
    assert [p.name for p in out.iterdir()] == ["reachability-metadata.json"]
    doc = json.loads(prov.read_text())
    sources = {(e["category"], e["entry"]): e["sources"] for e in doc["entries"]}
    assert sources[("reflection", "kafka.Kafka")] == ["SomeTest.test_a/ducker02/kafka.Kafka-1", "SomeTest.test_b/ducker03/kafka.Kafka-7"]
    assert sources[("reflection", "kafka.server.KafkaConfig")] == ["SomeTest.test_b/ducker03/kafka.Kafka-7"]
    assert sources[("reflection", "byte[]")] == ["SomeTest.test_a/ducker02/kafka.Kafka-1", "SomeTest.test_b/ducker03/kafka.Kafka-7"]
    # Provenance does not change the metadata written.
    plain = tmp_path / "plain"
    run_cli("merge", collected, "-o", plain, "--format", "unified")
    assert (plain / "reachability-metadata.json").read_bytes() == (out / "reachability-metadata.json").read_bytes()


@pytest.mark.parametrize("name, content, needles", [
    ("reflect-config.json", '[{"name": "a.B"}, {"name": "c.', ["reflect-config.json", "malformed JSON", "truncated"]),
    ("reflect-config.json", "", ["reflect-config.json", "empty file"]),
    ("reflect-config.json", '[{"name": "a.B", "bogus": true}]', ["reflect-config.json", "/0", "unknown key 'bogus'"]),
    ("reflect-config.json", '[{"name": "a.B", "allPublicMethods": "yes"}]', ["/0/allPublicMethods", "expected true or false"]),
    ("reachability-metadata.json", '{"reflection": {}}', ["reachability-metadata.json", "/reflection", "expected an array"]),
])
def test_bad_input_is_one_line_exit_2_and_nothing_written(collected: Path, tmp_path: Path, name, content, needles) -> None:
    out = tmp_path / "out"
    write_dir(out, {"reflect-config.json": "[]", "README.md": "keep me"})
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    write_dir(collected / "Broken.test" / "ducker04" / "p", {name: content})
    result = run_cli("merge", collected, "-o", out)
    assert_one_line_error(result, *needles)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]  # no temp dir left behind


def test_skip_invalid_warns_per_file_and_counts(collected: Path, tmp_path: Path) -> None:
    write_dir(collected / "Broken.test" / "n" / "p", {"reflect-config.json": '[{"name": "x.Y"}, {"name": ',
                                                       "proxy-config.json": '[{"interfaces": ["a.I"]}]'})
    write_dir(collected / "Broken.test2" / "n" / "p", {"jni-config.json": '[{"name": 1}]'})
    out = tmp_path / "out"
    result = run_cli("merge", collected, "-o", out, "--skip-invalid")
    assert result.code == 0, result.err
    assert result.err.count("warning: skipped:") == 2
    assert "skipped 2 invalid input(s)" in result.err
    names = [e["name"] for e in json.loads((out / "reflect-config.json").read_text())]
    assert "x.Y" not in names  # a bad file is dropped whole, never halfway
    assert json.loads((out / "proxy-config.json").read_text()) == [{"interfaces": ["a.I"]}]


def test_lock_file_is_refused_unless_allowed(collected: Path, tmp_path: Path) -> None:
    killed = write_dir(collected / "Kill.test" / "ducker05" / "kafka.Kafka-9", {"reflect-config.json": [{"name": "k.Snap"}]})
    (killed / ".lock").write_text("123")
    (killed / "agent-pid123-20260101T000000Z.tmp").mkdir()
    (killed / "agent-pid123-20260101T000000Z.tmp" / "reflect-config.json").write_text("[{")
    out = tmp_path / "out"
    assert_one_line_error(run_cli("merge", collected, "-o", out), "Kill.test", ".lock", "--allow-stale-locks")
    result = run_cli("merge", collected, "-o", out, "--allow-stale-locks")
    assert result.code == 0, result.err
    assert "k.Snap" in (out / "reflect-config.json").read_text()


def test_merge_keeps_foreign_files_and_replaces_metadata(collected: Path, tmp_path: Path) -> None:
    out = write_dir(tmp_path / "out", {"reachability-metadata.json": {"reflection": [{"type": "old.Gone"}]}, "NOTICE": "x"})
    assert run_cli("merge", collected, "-o", out).code == 0
    assert (out / "NOTICE").read_text() == "x"
    assert not (out / "reachability-metadata.json").exists()
    assert "old.Gone" not in (out / "reflect-config.json").read_text()


def test_strict_schema_runs_jsonschema_on_inputs(collected: Path, tmp_path: Path) -> None:
    write_dir(collected / "Odd.test" / "n" / "p", {"proxy-config.json": '[{"interfaces": "a.I"}]'})
    result = run_cli("merge", collected, "-o", tmp_path / "out", "--strict-schema")
    assert_one_line_error(result, "proxy-config.json", "/0/interfaces")


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    result = run_cli("merge", tmp_path)
    assert result.code == 2 and "-o/--output" in result.err
    assert_one_line_error(run_cli("merge", tmp_path / "missing", "-o", tmp_path / "o"), "no such file")
    (tmp_path / "empty").mkdir()
    assert_one_line_error(run_cli("merge", tmp_path / "empty", "-o", tmp_path / "o"), "no metadata files found")


def test_kafka_committed_configs_merge_to_the_same_metadata(tmp_path: Path) -> None:
    committed = reference("kafka-native-image-configs", "07-2d896d9130f")
    out = tmp_path / "out"
    assert run_cli("merge", committed, "-o", out).code == 0
    again = tmp_path / "again"
    assert run_cli("merge", out, "-o", again).code == 0
    for f in out.iterdir():
        assert f.read_bytes() == (again / f.name).read_bytes()
    names = {e["name"] for e in json.loads((out / "reflect-config.json").read_text())}
    assert {"[B", "org.apache.kafka.tools.LineMessageReader"} <= names and len(names) == 327


def test_validate_reports_findings_with_file_and_pointer(tmp_path: Path) -> None:
    d = write_dir(tmp_path / "cfg", {
        "reflect-config.json": [{"name": " a.B"}, {"name": "c.D", "methods": [{"name": "x", "parameterTypes": []}],
                                                   "queriedMethods": [{"name": "x", "parameterTypes": []}]},
                                {"name": "c.D"}, {"name": "e.F", "condition": {"typeReachable": "[B"}}],
        "proxy-config.json": [{"interfaces": "a.I"}],
    })
    result = run_cli("validate", d)
    assert result.code == 1
    lines = result.out.splitlines()
    assert any("reflect-config.json: /0: type name ' a.B' has leading or trailing whitespace" in l for l in lines)
    assert any("/1/queriedMethods/0: method 'x' is listed both as invoked and as queried" in l for l in lines)
    assert any("/2: note: duplicate entry for 'c.D'" in l for l in lines)
    assert any("/3/condition: condition on array type '[B'" in l for l in lines)
    assert any("proxy-config.json: /0/interfaces:" in l for l in lines)
    assert lines[-1] == "2 file(s) checked, 4 finding(s), 1 note(s)"  # the duplicate is a note


def test_validate_clean_dir_exit_0_and_unreadable_exit_2(tmp_path: Path) -> None:
    d = write_dir(tmp_path / "cfg", {"reflect-config.json": [{"name": "a.B"}]})
    assert run_cli("validate", d).code == 0
    (d / "jni-config.json").write_text("[{")
    assert_one_line_error(run_cli("validate", d), "jni-config.json", "malformed JSON")


def test_validate_the_real_corpus_finds_its_known_quirks() -> None:
    corpus = reference("reachability-corpus")
    result = run_cli("validate", corpus)
    assert result.code == 1
    assert "hibernate-envers" in result.out and "leading or trailing whitespace" in result.out
