"""--help and README.md say what the code does (each claim checked against the behaviour)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli_helpers import run_cli, write_dir
from conftest import ROOT
from jarfactory import class_file, write_jar
from metadata_pipeline.cli import main

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _help(capsys, command: str) -> str:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    return " ".join(capsys.readouterr().out.split())  # argparse wraps lines where it likes


def test_lint_says_members_are_not_checked_as_it_does(capsys, tmp_path: Path) -> None:
    text = _help(capsys, "lint")
    assert "Members (methods, fields) of classes that exist are not checked" in text
    assert "members, resources" not in text  # the old claim that missing members are stale
    assert "Members of existing classes are not checked" in " ".join(README.split())
    # The behaviour: a member that exists nowhere, of a class that exists, is no finding.
    jar = write_jar(tmp_path / "libs" / "kafka.jar", {"kafka/Kafka.class": class_file("kafka.Kafka")})
    missing = {"methods": [{"name": "noSuchMethod", "parameterTypes": []}], "fields": [{"name": "noSuchField"}]}
    configs = write_dir(tmp_path / "c", {"reflect-config.json": [{"name": "kafka.Kafka", **missing},
                                                                 {"name": "java.lang.String", **missing}]})
    result = run_cli("lint", configs, "--classpath", jar)
    assert (result.code, result.out) == (0, "0 finding(s)\n"), result


def test_lint_jdk_default_is_the_one_it_uses(capsys) -> None:
    text = _help(capsys, "lint")
    assert "(default: $JAVA_HOME, else the one of `java` on PATH)" in text
    assert "the JDK is the one of --jdk, $JAVA_HOME or `java` on PATH" in text


def test_collect_says_the_checkout_must_be_built(capsys) -> None:
    assert "The checkout must be built: before any container starts" in _help(capsys, "collect")
