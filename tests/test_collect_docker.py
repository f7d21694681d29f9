"""``collect`` for real: a Docker engine, node containers with SSH, ducktape, Kafka's real JVMs.

The Kafka checkout is the minikafka fixture: a small ducktape suite
(``tests/kafkatest/sanity_checks``) and bin/ scripts that behave like Kafka's in what collect
depends on (LOG_DIR under the install dir, -loggc, JAVA_HOME first), with Kafka 4.0.0's real
jars from Maven Central (tests/pom.xml) in its libs/. Its three tests run a KRaft combined
broker (kafka.kafka after kafka.tools.StorageTool): one produces and consumes with Kafka's
console clients on a second node (client JVMs, not instrumented), one SIGKILLs the broker once
the agent's periodic snapshot is there, one fails after the broker ran. Then collect's own
wrapper entry step runs kafka.docker.KafkaDockerWrapper setup + start. GraalVM is replaced by
``metadata-pipeline/graalvm-standin:17`` (OpenJDK 17 + the stand-in agent, docker/agent-standin),
whose output comes from what the JVMs really did.

collect runs as a user runs it (``python -m metadata_pipeline collect``, with its default agent
options), is interrupted with SIGINT after the first test's output is in, and resumed; then
``merge`` reads the output as it is.
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

from docker_fixtures import kafka_libs
from metadata_pipeline.cli import main
from metadata_pipeline.collect import sshkeys
from metadata_pipeline.collect.image import NodeImage, build_node_image
from metadata_pipeline.collect.layout import OutputDir, test_dir_name
from metadata_pipeline.collect.wrapper_entry import STEP_DIR, WRAPPER_ENTRY_ID
from metadata_pipeline.containers import LABEL_RUN, Container, ContainerSpec, Engine, Mount, Network

pytestmark = pytest.mark.docker

REPO = Path(__file__).resolve().parents[1]
MINIKAFKA = Path(__file__).parent / "fixtures" / "minikafka"
SUITE = "kafkatest.sanity_checks.agent_collect_test.AgentCollectTest."
PRODUCE, KILLED, FAILING = SUITE + "test_produce", SUITE + "test_broker_killed", SUITE + "test_fails_after_broker_ran"
TESTS = (PRODUCE, KILLED, FAILING)


@pytest.fixture(scope="module")
def kafka_dir(tmp_path_factory) -> Path:
    """The fixture checkout, built the way a release is: Kafka's real jars in libs/."""
    libs = kafka_libs()
    kafka = tmp_path_factory.mktemp("checkout") / "kafka"
    shutil.copytree(MINIKAFKA, kafka, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(libs, kafka / "libs")
    return kafka


def collect_argv(kafka: Path, out: Path, base_image: str, standin_image: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "metadata_pipeline", "collect", "--kafka-dir", str(kafka),
            "tests/kafkatest/sanity_checks", "-o", str(out), "--graalvm-image", str(standin_image),
            "--base-image", base_image, "--nodes", "3", "--parallel", "2", *extra]


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
    checkout_before = sorted(p.name for p in kafka_dir.iterdir())
    started = time.monotonic()

    # 1. Ctrl-C once the first test's output is in: the cluster goes, that output stays.
    first_run = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                 preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 900
    while not list(out.glob("*/manifest.json")):
        assert first_run.poll() is None, first_run.communicate()[0]
        assert time.monotonic() < deadline, "no test finished within 15 minutes"
        time.sleep(0.2)
    first_run.send_signal(signal.SIGINT)
    output = first_run.communicate(timeout=300)[0]
    assert first_run.returncode == 130, output
    assert "collect: interrupted; " in output
    [run_dir] = (out / ".collect" / "runs").iterdir()
    assert left_on_engine(docker_engine, run_dir.name) == []
    kept = OutputDir(out).manifests()
    assert 1 <= len(kept) < 3 and WRAPPER_ENTRY_ID not in kept, output
    interrupted_at = time.monotonic()

    # 2. The same command runs exactly what has no output: the other tests, then the wrapper entry.
    second = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=1200)
    missing = 4 - len(kept)
    assert second.returncode == 1, second.stdout + second.stderr  # one planned test fails, on purpose
    assert f"collect: 4 planned: {missing} to run, {len(kept)} already collected (skipped)" in second.stderr
    assert f"(ran now: {missing} of {missing})" in second.stdout
    manifests = OutputDir(out).manifests()
    assert set(manifests) == {*TESTS, WRAPPER_ENTRY_ID}
    for test_id, before in kept.items():
        assert manifests[test_id] == before  # not run again
    assert len({m.run_id for m in manifests.values()}) == 2
    resumed_at = time.monotonic()

    # Every broker started (the read-write checkout: kafka-run-class.sh's logs/ and -loggc work).
    produce, killed, failing, wrapper = (manifests[t] for t in (*TESTS, WRAPPER_ENTRY_ID))
    assert (produce.status, killed.status, failing.status, wrapper.status) == ("PASS", "PASS", "FAIL", "PASS"), \
        second.stdout
    assert "this test fails on purpose" in failing.summary
    assert produce.nodes == ("ducker02", "ducker03")  # the broker on one node, the clients on the other
    for m in (produce, killed, failing):
        # On the broker's node: StorageTool (format), then kafka.Kafka; the console clients got no agent.
        classes = sorted((p.main_class, p.node) for p in m.processes)
        assert [c for c, _ in classes] == ["kafka.Kafka", "kafka.tools.StorageTool"], (m.test_id, classes)
        assert len({n for _, n in classes}) == 1 and m.contributed
    assert [(p.main_class, p.write, p.stale_lock) for p in killed.processes if p.main_class == "kafka.Kafka"] == [
        ("kafka.Kafka", "snapshot", True)]  # the default snapshot period kept what the SIGKILLed broker did
    finals = [p for m in (produce, failing) for p in m.processes] + \
        [p for p in killed.processes if p.main_class != "kafka.Kafka"]
    assert {(p.write, p.stale_lock) for p in finals} == {("final", False)}
    # The wrapper entry: setup then start, both under the agent, both written at exit.
    assert [(p.main_class, p.write) for p in wrapper.processes] == [("kafka.docker.KafkaDockerWrapper", "final")] * 2
    assert wrapper.contributed
    assert (out / test_dir_name(WRAPPER_ENTRY_ID) / ".ducktape" / "wrapper-entry.log").read_text().count(
        "consumed 3 of 3") == 1
    assert not list(out.rglob(".lock")) and not list(out.glob("*/*/*/agent-pid*"))
    summary = second.stdout
    assert "1 JVM in 1 test left a stale .lock (killed), snapshot kept" in summary
    assert f"next: metadata-pipeline merge {out} -o {kafka_dir}/docker/native/native-image-configs\n" in summary
    # What the checkout got: what Kafka's scripts write under ducker-ak (logs/, the GC log), nothing else.
    assert sorted(p.name for p in kafka_dir.iterdir()) == sorted([*checkout_before, "logs"])
    assert (kafka_dir / "logs" / "kafkaServer-gc.log").is_file()

    # 3. merge reads the output as it is, and names each entry's test.
    merged, provenance = tmp_path / "merged", tmp_path / "provenance.json"
    assert main(["merge", str(out), "-o", str(merged), "--provenance", str(provenance)]) == 0
    reflect = json.loads((merged / "reflect-config.json").read_text())
    names = {entry["name"] for entry in reflect}
    assert any(n.startswith(("kafka.", "org.apache.kafka.")) for n in names), sorted(names)[:20]
    # Nothing of collect's own step: its log4j configs are files, not class-path resources.
    resources = (merged / "resource-config.json").read_text()
    assert "log4j-provider.properties" in resources and STEP_DIR not in resources, resources
    sources = [s for e in json.loads(provenance.read_text())["entries"] for s in e["sources"]]
    for test_id in (*TESTS, WRAPPER_ENTRY_ID):
        assert any(s.startswith(test_dir_name(test_id) + "/ducker0") for s in sources), test_id
    print(f"\ncollect e2e (real Kafka 4.0.0 JVMs): {len(reflect)} reflection types merged; "
          + ", ".join(f"{t.rsplit('.', 1)[1]} {manifests[t].run_time_seconds:.1f}s" for t in (*TESTS, WRAPPER_ENTRY_ID)))

    # 4. --rerun-failed runs the failed test again, and only that one.
    third = subprocess.run(argv + ["--rerun-failed"], cwd=REPO, capture_output=True, text=True, timeout=900)
    assert "collect: 4 planned: 1 to run, 3 already collected (skipped), 1 failed before, run again" in third.stderr
    again = OutputDir(out).manifests()
    assert again[FAILING].run_id not in {m.run_id for m in manifests.values()}
    assert again[PRODUCE] == manifests[PRODUCE] and again[KILLED] == manifests[KILLED]
    print(f"collect e2e: interrupted run {interrupted_at - started:.1f}s, "
          f"resumed run {resumed_at - interrupted_at:.1f}s, --rerun-failed {time.monotonic() - resumed_at:.1f}s")


