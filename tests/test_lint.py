"""lint against Kafka's real jars (tests/pom.xml), jars built at test time (javac + zip), and the JDK."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jarfactory import class_file, compile_java, write_jar
from cli_helpers import assert_one_line_error, run_cli, write_dir
from conftest import reference

OTHER_READER = """package org.example;
public class LineMessageReader { }"""
INIT = {"methods": [{"name": "<init>", "parameterTypes": []}]}


@pytest.fixture(scope="module")
def libs(tmp_path_factory) -> Path:
    """Kafka 4.0.0's real jars (tests/pom.xml): after the LineMessageReader move and a zstd-jni bump."""
    import shutil

    from docker_fixtures import kafka_libs

    real = kafka_libs()
    libs = tmp_path_factory.mktemp("libs") / "libs"
    libs.mkdir()
    for name in ("kafka-tools-4.0.0.jar", "kafka_2.13-4.0.0.jar", "kafka-clients-4.0.0.jar", "zstd-jni-1.5.6-6.jar",
                 "argparse4j-0.7.0.jar"):
        shutil.copyfile(real / name, libs / name)
    return libs


def stale_configs(tmp_path: Path) -> Path:
    return write_dir(tmp_path / "native-image-configs", {
        "reflect-config.json": [
            {"name": "kafka.tools.ConsoleProducer$LineMessageReader", **INIT},
            {"name": "kafka.security.authorizer.AclAuthorizer", **INIT},
            {"name": "kafka.Kafka", "methods": [{"name": "main", "parameterTypes": ["java.lang.String[]"]},
                                                {"name": "gone", "parameterTypes": []}],
             "fields": [{"name": "port"}]},
            {"name": "[Ljava.lang.String;"}, {"name": "java.util.concurrent.ConcurrentHashMap", "allDeclaredFields": True},
            {"name": "com.github.luben.zstd.Zstd", "condition": {"typeReachable": "com.github.luben.zstd.util.Gone"}},
        ],
        "resource-config.json": {"resources": {"includes": [
            {"pattern": "\\Qlinux/amd64/libzstd-jni-1.5.6-5.so\\E"}, {"pattern": "\\Qkafka/kafka-version.properties\\E"},
            {"pattern": "java.base:\\Qjava/lang/Object.class\\E"}, {"pattern": "\\Qno/such/thing.txt\\E"}]},
            "bundles": [{"name": "net.sourceforge.argparse4j.internal.ArgumentParserImpl", "locales": ["und"]},
                        {"name": "gone.Messages"}]},
        "proxy-config.json": [{"interfaces": ["java.lang.Runnable"]}, {"interfaces": ["gone.Iface"]}],
    })


def test_findings_one_line_each_with_suggestions(libs: Path, tmp_path: Path) -> None:
    configs = stale_configs(tmp_path)
    result = run_cli("lint", configs, "--classpath", libs)
    assert result.code == 1, result.err
    reflect, resource, proxy = (f"{configs}/{n}-config.json" for n in ("reflect", "resource", "proxy"))
    lines = result.out.splitlines()
    assert (f"{reflect}: kafka.tools.ConsoleProducer$LineMessageReader: class not found on the classpath or in the JDK; "
            "moved to org.apache.kafka.tools.LineMessageReader? (same simple name and members)") in lines
    assert f"{reflect}: kafka.security.authorizer.AclAuthorizer: class not found on the classpath or in the JDK; " \
           "remove it if the class is gone" in lines
    assert (f"{reflect}: com.github.luben.zstd.Zstd [if typeReachable com.github.luben.zstd.util.Gone]: condition type "
            "com.github.luben.zstd.util.Gone not found: the entry can never apply") in lines
    assert (f"{resource}: linux/amd64/libzstd-jni-1.5.6-5.so: resource matches nothing on the classpath or in the JDK; "
            "renamed to linux/amd64/libzstd-jni-1.5.6-6.so? (a version bump)") in lines
    assert f"{resource}: no/such/thing.txt: resource matches nothing on the classpath or in the JDK" in lines
    assert f"{resource}: gone.Messages: bundle not found (no class or .properties of that base name)" in lines
    assert f"{proxy}: proxy(gone.Iface): interface gone.Iface not found" in lines
    # JDK classes, the JDK resource, the real bundle are fine; members of existing classes are
    # not findings (the agent records failed lookups on purpose: kafka.Kafka.gone()).
    assert lines[-1] == "7 finding(s)"


def test_moves_need_clear_evidence(libs: Path, tmp_path: Path) -> None:
    classes = compile_java({"org/example/LineMessageReader.java": OTHER_READER}, tmp_path / "javac")
    write_jar(tmp_path / "more" / "example.jar", classes)
    configs = write_dir(tmp_path / "c", {"reflect-config.json": [{"name": "kafka.tools.ConsoleProducer$LineMessageReader"}]})
    result = run_cli("lint", configs, "--classpath", libs, "--classpath", tmp_path / "more")
    assert ("ambiguous: org.apache.kafka.tools.LineMessageReader, org.example.LineMessageReader" in result.out)
    # With members, only the class that declares them is a candidate.
    configs = write_dir(tmp_path / "d", {"reflect-config.json": [
        {"name": "kafka.tools.ConsoleProducer$LineMessageReader", "methods": [{"name": "configure", "parameterTypes": ["java.util.Map"]}]}]})
    result = run_cli("lint", configs, "--classpath", libs, "--classpath", tmp_path / "more")
    assert "moved to org.apache.kafka.tools.LineMessageReader?" in result.out


