"""From ducktape's results of a test to the test's directory in COLLECTED (no Docker).

The trees here are made by hand in the shapes ducktape 0.17.0 wrote in a real run of the
minikafka fixture (report.json fields, ``<service id>/<hostname>/native-image-agent/...``)
and the agent's output files in GraalVM's legacy format.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metadata_pipeline.collect.driver import EVENT_PREFIX, LocalDriver, parse_event
from metadata_pipeline.collect.layout import safe_name, test_dir_name
from metadata_pipeline.collect.manifest import InvalidManifest, Manifest, ProcessRecord
from metadata_pipeline.collect.results import (InvalidReport, ProcessNamer, TestOutcome, assemble, parse_report,
                                               parse_result)
from metadata_pipeline.files.configdir import load
from metadata_pipeline.containers import UnsafeArchive

ROOT = "/mnt/native-image-agent"
TEMPLATE = ROOT + "/{main_class}/{hostname}-{pid}-{token}"
AGENT = "native-image-agent"
TEST_ID = "kafkatest.tests.core.produce_test.ProduceTest.test_produce.metadata_quorum=isolated_kraft"
WRAPPER_SOURCE = Path(__file__).resolve().parents[1] / "system-test-overrides" / "run_ducktape.py"


def ducktape_result(**overrides) -> dict:
    result = {
        "base_results_dir": "/mnt/metadata-pipeline/results/2026-11-21--001/",
        "cls_name": "ProduceTest", "data": None, "description": "", "function_name": "test_produce",
        "injected_args": {"metadata_quorum": "isolated_kraft"}, "module_name": "kafkatest.tests.core.produce_test",
        "nodes_allocated": 2, "nodes_used": 2,
        "relative_results_dir": "ProduceTest/test_produce/metadata_quorum=isolated_kraft/1/",
        "results_dir": "/mnt/metadata-pipeline/results/2026-11-21--001/ProduceTest/test_produce/"
                       "metadata_quorum=isolated_kraft/1/",
        "run_time_seconds": 12.5, "services": [], "start_time": 1795304434.79, "stop_time": 1795304447.29,
        "summary": "Test Passed", "test_id": TEST_ID, "test_status": "PASS",
    }
    result.update(overrides)
    return result


REFLECT = [{"name": "kafka.plugins.ProducePlugin",
            "methods": [{"name": "<init>", "parameterTypes": []}, {"name": "describe", "parameterTypes": []}]}]
RESOURCES = {"resources": {"includes": [{"pattern": "\\Qminikafka/produce.properties\\E"}]}, "bundles": []}
EMPTY = {"jni-config.json": [], "proxy-config.json": [], "predefined-classes-config.json": [
    {"type": "agent-extracted", "classes": []}], "serialization-config.json": {
    "types": [], "lambdaCapturingTypes": [], "proxies": []}}


def agent_files(directory: Path, reflect=REFLECT, resources=RESOURCES) -> None:
    """The six files GraalVM for JDK 17/21 writes (always, even when empty)."""
    directory.mkdir(parents=True, exist_ok=True)
    docs = dict(EMPTY, **{"reflect-config.json": reflect, "resource-config.json": resources})
    for name, doc in docs.items():
        (directory / name).write_text(json.dumps(doc))


@pytest.fixture
def results(tmp_path: Path) -> Path:
    """One test's results as the driver's pick leaves them: ducktape files + agent copies."""
    test = tmp_path / "fetched"
    test.mkdir()
    (test / "report.json").write_text(json.dumps(ducktape_result()))
    (test / "test_log.info").write_text("[INFO] ...\n")
    broker = test / "KafkaService-0-140000" / "ducker02" / AGENT
    # A JVM that exited normally: final write, no .lock.
    agent_files(broker / "kafka.Kafka" / "ducker02-101-AbCdEfGhIj")
    # A JVM killed with SIGKILL after a snapshot: .lock and a half-written temporary dir stay.
    killed = broker / "kafka.tools.StorageTool" / "ducker02-102-KkKkKkKkKk"
    agent_files(killed, reflect=[{"name": "kafka.tools.StorageTool", "allDeclaredFields": True}])
    (killed / ".lock").write_text("102")
    (killed / "agent-pid102-1795304440000000000-3.tmp").mkdir()
    (killed / "agent-pid102-1795304440000000000-3.tmp" / "reflect-config.json").write_text('[{"name": "half')
    # A JVM killed before its first snapshot: only the .lock.
    (broker / "kafka.Kafka" / "ducker02-103-NnNnNnNnNn").mkdir(parents=True)
    (broker / "kafka.Kafka" / "ducker02-103-NnNnNnNnNn" / ".lock").write_text("103")
    # Trogdor's agents share the broker node: ducktape copies the same directories again.
    shared = test / "TrogdorService-0-140001" / "ducker02" / AGENT / "kafka.Kafka" / "ducker02-101-AbCdEfGhIj"
    agent_files(shared)
    # The coordinator's own node: the agent dir exists (the hook makes it), no JVM was instrumented.
    (test / "TrogdorService-0-140001" / "ducker03" / AGENT).mkdir(parents=True)
    (test / "TrogdorService-0-140001" / "ducker03" / "trogdor.log").write_text("not copied by pick, harmless")
    return test


def outcome(**overrides) -> TestOutcome:
    return parse_result(ducktape_result(**overrides), "report.json")


# --- ducktape's report.json ------------------------------------------------------------------


def test_parse_result_reads_what_ducktape_writes():
    failed = outcome(test_status="FAIL", run_time_seconds=3.25, summary=(
        "Traceback (most recent call last):\n  File \"x.py\", line 1, in test\n    assert False\n"
        "AssertionError: this test fails on purpose\n"),
        services=[{"cls_name": "KafkaService", "service_id": "KafkaService-0-1", "nodes": ["ducker02", "ducker03"]},
                  {"cls_name": "ZooKeeper", "service_id": "ZK-0-2", "nodes": ["ducker04"]}])
    assert failed == TestOutcome(
        test_id=TEST_ID, status="FAIL", run_time_seconds=3.25, summary="AssertionError: this test fails on purpose",
        results_dir=ducktape_result()["results_dir"],
        services=(("KafkaService-0-1", ("ducker02", "ducker03")), ("ZK-0-2", ("ducker04",))))
    assert failed.nodes == ("ducker02", "ducker03", "ducker04")
    # A test that never started has run time -1; statuses are upper-cased (older reports: lower).
    assert outcome(run_time_seconds=-1, test_status="ignore").run_time_seconds is None
    assert outcome(test_status="ignore").status == "IGNORE"


def test_parse_report_lists_every_result_and_names_bad_ones():
    doc = {"ducktape_version": "0.17.0",
           "results": [ducktape_result(), ducktape_result(test_id="b", test_status="FAIL")]}
    assert [(o.test_id, o.status) for o in parse_report(doc, "report.json")] == [(TEST_ID, "PASS"), ("b", "FAIL")]
    with pytest.raises(InvalidReport, match=r"^r\.json: not a ducktape report\.json"):
        parse_report({"tests": []}, "r.json")
    with pytest.raises(InvalidReport, match=r"r\.json: results\[1\]: a result needs string test_id"):
        parse_report({"results": [ducktape_result(), {"test_id": 1}]}, "r.json")


# --- assembling one test's directory ---------------------------------------------------------


def test_assemble_keeps_one_directory_per_jvm_per_node_with_a_manifest(tmp_path, results):
    dest = tmp_path / "test"
    dest.mkdir()
    manifest = assemble(results, dest, outcome(), ProcessNamer(TEMPLATE, ROOT), AGENT, run_id="run-1")

    assert manifest.test_id == TEST_ID and manifest.status == "PASS" and manifest.run_time_seconds == 12.5
    assert manifest.nodes == ("ducker02", "ducker03")
    assert [(p.path, p.main_class, p.write, p.stale_lock, p.dropped) for p in manifest.processes] == [
        ("ducker02/kafka.Kafka-101-AbCdEfGhIj", "kafka.Kafka", "final", False, ()),
        ("ducker02/kafka.Kafka-103-NnNnNnNnNn", "kafka.Kafka", "none", True, ()),
        ("ducker02/kafka.tools.StorageTool-102-KkKkKkKkKk", "kafka.tools.StorageTool", "snapshot", True,
         ("agent-pid102-1795304440000000000-3.tmp",)),
    ]
    assert manifest.processes[0].files == ("jni-config.json", "predefined-classes-config.json", "proxy-config.json",
                                           "reflect-config.json", "resource-config.json", "serialization-config.json")
    # The copy kept holds no .lock and no temporary dir: merge reads it as it is.
    assert [p for p in dest.rglob("*") if p.name == ".lock" or ".tmp" in p.name] == []
    merged = load([dest])
    assert [d.label for d in merged.dirs] == ["ducker02/kafka.Kafka-101-AbCdEfGhIj",
                                             "ducker02/kafka.tools.StorageTool-102-KkKkKkKkKk"]
    assert manifest.entries == {"reflection": 2, "resource_globs": 1} and manifest.contributed
    assert manifest.invalid == ()
    # ducktape's own files of the test, hidden from merge; the manifest is written last, in dest.
    assert sorted(p.name for p in (dest / ".ducktape").iterdir()) == ["report.json", "test_log.info"]
    assert Manifest.loads((dest / "manifest.json").read_text(), "m") == manifest
    assert manifest.run_id == "run-1" and manifest.collected_at.endswith("Z")


def test_assemble_lists_invalid_agent_files_and_keeps_the_rest(tmp_path, results):
    broken = results / "KafkaService-0-140000" / "ducker02" / AGENT / "kafka.Kafka" / "ducker02-101-AbCdEfGhIj"
    (broken / "reflect-config.json").write_text('[{"name": "kafka.plugins.Produce')
    (results / "TrogdorService-0-140001").rename(results.parent / "elsewhere")  # no second copy of it
    dest = tmp_path / "test"
    dest.mkdir()
    manifest = assemble(results, dest, outcome(), ProcessNamer(TEMPLATE, ROOT), AGENT, run_id="r")
    assert len(manifest.invalid) == 1
    assert manifest.invalid[0].startswith("ducker02/kafka.Kafka-101-AbCdEfGhIj/reflect-config.json: malformed JSON")
    assert manifest.entries == {"reflection": 1, "resource_globs": 1}  # StorageTool's type + the resource


def test_a_failed_test_without_agent_output_contributes_nothing(tmp_path):
    fetched = tmp_path / "fetched"
    (fetched / "KafkaService-0-1" / "ducker02" / AGENT).mkdir(parents=True)
    dest = tmp_path / "test"
    dest.mkdir()
    manifest = assemble(fetched, dest, outcome(test_status="FAIL", summary="TimeoutError: no broker"),
                        ProcessNamer(TEMPLATE, ROOT), AGENT, run_id="r")
    assert manifest.processes == () and manifest.entries == {} and not manifest.contributed and not manifest.passed
    assert manifest.nodes == ("ducker02",) and manifest.summary == "TimeoutError: no broker"
    assert not (dest / ".ducktape").exists()


def test_process_names_follow_the_directory_template():
    namer = ProcessNamer(TEMPLATE, ROOT)
    assert namer.depth == 2
    assert namer.name("kafka.Kafka/ducker-02-7-x1Y2z3") == ("kafka.Kafka-7-x1Y2z3", "kafka.Kafka")
    assert namer.name("jar:broker.jar/h-7-tok") == ("jar:broker.jar-7-tok", "jar:broker.jar")
    # What does not match the template keeps its path (encoded into one component), no class.
    assert namer.name("kafka.Kafka/not-a-process") == ("kafka.Kafka%2Fnot-a-process", None)
    flat = ProcessNamer("/mnt/agent/out/{hostname}_{pid}.{token}.d", "/mnt/agent/out")
    assert flat.depth == 1 and flat.name("n1_42.AbC.d") == ("42-AbC", None)
    with pytest.raises(ValueError):
        ProcessNamer("/elsewhere/{token}", ROOT)


# --- manifest --------------------------------------------------------------------------------


def test_manifest_round_trips_and_refuses_what_collect_does_not_write():
    m = Manifest(test_id="t", status="FAIL", run_time_seconds=None, summary="x", nodes=("a",),
                 processes=(ProcessRecord("a", "a/p-1-t", None, "snapshot", True, ("reflect-config.json",), ()),),
                 entries={"reflection": 3}, invalid=("f: bad",), run_id="r", collected_at="z")
    assert Manifest.loads(m.dumps(), "m") == m
    assert json.loads(m.dumps())["processes"][0]["write"] == "snapshot"
    with pytest.raises(InvalidManifest, match="^m: not JSON"):
        Manifest.loads("{", "m")
    with pytest.raises(InvalidManifest, match="not a collect manifest"):
        Manifest.loads('{"manifest_version": 99}', "m")
    broken = m.to_json()
    del broken["processes"][0]["node"]
    with pytest.raises(InvalidManifest, match="malformed manifest"):
        Manifest.loads(json.dumps(broken), "m")
    with pytest.raises(ValueError):
        ProcessRecord("a", "p", None, "partial", False)


# --- names of test directories ---------------------------------------------------------------


def test_test_dir_names_are_readable_and_safe():
    assert test_dir_name(TEST_ID) == TEST_ID
    assert test_dir_name("a.B.test.path=/tmp/x") == "a.B.test.path=%2Ftmp%2Fx"
    assert test_dir_name(".hidden") == "%2Ehidden" and test_dir_name("") == "%"
    long_id = "kafkatest.tests.x.T.test." + "arg=" + "v" * 400
    name = test_dir_name(long_id)
    assert len(name.encode()) <= 200 and name.startswith("kafkatest.tests.x.T.test.arg=vvv") and "~" in name
    assert test_dir_name(long_id + "w") != name


@given(st.text(min_size=0, max_size=300), st.text(min_size=0, max_size=300))
def test_distinct_texts_get_distinct_single_component_names(a, b):
    for text in (a, b):
        name = safe_name(text)
        assert "/" not in name and "\0" not in name and not name.startswith(".") and name
        assert len(name.encode()) <= 200
    if a != b:
        assert safe_name(a) != safe_name(b)


# --- the wrapper's events, and fetching on this machine --------------------------------------


def test_events_are_the_wrappers_lines_and_nothing_else():
    assert f'EVENT_PREFIX = "{EVENT_PREFIX}"' in WRAPPER_SOURCE.read_text()  # the two ends agree
    line = EVENT_PREFIX + json.dumps({"event": "finished", "test_id": "t", "status": "FAIL", "results_dir": "/r/1",
                                      "session_dir": "/r"})
    assert parse_event(line).__dict__ == {"kind": "finished", "test_id": "t", "status": "FAIL", "results_dir": "/r/1",
                                          "session_dir": "/r"}
    assert parse_event(EVENT_PREFIX + '{"event": "started", "test_id": "t"}').kind == "started"
    for other in ["[INFO:2026-11-21 23:40:04,123]: RunnerClient: t: PASS", EVENT_PREFIX + "{not json",
                  EVENT_PREFIX + '{"event": "exploded", "test_id": "t"}', EVENT_PREFIX + '{"event": "started"}',
                  " " + EVENT_PREFIX + '{"event": "started", "test_id": "t"}']:
        assert parse_event(other) is None


def test_local_fetch_takes_ducktape_files_agent_dirs_and_capped_service_logs(tmp_path, results, monkeypatch):
    from metadata_pipeline.collect import driver

    monkeypatch.setattr(driver, "SERVICE_LOG_CAP", 100)
    log = results / "KafkaService-0-140000" / "ducker02" / "server.log"
    log.write_text("start\n" + "x" * 500 + "\nthe end\n")
    (results / "KafkaService-0-140000" / "ducker02" / "server-start-stdout-stderr.log").write_text("short\n")
    fetched = LocalDriver(tmp_path / "stage").fetch(str(results), tmp_path / "out", AGENT)
    got = sorted(p.relative_to(fetched).as_posix() for p in fetched.rglob("*") if p.is_file())
    assert {"report.json", "test_log.info",
            "KafkaService-0-140000/ducker02/native-image-agent/kafka.Kafka/ducker02-101-AbCdEfGhIj/reflect-config.json",
            "KafkaService-0-140000/ducker02/native-image-agent/kafka.tools.StorageTool/ducker02-102-KkKkKkKkKk/.lock",
            "KafkaService-0-140000/ducker02/server.log",
            "KafkaService-0-140000/ducker02/server-start-stdout-stderr.log",
            } <= set(got)
    capped = (fetched / "KafkaService-0-140000" / "ducker02" / "server.log").read_text()
    assert capped.startswith("start\n") and capped.endswith("the end\n")
    assert "[... 415 bytes cut by metadata-pipeline collect ...]" in capped and len(capped) < 200
    assert (fetched / "KafkaService-0-140000" / "ducker02" / "server-start-stdout-stderr.log").read_text() == "short\n"
    assert (fetched / "TrogdorService-0-140001" / "ducker03" / AGENT).is_dir()


def test_service_logs_land_beside_the_agent_output_and_name_the_first_error(tmp_path, results):
    from metadata_pipeline.collect.results import ProcessNamer, TestOutcome, assemble

    (results / "KafkaService-0-140000" / "ducker02" / "server.log").write_text(
        "[x] INFO starting\nInvalid -Xlog option '-Xlog:gc*:file=/opt/kafka-dev/bin/../logs/kafkaServer-gc.log'\n"
        "Error: Could not create the Java Virtual Machine.\n[y] ERROR later\n")
    fetched = LocalDriver(tmp_path / "stage").fetch(str(results), tmp_path / "out", AGENT)
    dest = tmp_path / "test"
    dest.mkdir()
    outcome = TestOutcome(test_id="t.T.test", status="FAIL", run_time_seconds=1.0, summary="TimeoutError: x",
                          results_dir=str(results))
    namer = ProcessNamer("/mnt/native-image-agent/{main_class}/{hostname}-{pid}-{token}", "/mnt/native-image-agent")
    m = assemble(fetched, dest, outcome, namer, AGENT, run_id="r")
    assert "ducker02/service-logs/KafkaService-0-140000/server.log" in m.service_logs
    assert m.first_error == ("ducker02/service-logs/KafkaService-0-140000/server.log: "
                             "Error: Could not create the Java Virtual Machine.")
    assert (dest / "ducker02" / "service-logs" / "KafkaService-0-140000" / "server.log").is_file()
    dest2 = tmp_path / "test2"
    dest2.mkdir()
    passed = assemble(LocalDriver(tmp_path / "stage2").fetch(str(results), tmp_path / "out2", AGENT), dest2,
                      TestOutcome(test_id="t.T.test", status="PASS", run_time_seconds=1.0, summary="",
                                  results_dir=str(results)), namer, AGENT, run_id="r")
    assert passed.first_error == ""


def test_local_fetch_refuses_a_link_out_of_the_results(tmp_path, results):
    secret = tmp_path / "secret"
    secret.write_text("not yours")
    process = results / "KafkaService-0-140000" / "ducker02" / AGENT / "kafka.Kafka" / "ducker02-101-AbCdEfGhIj"
    os.symlink(secret, process / "jni-config.json.link")
    with pytest.raises(UnsafeArchive, match="symlink to the absolute path"):
        LocalDriver(tmp_path / "stage").fetch(str(results), tmp_path / "out", AGENT)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*"))
    assert secret.read_text() == "not yours"


def test_local_fetch_of_a_missing_results_dir_is_empty(tmp_path):
    fetched = LocalDriver(tmp_path / "stage").fetch(str(tmp_path / "nope"), tmp_path / "out", AGENT)
    assert fetched.is_dir() and list(fetched.iterdir()) == []
