"""``collect`` for real: a Docker engine, node containers with SSH, ducktape, the agent stand-in.

The Kafka checkout is the minikafka fixture with its Java "broker" (main class kafka.Kafka,
instrumented by the java shim) and a tool JVM (org.apache.kafka.tools.TopicCommand, not
instrumented), compiled here; its ducktape suite ``tests/kafkatest/sanity_checks`` has three
tests loading three different plugin classes: a normal one (broker + tool on two nodes), one
that SIGKILLs the broker after the agent's periodic snapshot, one that fails after the broker
ran. GraalVM is replaced by ``metadata-pipeline/graalvm-standin:17`` (OpenJDK 17 + the stand-in
agent, docker/agent-standin), whose output comes from what the JVMs really did.

collect runs as a user runs it (``python -m metadata_pipeline collect``, in the repository, so
its metadata-pipeline.toml filters reach the agent), is interrupted with SIGINT after the first
test's output is in, and resumed; then ``merge`` reads the output as it is.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from metadata_pipeline.cli import main
from metadata_pipeline.collect.image import NodeImage, build_node_image
from metadata_pipeline.collect.layout import OutputDir, test_dir_name
from metadata_pipeline.containers import LABEL_RUN, Container, ContainerSpec, Engine, Mount, Network

pytestmark = pytest.mark.docker

REPO = Path(__file__).resolve().parents[1]
MINIKAFKA = Path(__file__).parent / "fixtures" / "minikafka"
SUITE = "kafkatest.sanity_checks.agent_collect_test.AgentCollectTest."
PRODUCE, KILLED, FAILING = SUITE + "test_produce", SUITE + "test_broker_killed", SUITE + "test_fails_after_broker_ran"
PLUGIN_OF = {PRODUCE: "kafka.plugins.ProducePlugin", KILLED: "kafka.plugins.KilledPlugin",
             FAILING: "kafka.plugins.FailingPlugin"}


@pytest.fixture(scope="module")
def kafka_dir(tmp_path_factory) -> Path:
    """The fixture checkout with its Java programs compiled into build/classes (kafka-run-class.sh's class path)."""
    if shutil.which("javac") is None:
        pytest.fail("the collect end-to-end test needs javac (openjdk-17-jdk-headless)")
    kafka = tmp_path_factory.mktemp("checkout") / "kafka"
    shutil.copytree(MINIKAFKA, kafka, ignore=shutil.ignore_patterns("__pycache__"))
    sources = sorted(str(p) for p in (kafka / "src").rglob("*.java"))
    subprocess.run(["javac", "--release", "17", "-d", str(kafka / "build" / "classes"), *sources], check=True,
                   capture_output=True, timeout=300)
    return kafka


def collect_argv(kafka: Path, out: Path, base_image: str, standin_image: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "metadata_pipeline", "collect", "--kafka-dir", str(kafka),
            "tests/kafkatest/sanity_checks", "-o", str(out), "--graalvm-image", str(standin_image),
            "--base-image", base_image, "--write-period", "1", "--write-initial-delay", "1",
            "--nodes", "3", "--parallel", "2", *extra]


def left_on_engine(engine: Engine, run_id: str) -> list[str]:
    label = {"label": f"{LABEL_RUN}={run_id}"}
    return [c.name for c in engine.client.containers.list(all=True, filters=label)] + \
           [n.name for n in engine.client.networks.list(filters=label)]


def test_collect_is_interrupted_resumed_and_merged(docker_engine, base_image, standin_image, kafka_dir, tmp_path):
    if standin_image.placeholder:
        pytest.fail("the stand-in image holds the do-nothing placeholder agent: docker/agent-standin/build.sh "
                    "is missing")
    out = tmp_path / "collected"
    argv = collect_argv(kafka_dir, out, base_image, standin_image)
    started = time.monotonic()

    # 1. Ctrl-C once the first test's output is in: the cluster goes, that output stays.
    first_run = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                 preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 600
    while not list(out.glob("*/manifest.json")):
        assert first_run.poll() is None, first_run.communicate()[0]
        assert time.monotonic() < deadline, "no test finished within 10 minutes"
        time.sleep(0.2)
    first_run.send_signal(signal.SIGINT)
    output = first_run.communicate(timeout=300)[0]
    assert first_run.returncode == 130, output
    assert "collect: interrupted; " in output
    [run_dir] = (out / ".collect" / "runs").iterdir()
    assert left_on_engine(docker_engine, run_dir.name) == []
    kept = OutputDir(out).manifests()
    assert 1 <= len(kept) < 3, output
    interrupted_at = time.monotonic()

    # 2. The same command runs exactly the tests without output.
    second = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=600)
    missing = 3 - len(kept)
    assert second.returncode == 1, second.stdout + second.stderr  # one planned test fails, on purpose
    assert f"collect: 3 planned: {missing} to run, {len(kept)} already collected (skipped)" in second.stderr
    assert f"(ran now: {missing} of {missing})" in second.stdout
    manifests = OutputDir(out).manifests()
    assert set(manifests) == set(PLUGIN_OF)
    for test_id, before in kept.items():
        assert manifests[test_id] == before  # not run again
    assert len({m.run_id for m in manifests.values()}) == 2
    resumed_at = time.monotonic()

    # What each test left: its status, its nodes, one directory per instrumented JVM.
    produce, killed, failing = manifests[PRODUCE], manifests[KILLED], manifests[FAILING]
    assert (produce.status, killed.status, failing.status) == ("PASS", "PASS", "FAIL")
    assert "this test fails on purpose" in failing.summary
    assert produce.nodes == ("ducker02", "ducker03")  # the broker on one node, the tool on the other
    for m in manifests.values():
        [process] = m.processes  # one broker JVM per test; the tool JVM got no agent
        assert process.main_class == "kafka.Kafka" and m.contributed
    assert [(p.write, p.stale_lock) for p in killed.processes] == [("snapshot", True)]
    assert [(p.write, p.stale_lock) for p in produce.processes + failing.processes] == [("final", False)] * 2
    assert not list(out.rglob(".lock")) and not list(out.glob("*/*/*/agent-pid*"))
    assert "ToolPlugin" not in "".join(p.read_text() for p in out.glob("*/*/*/*.json"))
    summary = second.stdout
    assert "1 JVM in 1 test left a stale .lock (killed)" in summary
    assert f"next: metadata-pipeline merge {out} -o {kafka_dir}/docker/native/native-image-configs\n" in summary

    # 3. merge reads the output as it is, and names each entry's test.
    merged, provenance = tmp_path / "merged", tmp_path / "provenance.json"
    assert main(["merge", str(out), "-o", str(merged), "--provenance", str(provenance)]) == 0
    reflect = json.loads((merged / "reflect-config.json").read_text())
    assert [entry["name"] for entry in reflect] == sorted(PLUGIN_OF.values())
    assert all({m["name"] for m in entry["methods"]} == {"<init>", "describe"} for entry in reflect)
    sources = {e["entry"]: e["sources"] for e in json.loads(provenance.read_text())["entries"]
               if e["category"] == "reflection"}
    for test_id, plugin in PLUGIN_OF.items():
        [source] = sources[plugin]
        assert source.startswith(test_dir_name(test_id) + "/ducker0"), (plugin, source)
    resources = (merged / "resource-config.json").read_text()
    assert all(f"minikafka/{name}.properties" in resources for name in ("produce", "killed", "failing"))

    # 4. --rerun-failed runs the failed test again, and only that one.
    third = subprocess.run(argv + ["--rerun-failed"], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert "collect: 3 planned: 1 to run, 2 already collected (skipped), 1 failed before, run again" in third.stderr
    again = OutputDir(out).manifests()
    assert again[FAILING].run_id not in {m.run_id for m in manifests.values()}
    assert again[PRODUCE] == manifests[PRODUCE] and again[KILLED] == manifests[KILLED]
    print(f"\ncollect e2e: interrupted run {interrupted_at - started:.1f}s, "
          f"resumed run {resumed_at - interrupted_at:.1f}s, --rerun-failed {time.monotonic() - resumed_at:.1f}s")


def test_collect_against_an_existing_cluster_file_with_a_test_timeout(docker_engine, base_image, standin_image,
                                                                       kafka_dir, run_id, tmp_path):
    """A ducktape cluster collect did not start (here: a container reached over SSH from this machine).

    The test waits for an agent snapshot that comes only after 30 s: --test-timeout fails it
    after 3 s, its teardown stops the broker cleanly, and the agent's final write is kept.
    """
    image = build_node_image(docker_engine, NodeImage(base_image=base_image, graalvm_image=str(standin_image)))
    with Network(docker_engine, f"metadata-pipeline-test-{run_id}", run_id) as network:
        spec = ContainerSpec(image=image, name=f"metadata-pipeline-test-{run_id}-vm1", hostname="vm1",
                             network=network.name, mounts=(Mount(kafka_dir, "/opt/kafka-dev", read_only=True),))
        with Container(docker_engine, spec, run_id) as vm:
            assert vm.container is not None
            vm.container.reload()
            address = vm.container.attrs["NetworkSettings"]["Networks"][network.name]["IPAddress"]
            key = vm.copy_out("/root/.ssh/id_ed25519", tmp_path / "key")
            os.chmod(key, 0o600)
            cluster = tmp_path / "cluster.json"
            cluster.write_text(json.dumps({"nodes": [{"externally_routable_ip": address, "ssh_config": {
                "host": "vm1", "hostname": address, "user": "root", "port": 22, "identityfile": str(key),
                "password": None}}]}))
            vm.wait_until(["sh", "-c", "ss -ltn | grep -q ':22 '"], timeout=60)
            out = tmp_path / "collected"
            result = subprocess.run(
                [sys.executable, "-m", "metadata_pipeline", "collect", "--kafka-dir", str(kafka_dir),
                 "tests/kafkatest/sanity_checks::AgentCollectTest.test_broker_killed", "-o", str(out),
                 "--cluster-file", str(cluster), "--write-period", "1", "--write-initial-delay", "30",
                 "--test-timeout", "3"],
                cwd=REPO, capture_output=True, text=True, timeout=600)
            assert result.returncode == 1, result.stdout + result.stderr  # the test failed: timed out
            # The node got this run's overrides and the shim.
            assert vm.check(["readlink", "-f", "/usr/local/bin/java"]).strip() == \
                "/opt/metadata-pipeline/overrides/bin/java"
    [m] = OutputDir(out).manifests().values()
    assert m.test_id == KILLED and m.nodes == ("vm1",)  # ducktape names nodes by their ssh_config host
    assert (m.status, m.summary) == ("FAIL", "TestTimeout: the test ran longer than 3 s (collect --test-timeout)")
    assert m.run_time_seconds is not None and 3 <= m.run_time_seconds < 30
    assert [(p.node, p.main_class, p.write, p.stale_lock) for p in m.processes] == [
        ("vm1", "kafka.Kafka", "final", False)]
    assert main(["merge", str(out), "-o", str(tmp_path / "merged")]) == 0
    assert "kafka.plugins.KilledPlugin" in (tmp_path / "merged" / "reflect-config.json").read_text()
