"""One name for one idea across commands: ``--format`` is the metadata format (legacy or
unified), ``--report-format`` how a report is printed; old spellings still work, with a warning."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_helpers import write_dir
from metadata_pipeline.cli import main

MINIKAFKA = Path(__file__).parent / "fixtures" / "minikafka"


@pytest.fixture
def configs(tmp_path: Path) -> tuple[Path, Path]:
    old = write_dir(tmp_path / "old", {"reflect-config.json": [{"name": "a.Gone"}]})
    new = write_dir(tmp_path / "new", {"reflect-config.json": [{"name": "a.Added"}]})
    return old, new


def _run(capsys, *argv: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _reports(tmp_path: Path) -> dict[str, list]:
    old = tmp_path / "old"
    return {
        "diff": ["diff", old, tmp_path / "new"],
        "merge --check": ["merge", tmp_path / "new", "-o", old, "--check", "--no-config"],
        "collect --plan": ["collect", "--kafka-dir", MINIKAFKA, "--plan"],
    }


@pytest.mark.parametrize("command, old", [("diff", "--format"), ("merge --check", "--diff-format"),
                                          ("collect --plan", "--format")])
def test_report_format_is_one_option_and_old_spellings_warn_once(capsys, configs, tmp_path, command, old):
    argv = _reports(tmp_path)[command]
    code, out, err = _run(capsys, *argv, "--report-format", "json")
    report = out[out.index("\n{") + 1:] if command == "merge --check" else out  # after the one-line header
    assert code in (0, 1) and json.loads(report) and "deprecated" not in err
    again_code, again_out, warned = _run(capsys, *argv, old, "json")
    assert (again_code, again_out) == (code, out)
    name = command.split()[0]
    assert warned == f"warning: metadata-pipeline {name} {old} is deprecated; use --report-format\n" + err


@pytest.mark.parametrize("command, hidden", [("diff", "--format"), ("merge", "--diff-format"), ("collect", "--format")])
def test_help_shows_report_format_and_hides_the_old_spelling(capsys, command, hidden):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = capsys.readouterr().out
    assert "--report-format" in text
    if command != "merge":  # merge --format is the metadata format (legacy or unified)
        assert f"{hidden} " not in text and f"{hidden}\n" not in text
    else:
        assert hidden not in text and "--format {legacy,unified}" in text
