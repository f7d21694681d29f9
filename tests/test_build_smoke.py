"""The smoke test, run for real against the STAND-IN broker of docker/native-image-standin.

The stand-in is a small Python program with the native executable's command line (``setup``,
``start``) and the scripts' (``storage format``, ``server-start``): it formats storage, opens
the listeners after a delay, holds memory, and stops on SIGTERM — or misbehaves on request.
So these tests measure real processes; what they cannot show is how Kafka's own binary fares
(scripts/verify-build-with-graalvm.sh does, on a machine with GraalVM).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

import pytest

from build_helpers import STANDIN_BROKER, kafka_dist, read_records
from metadata_pipeline.nativebuild.errors import SmokeFailed
from metadata_pipeline.nativebuild.smoke import (
    Limits, SmokeReport, StartupFigures, broker_properties, jvm_unavailable, native_launch,
    report_lines, run_launch, run_smoke,
)

FAST = Limits(format_timeout=30, ready_timeout=30, settle_seconds=0.2, stop_timeout=10)


@pytest.fixture
def binary(tmp_path: Path) -> Path:
    """The stand-in broker as an executable named like Kafka's."""
    path = tmp_path / "bin" / "kafka.Kafka"
    path.parent.mkdir()
    shutil.copy2(STANDIN_BROKER, path)
    return path


def env(tmp_path: Path, **knobs: str) -> dict[str, str]:
    return {**os.environ, "STANDIN_BROKER_RECORD": str(tmp_path / "record.jsonl"),
            **{f"STANDIN_BROKER_{key.upper()}": value for key, value in knobs.items()}}


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def test_native_launch_formats_starts_measures_and_stops_cleanly(tmp_path: Path, binary: Path) -> None:
    config = tmp_path / "dist-config"
    config.mkdir()
    (config / "log4j.properties").write_text("log4j.rootLogger=WARN, stdout\n")
    launch = native_launch(binary, config, tmp_path / "work",
                           {**env(tmp_path, ready_delay_ms="300", heap_mb="64"), "KAFKA_HEAP_OPTS": "-Xmx1G"})
    figures = run_launch(launch, FAST)

    assert 0.3 <= figures.ready_seconds < 10
    assert 64 << 20 <= figures.peak_rss_bytes < (64 + 200) << 20
    assert figures.exit_code == 143 and figures.stop_seconds < 5
    setup, start = read_records(tmp_path / "record.jsonl")
    work = tmp_path / "work"
    assert setup["argv"] == ["setup", "--default-configs-dir", str(work / "default"),
                             "--mounted-configs-dir", str(work / "mounted"), "--final-configs-dir", str(work / "final")]
    assert setup["cluster_id"] == launch.cluster_id and setup["kafka_env"] == []  # KAFKA_* never reach the wrapper
    assert start["argv"] == ["start", "--config", str(work / "final" / "server.properties"),
                             f"-Dkafka.logs.dir={work / 'logs'}",
                             f"-Dlog4j.configuration=file:{work / 'final' / 'log4j.properties'}"]
    assert (work / "final" / "log4j.properties").read_text() == "log4j.rootLogger=WARN, stdout\n"
    meta = (work / "data" / "meta.properties").read_text()
    assert f"cluster.id={launch.cluster_id}\n" in meta and "node.id=1\n" in meta


def test_a_broker_that_exits_before_it_listens_fails_with_its_output(tmp_path: Path, binary: Path) -> None:
    launch = native_launch(binary, None, tmp_path / "work", env(tmp_path, exit_early="3"))
    with pytest.raises(SmokeFailed) as info:
        run_launch(launch, FAST)
    assert info.value.exit_code == 1
    assert "native: the broker exited 3 before accepting connections on 127.0.0.1:" in info.value.message
    assert "exiting early as STANDIN_BROKER_EXIT_EARLY asks" in info.value.message


def test_a_broker_that_ignores_sigterm_is_killed_and_fails(tmp_path: Path, binary: Path) -> None:
    launch = native_launch(binary, None, tmp_path / "work", env(tmp_path, on_sigterm="ignore"))
    with pytest.raises(SmokeFailed, match=r"did not stop within 1s of SIGTERM \(killed it\)"):
        run_launch(launch, dataclasses.replace(FAST, stop_timeout=1))
    assert not alive(read_records(tmp_path / "record.jsonl")[-1]["pid"])


def test_a_broker_killed_by_sigterm_did_not_shut_down_cleanly(tmp_path: Path, binary: Path) -> None:
    launch = native_launch(binary, None, tmp_path / "work", env(tmp_path, on_sigterm="die"))
    with pytest.raises(SmokeFailed, match="on SIGTERM the broker was killed by signal 15 instead of shutting down cleanly"):
        run_launch(launch, FAST)


def test_a_broker_that_never_listens_times_out_and_is_killed(tmp_path: Path, binary: Path) -> None:
    launch = native_launch(binary, None, tmp_path / "work", env(tmp_path, ready_delay_ms="60000"))
    with pytest.raises(SmokeFailed, match=r"accepted no connection on 127.0.0.1:\d+ within 0.5s"):
        run_launch(launch, dataclasses.replace(FAST, ready_timeout=0.5))
    assert not alive(read_records(tmp_path / "record.jsonl")[-1]["pid"])