def test_collect_against_an_existing_cluster_file_with_a_test_timeout(docker_engine, base_image, standin_image,
                                                                       kafka_dir, run_id, tmp_path):
    """A ducktape cluster collect did not start (here: a container reached over SSH from this machine).

    The image holds no SSH key: the test makes a pair and injects it, as collect does for its
    own nodes. The test waits for an agent snapshot that comes only after 600 s: --test-timeout
    fails it after 45 s, its teardown stops the broker cleanly, and the agent's final write is kept.
    """
    image = build_node_image(docker_engine, NodeImage(base_image=base_image, graalvm_image=str(standin_image)))
    with Network(docker_engine, f"metadata-pipeline-test-{run_id}", run_id) as network:
        spec = ContainerSpec(image=image, name=f"metadata-pipeline-test-{run_id}-vm1", hostname="vm1",
                             network=network.name, mounts=(Mount(kafka_dir, "/opt/kafka-dev"),))
        with Container(docker_engine, spec, run_id) as vm:
            assert vm.container is not None
            assert vm.exec(["ls", "/root/.ssh/id_ed25519"]).exit_code != 0  # nothing baked into the image
            pair = sshkeys.generate("test")
            vm.put_files("/root/.ssh", sshkeys.files(pair))
            key = tmp_path / "key"
            key.write_text(pair.private_openssh)
            os.chmod(key, 0o600)
            vm.container.reload()
            address = vm.container.attrs["NetworkSettings"]["Networks"][network.name]["IPAddress"]
            cluster = tmp_path / "cluster.json"
            cluster.write_text(json.dumps({"nodes": [{"externally_routable_ip": address, "ssh_config": {
                "host": "vm1", "hostname": address, "user": "root", "port": 22, "identityfile": str(key),
                "password": None}}]}))
            vm.wait_until(["sh", "-c", "ss -ltn | grep -q ':22 '"], timeout=60)
            out = tmp_path / "collected"
            result = subprocess.run(
                [sys.executable, "-m", "metadata_pipeline", "collect", "--kafka-dir", str(kafka_dir),
                 "tests/kafkatest/sanity_checks::AgentCollectTest.test_broker_killed", "-o", str(out),
                 "--cluster-file", str(cluster), "--write-period", "1", "--write-initial-delay", "600",
                 "--test-timeout", "45"],
                cwd=REPO, capture_output=True, text=True, timeout=900)
            assert result.returncode == 1, result.stdout + result.stderr  # the test failed: timed out
            # The node got this run's overrides and the shim.
            assert vm.check(["readlink", "-f", "/usr/local/bin/java"]).strip() == \
                "/opt/metadata-pipeline/overrides/bin/java"
    [m] = OutputDir(out).manifests().values()  # no wrapper entry step on a --cluster-file run
    assert m.test_id == KILLED and m.nodes == ("vm1",)  # ducktape names nodes by their ssh_config host
    assert (m.status, m.summary) == ("FAIL", "TestTimeout: the test ran longer than 45 s (collect --test-timeout)")
    assert m.run_time_seconds is not None and 45 <= m.run_time_seconds < 600
    assert sorted((p.node, p.main_class, p.write, p.stale_lock) for p in m.processes) == [
        ("vm1", "kafka.Kafka", "final", False), ("vm1", "kafka.tools.StorageTool", "final", False)]
    assert main(["merge", str(out), "-o", str(tmp_path / "merged")]) == 0
    assert (tmp_path / "merged" / "reflect-config.json").read_text().count('"name"') > 0