def test_fix_applies_unambiguous_suggestions_canonically(libs: Path, tmp_path: Path) -> None:
    configs = stale_configs(tmp_path)
    result = run_cli("lint", configs, "--classpath", libs, "--fix")
    assert result.code == 1  # findings without a suggestion remain
    assert ("fixed: reflect-config.json: kafka.tools.ConsoleProducer$LineMessageReader -> moved to "
            "org.apache.kafka.tools.LineMessageReader? (same simple name and members)") in result.out
    names = [e["name"] for e in json.loads((configs / "reflect-config.json").read_text())]
    assert "org.apache.kafka.tools.LineMessageReader" in names and "kafka.tools.ConsoleProducer$LineMessageReader" not in names
    patterns = [i["pattern"] for i in json.loads((configs / "resource-config.json").read_text())["resources"]["includes"]]
    assert "\\Qlinux/amd64/libzstd-jni-1.5.6-6.so\\E" in patterns and "\\Qlinux/amd64/libzstd-jni-1.5.6-5.so\\E" not in patterns
    assert result.out.splitlines()[-1] == "5 finding(s)"
    assert run_cli("merge", configs, "-o", configs, "--check", "--strict").code == 0  # written canonically


def test_input_errors(libs: Path, tmp_path: Path) -> None:
    configs = stale_configs(tmp_path)
    assert_one_line_error(run_cli("lint", configs, "--classpath", tmp_path / "missing"), "missing")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "broken.jar").write_bytes(b"not a zip")
    assert_one_line_error(run_cli("lint", configs, "--classpath", tmp_path / "bad"), "broken.jar")
    (tmp_path / "empty").mkdir()
    assert_one_line_error(run_cli("lint", configs, "--classpath", tmp_path / "empty"))
    assert_one_line_error(run_cli("lint", tmp_path / "nope", "--classpath", libs), "no such config directory")


def test_kafka_committed_configs_against_an_assembled_classpath(tmp_path: Path) -> None:
    """Kafka's real 2024 configs (before the ConsoleProducer move) against a classpath that
    has the moved class and a newer zstd-jni: the two 2024 hand edits, found and suggested."""
    configs = reference("kafka-native-image-configs", "05-42cc3c0ad51")
    doc = json.loads((configs / "reflect-config.json").read_text()) + json.loads((configs / "jni-config.json").read_text())
    entries = {}
    for e in doc:
        name = e["name"].lstrip("[")
        name = name[1:-1] if name.endswith(";") else name
        if len(name) == 1 or name.startswith(("java.", "javax.", "sun.", "com.sun.", "jdk.")):
            continue  # primitives and JDK classes: the JDK answers for them
        if name == "kafka.tools.ConsoleProducer$LineMessageReader":
            name = "org.apache.kafka.tools.LineMessageReader"
        if name == "kafka.security.authorizer.AclAuthorizer":
            continue  # removed in Kafka 4.0
        methods = [(m["name"], "(" + "".join(_descriptor(p) for p in m.get("parameterTypes", [])) + ")V")
                   for m in e.get("methods", [])]
        fields = [(f["name"], "I") for f in e.get("fields", [])]
        entries[name.replace(".", "/") + ".class"] = class_file(name, fields=fields, methods=methods)
    entries["linux/amd64/libzstd-jni-1.5.7-1.so"] = b"\x7fELF"
    write_jar(tmp_path / "libs" / "kafka.jar", entries)
    result = run_cli("lint", configs, "--classpath", tmp_path / "libs")
    assert result.code == 1
    assert "kafka.tools.ConsoleProducer$LineMessageReader: class not found on the classpath or in the JDK; " \
           "moved to org.apache.kafka.tools.LineMessageReader?" in result.out
    assert "kafka.security.authorizer.AclAuthorizer: class not found" in result.out
    assert "linux/amd64/libzstd-jni-1.5.6-6.so: resource matches nothing on the classpath or in the JDK; " \
           "renamed to linux/amd64/libzstd-jni-1.5.7-1.so? (a version bump)" in result.out
    not_found = [l.split(": ")[1] for l in result.out.splitlines() if ": class not found" in l]
    # The moved and the removed class; sun.misc.VM is gone since JDK 9 (its heirs are listed).
    assert not_found == ["kafka.security.authorizer.AclAuthorizer", "kafka.tools.ConsoleProducer$LineMessageReader",
                         "sun.misc.VM"]
    assert "java.lang.ObjectBeanInfo: class not in this JDK; often a lookup that fails on purpose" in result.out


def _descriptor(source: str) -> str:
    prims = {"boolean": "Z", "byte": "B", "char": "C", "short": "S", "int": "I", "long": "J", "float": "F", "double": "D"}
    dims = source.count("[]")
    element = source.replace("[]", "")
    return "[" * dims + (prims.get(element) or "L" + element.replace(".", "/") + ";")