def test_a_failing_storage_format_stops_the_smoke_test(tmp_path: Path, binary: Path) -> None:
    launch = native_launch(binary, None, tmp_path / "work", env(tmp_path))
    without_id = {key: value for key, value in launch.env.items() if key != "CLUSTER_ID"}
    with pytest.raises(SmokeFailed, match="native: formatting storage exited 1: CLUSTER_ID environment variable is not set"):
        run_launch(dataclasses.replace(launch, env=without_id), FAST)
    assert [r["mode"] for r in read_records(tmp_path / "record.jsonl")] == ["setup"]  # never started


def test_run_smoke_measures_the_jvm_broker_through_the_distribution_scripts(
        tmp_path: Path, binary: Path) -> None:
    dist = kafka_dist(tmp_path / "kafka")
    progress: list[str] = []
    report = run_smoke(binary, dist, env(tmp_path), limits=FAST, progress=progress.append)

    assert report.jvm is not None and report.jvm_note is None
    assert report.native.label == "native" and report.jvm.program == "bin/kafka-server-start.sh"
    setup, _start, storage, server = read_records(tmp_path / "record.jsonl")
    assert [r["mode"] for r in (setup, _start, storage, server)] == ["setup", "start", "storage", "server-start"]
    assert storage["argv"][:3] == ["storage", "format", "-t"] and storage["argv"][4] == "-c"
    assert storage["argv"][3] != setup["cluster_id"]  # each broker gets its own fresh cluster
    assert server["argv"][1] == storage["argv"][5]  # started with the configuration it was formatted for
    assert server["log_dir"].endswith("/jvm/logs") and not (dist / "logs").exists()  # logs kept out of the dist
    assert len(progress) == 2 and "setup + start" in progress[0]
    lines = report_lines(report)
    speed = report.jvm.ready_seconds / report.native.ready_seconds
    assert f"ratio  jvm/native: {speed:.1f}x time to ready" in lines[-1]
    assert "KIP-974 reports ~130 ms native vs ~1150 ms JVM, 8.8x" in lines[-1]


def test_jvm_comparison_needs_the_scripts_and_a_java(tmp_path: Path) -> None:
    no_scripts = kafka_dist(tmp_path / "a", scripts=False)
    assert jvm_unavailable(no_scripts, os.environ) == "the distribution has no bin/kafka-storage.sh"
    with_scripts = kafka_dist(tmp_path / "b")
    no_java = {"PATH": str(tmp_path / "empty-bin")}
    assert jvm_unavailable(with_scripts, no_java) == "no java (set JAVA_HOME or put java on PATH)"
    java = tmp_path / "jdk" / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text("#!/bin/sh\n")
    java.chmod(0o755)
    assert jvm_unavailable(with_scripts, {**no_java, "JAVA_HOME": str(tmp_path / "jdk")}) is None


def test_a_failing_jvm_broker_is_a_note_not_a_failure(tmp_path: Path, binary: Path) -> None:
    dist = kafka_dist(tmp_path / "kafka")
    (dist / "bin" / "kafka-server-start.sh").write_text("#!/bin/sh\necho 'Error: no JVM here' >&2\nexit 1\n")
    report = run_smoke(binary, dist, env(tmp_path), limits=FAST)
    assert report.jvm is None and report.jvm_note is not None
    assert report.jvm_note.startswith("failed: jvm: the broker exited 1 before accepting connections")
    assert "Error: no JVM here" in report.jvm_note
    assert report_lines(report)[2].startswith("  jvm    not compared: failed: jvm:")


def test_broker_properties_are_one_kraft_node_on_loopback(tmp_path: Path) -> None:
    props = dict(line.split("=", 1) for line in broker_properties(9192, 9193, tmp_path / "data").splitlines())
    assert props["process.roles"] == "broker,controller"
    assert props["controller.quorum.voters"] == f"{props['node.id']}@127.0.0.1:9193"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:9192,CONTROLLER://127.0.0.1:9193"
    assert props["log.dirs"] == str(tmp_path / "data")
    assert props["offsets.topic.replication.factor"] == "1"


def test_report_without_a_jvm_still_names_the_kip_figures() -> None:
    native = StartupFigures("native", "kafka.Kafka", 0.131, 250_000_000, 0.4, 143)
    lines = report_lines(SmokeReport(native, None, "no java (set JAVA_HOME or put java on PATH)"))
    assert lines[1].split() == ["native", "kafka.Kafka", "ready", "in", "131", "ms", "peak", "RSS", "250.0", "MB",
                                "stopped", "in", "0.4", "s", "(exit", "143)"]
    assert lines[2] == "  jvm    not compared: no java (set JAVA_HOME or put java on PATH)"
    assert lines[3] == "  KIP-974 reports ~130 ms native vs ~1150 ms JVM (8.8x)"
