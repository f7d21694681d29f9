"""``diff`` and ``merge --check``: the CI gate, end to end, on our data and on Kafka's history."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cli_helpers import assert_one_line_error, run_cli, write_dir
from conftest import REFERENCE

ZSTD_OLD = "\\Qlinux/amd64/libzstd-jni-1.5.6-5.so\\E"
ZSTD_NEW = "\\Qlinux/amd64/libzstd-jni-1.5.6-6.so\\E"
READER = {"methods": [{"name": "<init>", "parameterTypes": []}]}


def committed(tmp_path: Path) -> Path:
    """A Kafka-shaped committed config dir (in the agent's hand-edited spelling)."""
    raw = write_dir(tmp_path / "hand-edited", {
        "reflect-config.json": [{"name": "kafka.tools.ConsoleProducer$LineMessageReader", **READER},
                                {"name": "kafka.security.authorizer.AclAuthorizer", **READER},
                                {"name": "[B"}],
        "resource-config.json": {"resources": {"includes": [{"pattern": ZSTD_OLD}]}, "bundles": []},
    })
    d = tmp_path / "native-image-configs"
    assert run_cli("merge", raw, "-o", d).code == 0  # canonical, as `merge` leaves it
    return d


def collected(tmp_path: Path) -> Path:
    """What a collect run after the dependency bump and the refactorings found."""
    root = tmp_path / "collected"
    write_dir(root / "ConsoleTest.test_produce" / "ducker02" / "kafka.Kafka-1", {
        "reflect-config.json": [{"name": "org.apache.kafka.tools.LineMessageReader", **READER}, {"name": "byte[]"}],
        "resource-config.json": {"resources": {"includes": [{"pattern": ZSTD_NEW}]}},
    })
    write_dir(root / "SecurityTest.test_ssl" / "ducker03" / "kafka.Kafka-2", {
        "reflect-config.json": [{"name": "org.apache.kafka.common.security.ssl.DefaultSslEngineFactory"}],
    })
    return root


def test_maintainer_workflow(tmp_path: Path) -> None:
    configs, found = committed(tmp_path), collected(tmp_path)
    before = tmp_path / "before"
    shutil.copytree(configs, before)

    # 1. CI: the gate fails and says what changed, in Kafka's terms.
    check = run_cli("merge", found, "-o", configs, "--check")
    assert check.code == 1, check
    assert "reflection: 1 added, 1 removed, 1 moved" in check.out
    assert "+ org.apache.kafka.common.security.ssl.DefaultSslEngineFactory" in check.out
    assert "- kafka.security.authorizer.AclAuthorizer" in check.out
    assert ("* kafka.tools.ConsoleProducer$LineMessageReader → org.apache.kafka.tools.LineMessageReader (moved)"
            in check.out)
    assert "* linux/amd64/libzstd-jni-1.5.6-5.so → linux/amd64/libzstd-jni-1.5.6-6.so (renamed)" in check.out
    assert f"to update: metadata-pipeline merge {found} -o {configs}" in check.err
    assert {p.name: p.read_bytes() for p in configs.iterdir()} == {p.name: p.read_bytes() for p in before.iterdir()}

    # 2. The maintainer updates the configs; 3. diff shows the same changes; 4. the gate passes.
    assert run_cli("merge", found, "-o", configs).code == 0
    shown = run_cli("diff", before, configs)
    assert shown.code == 1
    assert shown.out in check.out
    passed = run_cli("merge", found, "-o", configs, "--check")
    assert passed.code == 0 and "is up to date" in passed.out


def test_check_reports_non_canonical_form_and_fails_only_with_strict(tmp_path: Path) -> None:
    found = collected(tmp_path)
    configs = tmp_path / "configs"
    assert run_cli("merge", found, "-o", configs).code == 0
    reflect = configs / "reflect-config.json"
    reflect.write_text(json.dumps(list(reversed(json.loads(reflect.read_text())))))  # same content, other order
    result = run_cli("merge", found, "-o", configs, "--check")
    assert result.code == 0 and "not in canonical legacy form: reflect-config.json" in result.err
    assert run_cli("merge", found, "-o", configs, "--check", "--strict").code == 1


def test_check_detects_the_committed_format(tmp_path: Path) -> None:
    found = collected(tmp_path)
    configs = tmp_path / "configs"
    assert run_cli("merge", found, "-o", configs, "--format", "unified").code == 0
    result = run_cli("merge", found, "-o", configs, "--check", "--strict")
    assert result.code == 0, result


def test_github_annotations(tmp_path: Path) -> None:
    configs, found = committed(tmp_path), collected(tmp_path)
    for extra, env in ((["--github"], {}), ([], {"GITHUB_ACTIONS": "true"})):
        result = run_cli("merge", found, "-o", configs, "--check", *extra, env=env)
        lines = [l for l in result.out.splitlines() if l.startswith("::error ")]
        assert f"::error file={configs}/reflect-config.json,title=reachability metadata committed but no longer " \
               "exercised::kafka.security.authorizer.AclAuthorizer" in lines
        assert any(l.startswith(f"::error file={configs}/resource-config.json,title=reachability metadata renamed::")
                   for l in lines)


def test_check_errors(tmp_path: Path) -> None:
    found = collected(tmp_path)
    assert_one_line_error(run_cli("merge", found, "-o", tmp_path / "missing", "--check"), "no such config directory")
    assert run_cli("merge", found, "-o", tmp_path / "x", "--strict").code == 2


def test_diff_formats_and_exit_codes(tmp_path: Path) -> None:
    configs, found = committed(tmp_path), collected(tmp_path)
    new = tmp_path / "new"
    run_cli("merge", found, "-o", new)
    assert run_cli("diff", configs, configs).code == 0
    md = run_cli("diff", configs, new, "--report-format", "markdown")
    assert md.code == 1 and md.out.startswith("### Reachability metadata changes")
    doc = json.loads(run_cli("diff", configs, new, "--report-format", "json").out)
    assert doc["version"] == 1 and doc["equal"] is False
    assert {"category": "reflection", "action": "moved", "entry": "kafka.tools.ConsoleProducer$LineMessageReader",
            "to": "org.apache.kafka.tools.LineMessageReader", "details": []} in doc["changes"]
    assert "\033[" not in run_cli("diff", configs, new).out  # not a terminal: no colour
    assert "\033[" in run_cli("diff", configs, new, "--color", "always").out
    assert_one_line_error(run_cli("diff", configs, tmp_path / "nope"), "no such file")


def _history() -> list[Path]:
    root = REFERENCE / "kafka-native-image-configs"
    return sorted(p for p in root.iterdir() if p.is_dir()) if root.exists() else []


EXPECTED_HISTORY = [
    # (from, to): the lines a reviewer would write for Kafka's 2024 commits.
    ("01", "02", ["* linux/aarch64/libzstd-jni-1.5.5-11.so, linux/aarch64/libzstd-jni-1.5.5-6.so → "
                  "linux/aarch64/libzstd-jni-1.5.6-3.so (renamed)"]),
    ("02", "03", ["* linux/amd64/libzstd-jni-1.5.6-3.so → linux/amd64/libzstd-jni-1.5.6-4.so (renamed)"]),
    ("03", "04", ["* linux/amd64/libzstd-jni-1.5.6-4.so → linux/amd64/libzstd-jni-1.5.6-5.so (renamed)"]),
    ("04", "05", ["* linux/amd64/libzstd-jni-1.5.6-5.so → linux/amd64/libzstd-jni-1.5.6-6.so (renamed)"]),
    ("05", "06", ["* kafka.tools.ConsoleProducer$LineMessageReader → org.apache.kafka.tools.LineMessageReader (moved)"]),
    ("06", "07", ["- kafka.security.authorizer.AclAuthorizer"]),
]


@pytest.mark.parametrize("old, new, lines", EXPECTED_HISTORY, ids=[f"{a}-{b}" for a, b, _ in EXPECTED_HISTORY])
def test_kafka_history_reads_like_a_review(old: str, new: str, lines: list[str]) -> None:
    dirs = {p.name[:2]: p for p in _history()} or pytest.skip("reference data not available")
    result = run_cli("diff", dirs[old], dirs[new])
    assert result.code == 1
    for line in lines:
        assert line in result.out
    # Nothing but the real change: no noise from the hand-edited formatting.
    assert len([l for l in result.out.splitlines() if l.startswith("  ")]) == (2 if old != "05" and old != "06" else 1)