def test_node_image_is_probed_and_the_agent_layer_added_on_top(docker_engine, base_image, standin_image, kafka_dir,
                                                               run_id, tmp_path):
    """--node-image: an existing image (here a stand-in for Kafka's node image: the base plus an
    /opt/kafka-3.8.0 and a kibosh binary) is probed by --plan and gets only the agent's layer."""
    context = tmp_path / "kafka-like"
    context.mkdir()
    (context / "Dockerfile").write_text(f"FROM {base_image}\nRUN mkdir -p /opt/kafka-3.8.0/libs /opt/kibosh/build "
                                        "&& touch /opt/kibosh/build/kibosh\n")
    kafka_like = f"metadata-pipeline/test-kafka-like-node:{run_id.lower()}"
    docker_engine.build_image(context, kafka_like, labels={"metadata-pipeline.run": run_id})
    try:
        plan = subprocess.run([sys.executable, "-m", "metadata_pipeline", "collect", "--kafka-dir", str(kafka_dir),
                               "tests/kafkatest/sanity_checks", "--plan", "--node-image", kafka_like],
                              cwd=REPO, capture_output=True, text=True, timeout=300)
        assert plan.returncode == 0, plan.stderr
        assert (f"node image: {kafka_like} (probed): 1 old release(s) under /opt, kibosh, commands: iptables, tc"
                in plan.stdout), plan.stdout
        assert left_on_engine(docker_engine, run_id) == []  # the probe's container is gone
        image = build_node_image(docker_engine, NodeImage(node_image=kafka_like, graalvm_image=str(standin_image)))
        spec = ContainerSpec(image=image, name=f"metadata-pipeline-test-{run_id}-layer")
        with Container(docker_engine, spec, run_id) as node:
            assert node.exec(["test", "-f", "/opt/graalvm/lib/libnative-image-agent.so"]).ok
            assert node.exec(["test", "-d", "/opt/kafka-3.8.0/libs"]).ok  # what the image had stays
            # No client key came with either image; the node made its own host keys at start.
            assert node.exec(["sh", "-c", "ls /root/.ssh/id_* 2>/dev/null | wc -l"]).output.strip() == "0"
            assert node.exec(["/opt/ducktape/bin/python", "-c", "import ducktape"]).ok
            node.wait_until(["sh", "-c", "pgrep -x sshd"], timeout=60)  # sshd runs with the appended settings
        # The image has kibosh: its nodes get FUSE (SYS_ADMIN and /dev/fuse), and no more than that.
        from metadata_pipeline.collect.cluster import ClusterSpec

        cluster = ClusterSpec(run_id=run_id, image=image, nodes=2, kafka_dir=kafka_dir, overrides_dir=tmp_path,
                              overrides_mount="/opt/metadata-pipeline/overrides", fuse=True)
        with Network(docker_engine, cluster.network, run_id), \
                Container(docker_engine, cluster.container_specs()[1], run_id) as node:
            assert node.exec(["test", "-c", "/dev/fuse"]).ok
            node.container.reload()
            assert sorted(node.container.attrs["HostConfig"]["CapAdd"]) == ["NET_ADMIN", "SYS_ADMIN"]
    finally:
        docker_engine.client.images.remove(kafka_like, force=True)
