"""``collect`` on the command line without Docker: the dry run shows what a run executes, the
repository's filters are the agent's default filters, user mistakes are one line and exit 2."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from metadata_pipeline.cli import main
from metadata_pipeline.collect.progress import PlainProgress, RichProgress, make_progress

MINIKAFKA = Path(__file__).parent / "fixtures" / "minikafka"
SANITY = "tests/kafkatest/sanity_checks"
FILTERS = "/opt/metadata-pipeline/overrides/agent-filters"


def collect(capsys, *argv):
    code = main(["collect", "--kafka-dir", str(MINIKAFKA), *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A working directory with a metadata-pipeline.toml naming one filter file."""
    (tmp_path / ".git").mkdir()  # settings are looked up no further than the repository
    (tmp_path / "filters").mkdir()
    (tmp_path / "filters" / "kafka.json").write_text('{"rules": [{"excludeClasses": "org.junit.**"}]}')
    (tmp_path / "extra.json").write_text('{"rules": []}')
    (tmp_path / "metadata-pipeline.toml").write_text('[metadata_pipeline]\nfilters = ["filters/kafka.json"]\n')
    monkeypatch.chdir(tmp_path)
    return tmp_path


def jvm_argument(out: str) -> str:
    [line] = [line for line in out.splitlines() if line.startswith("  jvm argument")]
    return line.split(None, 2)[2]


def test_the_repository_filters_are_the_agents_default_access_filters(capsys, project):
    code, out, _ = collect(capsys, SANITY, "--dry-run", "--access-filter", "extra.json")
    assert code == 0
    assert jvm_argument(out).endswith(
        f",access-filter-file={FILTERS}/01-kafka.json,access-filter-file={FILTERS}/02-extra.json")
    assert f"  filter file      {project}/filters/kafka.json -> {FILTERS}/01-kafka.json\n" in out
    code, out, _ = collect(capsys, SANITY, "--dry-run", "--no-config")
    assert "access-filter-file" not in jvm_argument(out)


def test_dry_run_shows_the_command_the_run_executes(capsys, project):
    code, out, _ = collect(capsys, SANITY, "--dry-run", "--no-config", "-o", "collected", "--parallel", "2",
                           "--test-timeout", "600", "--graalvm-image", "local/graalvm:21", "--base-image", "local/base")
    assert code == 0
    assert "GRAALVM_IMAGE=local/graalvm:21" in out and "BASE_IMAGE=local/base" in out
    # test_produce needs 2 nodes: ducker01 drives, ducker02 and ducker03 run the tests.
    assert ("3 containers on network metadata-pipeline-<run id>: ducker01 (driver: runs ducktape) + "
            "ducker02, ducker03") in out
    [command] = [line.strip() for line in out.splitlines() if line.startswith("  cd /mnt/metadata-pipeline/work && ")]
    assert " METADATA_PIPELINE_EVENTS=1 METADATA_PIPELINE_TEST_TIMEOUT=600 PYTHONPATH=/opt/kafka-dev/tests " \
           "PYTHONDONTWRITEBYTECODE=1 " in command
    assert command.endswith("/opt/ducktape/bin/python /opt/metadata-pipeline/overrides/run_ducktape.py --cluster "
                            "ducktape.cluster.json.JsonCluster --cluster-file /mnt/metadata-pipeline/cluster.json "
                            "--results-root /mnt/metadata-pipeline/results --max-parallel 2 "
                            "--test-runner-timeout 1800000 "
                            "/opt/kafka-dev/tests/kafkatest/sanity_checks")
    assert "  selection        3 test ids in /opt/metadata-pipeline/overrides/selection.json\n" in out
    assert f"  collected into   collected/<test id>/<node>/<main class>-<pid>-<token>/" in out
    assert not (project / "collected").exists()


def test_dry_run_of_a_resumed_output_shows_what_is_left(capsys, project):
    from metadata_pipeline.collect.layout import OutputDir
    from metadata_pipeline.collect.manifest import Manifest

    out_dir = OutputDir(project / "collected")
    staged = out_dir.new_staging("x")
    test_id = "kafkatest.sanity_checks.agent_collect_test.AgentCollectTest.test_produce"
    (staged / "manifest.json").write_text(Manifest(test_id=test_id, status="PASS", run_time_seconds=1.0, summary="",
                                                   nodes=(), processes=()).dumps())
    out_dir.install(staged, test_id)
    code, out, _ = collect(capsys, SANITY, "--dry-run", "--no-config", "-o", "collected")
    assert "  resume           collected holds output already: 2 to run, 1 already collected (skipped)\n" in out
    assert "  selection        2 test ids in" in out
    # The rest need one test node each.
    assert "2 containers on network" in out


