"""Noise filters: the agent's filter format, applied to every kind of class entry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from metadata_pipeline.core.errors import InvalidMetadata
from metadata_pipeline.core.filters import apply_filter, parse_filter
from metadata_pipeline.core.kinds import FileKind
from metadata_pipeline.core.merge import merge
from metadata_pipeline.core.parse import parse

from cli_helpers import assert_one_line_error, run_cli, write_dir
from conftest import ROOT

KAFKA_FILTER = ROOT / "system-test-overrides" / "filters" / "kafka.json"


def f(*rules, regex=()):
    return parse_filter({"rules": list(rules), "regexRules": list(regex)}, "f.json")


@pytest.mark.parametrize("pattern, name, hit", [
    ("a.b.**", "a.b.C", True), ("a.b.**", "a.b.c.D", True), ("a.b.**", "a.bc.D", False), ("a.b.**", "a.b", False),
    ("a.b.*", "a.b.C", True), ("a.b.*", "a.b.c.D", False), ("a.b.*", "a.b.C$Inner", True),
    ("**", "x", True), ("a.b.C", "a.b.C", True), ("a.b.C", "a.b.C$D", False),
])
def test_patterns_mean_what_the_agent_means(pattern: str, name: str, hit: bool) -> None:
    assert (f({"excludeClasses": pattern}).excludes(name) is not None) is hit


def test_later_rules_win_and_unmatched_classes_stay() -> None:
    flt = f({"excludeClasses": "a.**"}, {"includeClasses": "a.keep.**"}) + f({"excludeClasses": "a.keep.Not"})
    assert flt.excludes("a.x.Y") and not flt.excludes("a.keep.Y") and flt.excludes("a.keep.Not")
    assert not flt.excludes("b.Z")
    assert f(regex=[{"excludeClasses": r".*\$\$Lambda.*"}]).excludes("a.B$$Lambda$12/0x1")


@pytest.mark.parametrize("doc, problem", [
    ([], "an object"), ({"rules": {}}, "expected an array"), ({"rulez": []}, "unknown key"),
    ({"rules": [{"excludeClasses": "a.*.b"}]}, "invalid class pattern"),
    ({"rules": [{"includeClasses": "a", "excludeClasses": "b"}]}, "a rule is"),
    ({"regexRules": [{"excludeClasses": "("}]}, "invalid regex"),
])
def test_bad_filter_files(doc, problem) -> None:
    with pytest.raises(InvalidMetadata, match=problem):
        parse_filter(doc, "f.json")


def test_applies_to_every_class_entry_and_counts_per_rule() -> None:
    m = merge(
        parse(FileKind.REFLECT, [{"name": "kafka.Kafka"}, {"name": "[Lorg.apache.kafka.trogdor.X;"},
                                 {"name": "kafka.Keep", "condition": {"typeReached": "org.apache.kafka.trogdor.Agent"}}]),
        parse(FileKind.JNI, [{"name": "org.apache.kafka.trogdor.Native"}]),
        parse(FileKind.PROXY, [{"interfaces": ["java.lang.Runnable", "org.apache.kafka.trogdor.I"]}, {"interfaces": ["a.I"]}]),
        parse(FileKind.SERIALIZATION, {"types": [{"name": "org.apache.kafka.trogdor.S"}, {"name": "java.lang.Long"}],
                                       "lambdaCapturingTypes": [{"name": "org.apache.kafka.trogdor.L"}], "proxies": []}),
        parse(FileKind.RESOURCE, {"resources": {"includes": [{"pattern": "\\Qtrogdor.properties\\E"}]}}),
        parse(FileKind.UNIFIED, {"reflection": [{"type": {"lambda": {"declaringClass": "org.apache.kafka.trogdor.W",
                                                                     "interfaces": ["java.lang.Runnable"]}}}]}),
    )
    kept, report = apply_filter(m, f({"excludeClasses": "org.apache.kafka.trogdor.**"}))
    assert [e.type for e in kept.reflection] == ["kafka.Kafka"]
    assert not kept.jni and [p.interfaces for p in kept.proxies] == [("a.I",)]
    assert [s.type for s in kept.serialization] == ["java.lang.Long"] and not kept.serialization_lambda_capturing
    assert kept.resource_globs == m.resource_globs  # resources name no class
    assert report.by_category == {"reflection": 3, "jni": 1, "proxies": 1, "serialization": 1,
                                  "serialization_lambda_capturing": 1}
    assert report.by_rule == {"f.json:/rules/0 excludeClasses org.apache.kafka.trogdor.**": 7}


def test_kafka_default_filter_is_valid_and_drops_generated_names() -> None:
    flt = parse_filter(json.loads(KAFKA_FILTER.read_text()), "kafka.json")
    for noise in ("jdk.internal.reflect.GeneratedMethodAccessor12", "com.sun.proxy.$Proxy7", "jdk.proxy2.$Proxy31",
                  "kafka.server.KafkaApis$$Lambda$1234/0x0000000800abc", "org.apache.kafka.trogdor.agent.Agent",
                  "org.apache.kafka.tools.VerifiableProducer"):
        assert flt.excludes(noise), noise
    for real in ("kafka.Kafka", "org.apache.kafka.tools.LineMessageReader", "sun.security.provider.SHA",
                 "com.github.luben.zstd.ZstdInputStreamNoFinalizer", "kafka.server.KafkaApis"):
        assert not flt.excludes(real), real


def test_merge_filter_flag_config_file_and_report(tmp_path: Path) -> None:
    collected = write_dir(tmp_path / "c" / "t1" / "n" / "p", {"reflect-config.json": [
        {"name": "kafka.Kafka"}, {"name": "jdk.internal.reflect.GeneratedMethodAccessor3"}, {"name": "x.Noise"}]})
    extra = write_dir(tmp_path / "f", {"extra.json": {"rules": [{"excludeClasses": "x.*"}]}}) / "extra.json"
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "metadata-pipeline.toml").write_text(f'[metadata_pipeline]\nfilters = ["{KAFKA_FILTER}"]\n')
    out = tmp_path / "out"
    result = run_cli("merge", collected, "-o", out, "--filter", extra, "--provenance", tmp_path / "p.json", cwd=repo)
    assert result.code == 0, result.err
    assert [e["name"] for e in json.loads((out / "reflect-config.json").read_text())] == ["kafka.Kafka"]
    assert "filters removed 2 entries (2 reflection)" in result.err
    assert f"1  {KAFKA_FILTER}:/rules/11 excludeClasses jdk.internal.reflect.**" in result.err
    assert f"1  {extra}:/rules/0 excludeClasses x.*" in result.err
    assert [e["entry"] for e in json.loads((tmp_path / "p.json").read_text())["entries"]] == ["kafka.Kafka"]
    # --no-config: only the explicit filter.
    result = run_cli("merge", collected, "-o", out, "--filter", extra, "--no-config", cwd=repo)
    assert "jdk.internal.reflect.GeneratedMethodAccessor3" in (out / "reflect-config.json").read_text()


def test_bad_filter_and_bad_settings_are_one_line_errors(tmp_path: Path) -> None:
    collected = write_dir(tmp_path / "c", {"reflect-config.json": [{"name": "a.B"}]})
    bad = write_dir(tmp_path / "f", {"bad.json": {"rules": [{"excludeClasses": "a.*.b"}]}}) / "bad.json"
    assert_one_line_error(run_cli("merge", collected, "-o", tmp_path / "o", "--filter", bad), "bad.json", "/rules/0")
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "metadata-pipeline.toml").write_text("[metadata_pipeline]\nfilterz = []\n")
    assert_one_line_error(run_cli("merge", collected, "-o", tmp_path / "o", cwd=repo), "metadata-pipeline.toml",
                          "unknown setting 'filterz'")
