"""``collect`` on the command line without Docker: the dry run shows what a run executes, the
repository's filters are the agent's default filters, user mistakes are one line and exit 2."""

from __future__ import annotations

import io
import json
import shutil
import sys
from pathlib import Path

import pytest

from metadata_pipeline.cli import main
from metadata_pipeline.collect.progress import PlainProgress, RichProgress, make_progress

MINIKAFKA = Path(__file__).parent / "fixtures" / "minikafka"
SANITY = "tests/kafkatest/sanity_checks"
FILTERS = "/opt/metadata-pipeline/overrides/agent-filters"


def collect(capsys, *argv):
    built = Path.cwd() / "kafka"  # the project fixture's built copy, else the fixture as it is (not built)
    code = main(["collect", "--kafka-dir", str(built if built.is_dir() else MINIKAFKA), *argv])
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
    # A built checkout, as far as kafka-run-class.sh's class path goes (no JVM runs here).
    shutil.copytree(MINIKAFKA, tmp_path / "kafka", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "kafka" / "libs").mkdir()
    (tmp_path / "kafka" / "libs" / "kafka_2.13-4.0.0.jar").write_bytes(b"")
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
    assert f"  {project}/kafka -> /opt/kafka-dev (read-write, as ducker-ak: Kafka's scripts write logs/)\n" in out
    assert "capabilities: engine defaults + NET_ADMIN; SSH key: generated for this run" in out
    assert "  kafka.docker.KafkaDockerWrapper setup, then start, on ducker02 after the tests" in out
    assert f"checkout         built: libs/kafka_2.13-4.0.0.jar" in out
    code, out, _ = collect(capsys, SANITY, "--dry-run", "--no-config", "--no-wrapper-entry")
    assert code == 0 and "KafkaDockerWrapper" not in out.split("ducktape (")[1]
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
    # The two tests left and the wrapper entry step (kept like a test).
    assert "  resume           collected holds output already: 3 to run, 1 already collected (skipped)\n" in out
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
           f"{project}/kafka/{SANITY}" in out
    assert f"METADATA_PIPELINE_SELECTION={run_dir}/overrides/selection.json" in out
    assert f"PYTHONPATH={project}/kafka/tests " in out


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


# --- the built-checkout check, --build ---------------------------------------------------------

def test_an_unbuilt_checkout_stops_before_anything_starts(capsys, project, monkeypatch):
    import shutil as _shutil

    _shutil.rmtree(project / "kafka" / "libs")
    monkeypatch.setenv("DOCKER_HOST", f"unix://{project}/none.sock")  # never reached
    for argv in (["-o", "collected"], ["--dry-run", "-o", "collected"]):
        code, out, err = collect(capsys, SANITY, "--no-config", *argv)
        assert code == 2 and out == "" and err.count("\n") == 1, err
        assert err.startswith(f"error: {project}/kafka: not built: kafka-run-class.sh finds no broker jar ")
        assert "run ./gradlew systemTestLibs in it (or collect --build)" in err
    assert not (project / "collected").exists()
    code, out, _ = collect(capsys, SANITY, "--plan")  # the plan is still shown, with the check
    assert code == 0 and f"checkout: {project}/kafka: not built: " in out
    code, out, _ = collect(capsys, SANITY, "--plan", "--format", "json")
    assert json.loads(out)["checkout"]["built"] is False


def test_the_check_follows_kafka_run_class_globs(tmp_path):
    from metadata_pipeline.collect.checkout import check_built

    kafka = tmp_path / "kafka"
    (kafka / "core" / "build" / "libs").mkdir(parents=True)
    (kafka / "core" / "build" / "libs" / "kafka_2.13-4.0.0-SNAPSHOT.jar").write_bytes(b"")
    assert not check_built(kafka).built  # the broker jar alone: its dependencies are missing
    deps = kafka / "core" / "build" / "dependant-libs-2.13.15"
    deps.mkdir()
    (deps / "scala-library-2.13.15.jar").write_bytes(b"")
    check = check_built(kafka)
    assert check.built and check.dependency_dirs == ("core/build/dependant-libs-2.13.15",)
    # gradle.properties' scalaVersion decides, as in the script.
    (kafka / "gradle.properties").write_text("scalaVersion=2.12.19\n")
    assert not check_built(kafka).built
    assert "kafka_2.12*.jar" in check_built(kafka).describe()