def test_dry_run_against_an_existing_cluster(capsys, project):
    (project / "cluster.json").write_text(json.dumps({"nodes": [
        {"externally_routable_ip": "10.0.0.5", "ssh_config": {"host": "vm1", "hostname": "10.0.0.5", "user": "kafka"}},
        {"externally_routable_ip": "10.0.0.6",
         "ssh_config": {"host": "vm2", "hostname": "10.0.0.6", "user": "kafka"}}]}))
    code, out, _ = collect(capsys, SANITY, "--dry-run", "--no-config", "-o", "c", "--cluster-file", "cluster.json",
                           "--python", sys.executable)
    assert code == 0
    assert "  nodes            2 from cluster.json: 10.0.0.5, 10.0.0.6\n" in out
    assert "on every node (over SSH; the checkout must be there already)\n" in out
    assert "ducktape (on this machine)\n" in out
    run_dir = f"{project}/c/.collect/runs/<run id>"
    out = out.replace("'", "")  # shell quoting of the placeholder <run id>
    assert f"{sys.executable} {run_dir}/overrides/run_ducktape.py --cluster ducktape.cluster.json.JsonCluster " \
           f"--cluster-file {project}/cluster.json --results-root {run_dir}/results " \
           f"{MINIKAFKA.resolve()}/{SANITY}" in out
    assert f"METADATA_PIPELINE_SELECTION={run_dir}/overrides/selection.json" in out
    assert f"PYTHONPATH={MINIKAFKA.resolve()}/tests " in out


@pytest.mark.parametrize("argv, message", [
    (["--cluster-file", "c.json", "--graalvm-image", "x"], "--cluster-file nodes bring their own"),
    (["--cluster-file", "c.json", "--nodes", "3"], "--cluster-file lists the nodes"),
    (["--report-format", "json"], "--report-format applies to --plan"),
])
def test_options_that_do_not_fit_together(capsys, project, argv, message):
    code, out, err = collect(capsys, SANITY, *argv)
    assert code == 2 and out == "" and err.count("\n") == 1 and message in err


@pytest.mark.parametrize("argv, message", [
    (["--nodes", "1"], "argument --nodes: 1 must be at least 2"),
    (["--parallel", "0"], "argument --parallel: 0 must be at least 1"),
])
def test_bad_numbers_are_usage_errors(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        collect(capsys, SANITY, *argv)
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_a_cluster_file_that_is_not_ducktapes(capsys, project):
    (project / "cluster.json").write_text('{"nodes": [{"ssh_config": {}}]}')
    code, _, err = collect(capsys, SANITY, "--dry-run", "--cluster-file", "cluster.json")
    assert code == 2 and err == "error: cluster.json: nodes[0]: needs an ssh_config with a host name\n"


def test_no_engine_is_one_line_and_exit_2_and_nothing_written(capsys, project, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{project}/none.sock")
    code, out, err = collect(capsys, SANITY, "-o", "collected", "--no-config")
    assert code == 2 and out == ""
    assert err.startswith(f"error: no Docker engine answers at unix://{project}/none.sock: ") and err.count("\n") == 1
    assert err.endswith("(start one, or point DOCKER_HOST at one)\n")
    assert not (project / "collected").exists()


def test_an_output_directory_of_something_else_is_refused(capsys, project):
    code, _, err = collect(capsys, SANITY, "-o", "filters", "--no-config")
    assert code == 2
    assert err == f"error: {project}/filters: exists, is not empty and is not a collect output; choose another -o\n"


# --- progress --------------------------------------------------------------------------------


def test_plain_progress_is_one_line_per_event_with_done_total_and_eta():
    stream = io.StringIO()
    p = PlainProgress(stream)
    p.phase("building node image")
    p.begin(3)
    p.started("t.A.test_a")
    p.output("ducktape says hello")  # shown only with --verbose
    p.finished("t.A.test_a", "PASS", 62.4)
    p.finished("t.A.test_b", "FAIL", None, "contributed nothing")
    p.close()
    lines = stream.getvalue().splitlines()
    assert lines[:4] == ["collect: building node image", "collect: running 3 tests",
                         "collect: [0/3] started  t.A.test_a", lines[3]]
    assert lines[3].startswith("collect: [1/3] PASS     1:02  t.A.test_a  [elapsed 0:00, about 0:00 left]")
    assert lines[4].startswith("collect: [2/3] FAIL        ?  t.A.test_b  (contributed nothing)  [elapsed ")
    assert len(lines) == 5
    verbose = io.StringIO()
    PlainProgress(verbose, verbose=True).output("ducktape says hello")
    assert verbose.getvalue() == "  | ducktape says hello\n"


def test_the_live_bar_is_for_terminals_only():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert isinstance(make_progress(io.StringIO()), PlainProgress)
    stream = Terminal()
    bar = make_progress(stream)
    assert isinstance(bar, RichProgress)
    bar.begin(2)
    bar.started("t.A.test_a")
    bar.finished("t.A.test_a", "PASS", 3.0)
    bar.close()
    assert "PASS" in stream.getvalue() and "t.A.test_a" in stream.getvalue() and "1/2" in stream.getvalue()