def test_build_runs_the_checkouts_gradle_wrapper_first(capsys, project, monkeypatch):
    import shutil as _shutil

    kafka = project / "kafka"
    _shutil.rmtree(kafka / "libs")
    gradlew = kafka / "gradlew"
    gradlew.write_text('#!/bin/sh\necho "$@" > gradle-ran\nmkdir -p libs && : > libs/kafka_2.13-4.0.0.jar\n')
    gradlew.chmod(0o755)
    monkeypatch.setenv("DOCKER_HOST", f"unix://{project}/none.sock")
    code, _, err = collect(capsys, SANITY, "--no-config", "-o", "collected", "--build")
    assert (kafka / "gradle-ran").read_text() == "systemTestLibs\n"
    assert code == 2 and "no Docker engine answers" in err  # built now: the run went on to the engine
    gradlew.write_text("#!/bin/sh\necho 'BUILD FAILED' ; exit 1\n")
    code, _, err = collect(capsys, SANITY, "--no-config", "-o", "collected", "--build")
    assert code == 2 and err == f"error: {kafka}: ./gradlew systemTestLibs exited 1: BUILD FAILED\n"


# --- ducktape pass-through, defaults wherever collect runs --------------------------------------

def test_ducktape_options_pass_through(capsys, project):
    (project / "globals.json").write_text('{"kafka_mode": "jvm"}')
    code, out, _ = collect(capsys, SANITY, "--dry-run", "--no-config", "--max-parallel", "3", "--globals",
                           "globals.json", "--parameters", '{"x": 1}', "--", "--debug", "--deflake", "2")
    assert code == 0
    [command] = [line for line in out.splitlines() if "run_ducktape.py" in line]
    assert "--max-parallel 3 " in command
    assert command.endswith("""/opt/kafka-dev/tests/kafkatest/sanity_checks --globals '{"kafka_mode": "jvm"}' """
                            """--parameters '{"x": 1}' --debug --deflake 2""")
    code, _, err = collect(capsys, SANITY, "--dry-run", "--no-config", "--globals", "[1]")
    assert code == 2 and err.count("\n") == 1 and "--globals: not a JSON object" in err


def test_kafkas_filter_applies_wherever_collect_runs(capsys, tmp_path, monkeypatch, project):
    from metadata_pipeline.collect.instrumentation import PACKAGED_FILTER

    elsewhere = tmp_path / "elsewhere"
    (elsewhere / ".git").mkdir(parents=True)  # no metadata-pipeline.toml here or above
    monkeypatch.chdir(elsewhere)
    code = main(["collect", "--kafka-dir", str(project / "kafka"), SANITY, "--dry-run"])
    out = capsys.readouterr().out
    assert code == 0
    assert jvm_argument(out).endswith(f",access-filter-file={FILTERS}/01-kafka.json")
    assert f"  filter file      {PACKAGED_FILTER.resolve()} -> {FILTERS}/01-kafka.json\n" in out
    assert main(["collect", "--kafka-dir", str(project / "kafka"), SANITY, "--dry-run", "--no-config"]) == 0
    assert "access-filter-file" not in jvm_argument(capsys.readouterr().out)


def test_the_driver_runs_the_ducktape_the_checkout_pins(capsys, project):
    from metadata_pipeline.collect.checkout import pinned_ducktape

    setup = project / "kafka" / "tests" / "setup.py"
    setup.write_text('setup(install_requires=["ducktape==0.12.0", "requests==2.31.0", "psutil==5.7.2"])\n')
    assert pinned_ducktape(project / "kafka") == "0.12.0"
    code, out, _ = collect(capsys, SANITY, "--dry-run", "--no-config")
    assert code == 0 and "DUCKTAPE_VERSION=0.12.0" in out
    code, out, _ = collect(capsys, SANITY, "--dry-run", "--no-config", "--ducktape-version", "0.17.0")
    assert code == 0 and "DUCKTAPE_VERSION=0.17.0" in out
    setup.unlink()
    assert pinned_ducktape(project / "kafka") is None
    code, out, _ = collect(capsys, SANITY, "--dry-run", "--no-config")
    assert "DUCKTAPE_VERSION=0.17.0" in out  # the image's default


def test_the_driver_gets_the_rest_of_kafkatests_requirements(capsys, project):
    """kafkatest's setup.py pins psutil and requests beside ducktape; ducktape 0.12.0 imports
    psutil without declaring it, so a driver with ducktape alone cannot even print its version."""
    from metadata_pipeline.collect.checkout import driver_requirements

    setup = project / "kafka" / "tests" / "setup.py"
    setup.write_text('setup(name="kafkatest",\n      install_requires=["ducktape==0.12.0", "requests==2.31.0", '
                     '"psutil==5.7.2"],\n      tests_require=["pytest"])\n')
    assert driver_requirements(project / "kafka") == ("requests==2.31.0", "psutil==5.7.2")
    code, out, _ = collect(capsys, SANITY, "--dry-run", "--no-config")
    assert code == 0 and "DRIVER_REQUIREMENTS=requests==2.31.0 psutil==5.7.2" in out
    setup.write_text('setup(install_requires=["ducktape==0.12.0", "x; rm -rf /"])\n')  # never a shell word
    assert driver_requirements(project / "kafka") == ()


def test_the_wrapper_entry_takes_the_kraft_defaults_as_kafkas_native_image_does(tmp_path):
    """At 1eb7644 config/server.properties is ZooKeeper's (no process.roles): the wrapper's
    setup must get config/kraft/server.properties, as docker/native/Dockerfile copies it."""
    import subprocess

    from metadata_pipeline.collect.wrapper_entry import DEFAULT_CONFIGS

    kafka, default = tmp_path / "kafka", tmp_path / "default"
    (kafka / "config" / "kraft").mkdir(parents=True)
    default.mkdir()
    (kafka / "config" / "server.properties").write_text("zookeeper.connect=localhost:2181\n")
    (kafka / "config" / "kraft" / "server.properties").write_text("process.roles=broker,controller\n")
    (kafka / "config" / "log4j.properties").write_text("log4j.rootLogger=INFO\n")
    def run() -> None:
        subprocess.run(["bash", "-c", f"kafka={kafka} dir={tmp_path}\n{DEFAULT_CONFIGS}"], check=True)

    run()
    assert (default / "server.properties").read_text() == "process.roles=broker,controller\n"
    assert (default / "log4j.properties").is_file()
    (kafka / "config" / "kraft" / "server.properties").unlink()  # Kafka 4.x: KRaft only, at the top
    (kafka / "config" / "server.properties").write_text("process.roles=broker\n")
    run()
    assert (default / "server.properties").read_text() == "process.roles=broker\n"


def test_the_wrapper_broker_is_ready_when_its_listener_accepts_though_it_logs_nothing(tmp_path):
    """Kafka 4.0.0's wrapper, given 1eb7644's config/ (log4j.properties, no log4j2.yaml), writes
    a root-ERROR log4j2.yaml with no appender: the broker runs but prints no "started" line."""
    import socket
    import subprocess

    from metadata_pipeline.collect.wrapper_entry import READY

    (tmp_path / "start.log").write_text("")  # what the real broker printed in that case
    def ready(port: int) -> bool:
        return subprocess.run(["bash", "-c", f"dir={tmp_path} port={port}\n{READY}"]).returncode == 0

    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        assert ready(port)
    assert not ready(port)  # nothing listens, nothing logged: not ready
    (tmp_path / "start.log").write_text("[KafkaRaftServer nodeId=1] Kafka Server started\n")
    assert ready(port)
