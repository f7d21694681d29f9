#!/usr/bin/env python3
"""What collect's periodic agent snapshots cost in test time, measured in one run.

A Kafka 4.0.0 KRaft broker (the real jars of tests/pom.xml, in tests/kafka-libs) is started
through the fixture's Kafka-shaped bin/ scripts with the agent STAND-IN
(docker/agent-standin, compiled here) attached, as collect attaches it; the clock runs from the
start command to "Kafka Server started", through a produce and a consume with Kafka's console
clients, to the broker's exit on SIGTERM: one system test's broker, in short. Each round runs it
with collect's default snapshots (config-write-initial-delay-secs=1, config-write-period-secs=3)
and with final writes only, alternately, and prints both medians and their ratio.

    python benchmarks/collect_snapshot_bench.py [--rounds 3] [--period 3] [--delay 1]

Needs gcc, a JDK 17 (JAVA_HOME or /usr/lib/jvm/java-17-openjdk-amd64) and tests/kafka-libs
(mvn -q -f tests/pom.xml dependency:copy-dependencies -DoutputDirectory=kafka-libs).
The stand-in records far less than GraalVM's agent, so its writes are smaller: read the figure
as a lower bound of the real agent's cost.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from metadata_pipeline.kraft import new_cluster_id
from metadata_pipeline.nativebuild.smoke import free_port

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "fixtures" / "minikafka"
LIBS = REPO / "tests" / "kafka-libs"


def run_once(kafka: Path, agent: Path, work: Path, java_home: str, periodic: tuple[int, int] | None) -> float:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    port, controller = free_port(), free_port()
    config = work / "server.properties"
    config.write_text("\n".join([
        "process.roles=broker,controller", "node.id=1", f"controller.quorum.voters=1@localhost:{controller}",
        f"listeners=PLAINTEXT://localhost:{port},CONTROLLER://localhost:{controller}",
        f"advertised.listeners=PLAINTEXT://localhost:{port}", "controller.listener.names=CONTROLLER",
        "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT", f"log.dirs={work}/data",
        "offsets.topic.replication.factor=1", "transaction.state.log.replication.factor=1",
        "transaction.state.log.min.isr=1", "group.initial.rebalance.delay.ms=0", ""]))
    env = {**os.environ, "JAVA_HOME": java_home, "LOG_DIR": str(work / "logs")}
    cluster_id = new_cluster_id()
    subprocess.run([str(kafka / "bin/kafka-storage.sh"), "format", "-t", cluster_id, "-c", str(config)], env=env,
                   check=True, capture_output=True)
    options = f"config-output-dir={work}/agent"
    if periodic is not None:
        options += f",config-write-initial-delay-secs={periodic[0]},config-write-period-secs={periodic[1]}"
    broker_env = {**env, "KAFKA_OPTS": f"-agentpath:{agent}={options}",
                  "KAFKA_LOG4J_OPTS": f"-Dlog4j2.configurationFile={kafka}/config/log4j2.yaml"}
    log = open(work / "server.log", "w")
    started = time.monotonic()
    broker = subprocess.Popen([str(kafka / "bin/kafka-server-start.sh"), str(config)], env=broker_env, stdout=log,
                              stderr=subprocess.STDOUT)
    try:
        while "Kafka Server started" not in (work / "server.log").read_text(errors="replace"):
            if broker.poll() is not None or time.monotonic() - started > 300:
                raise SystemExit(f"broker did not start: {(work / 'server.log').read_text()[-2000:]}")
            time.sleep(0.1)
        servers = f"localhost:{port}"
        subprocess.run([str(kafka / "bin/kafka-console-producer.sh"), "--bootstrap-server", servers, "--topic", "b"],
                       input="1\n2\n3\n", text=True, env=env, check=True, capture_output=True)
        got = subprocess.run([str(kafka / "bin/kafka-console-consumer.sh"), "--bootstrap-server", servers, "--topic",
                              "b", "--from-beginning", "--max-messages", "3", "--timeout-ms", "60000"],
                             text=True, env=env, check=True, capture_output=True).stdout.split()
        assert got == ["1", "2", "3"], got
        broker.send_signal(signal.SIGTERM)
        broker.wait(120)
    finally:
        if broker.poll() is None:
            broker.kill()
            broker.wait()
        log.close()
    elapsed = time.monotonic() - started
    if not (work / "agent" / "reflect-config.json").is_file():
        raise SystemExit("the agent wrote nothing: is the stand-in attached?")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--period", type=int, default=3)
    parser.add_argument("--delay", type=int, default=1)
    args = parser.parse_args()
    if not (LIBS / "kafka_2.13-4.0.0.jar").is_file():
        print(f"no Kafka jars in {LIBS}: run mvn -q -f tests/pom.xml dependency:copy-dependencies "
              "-DoutputDirectory=kafka-libs", file=sys.stderr)
        return 2
    java_home = os.environ.get("JAVA_HOME") or "/usr/lib/jvm/java-17-openjdk-amd64"
    with tempfile.TemporaryDirectory(prefix="snapshot-bench-") as tmp:
        root = Path(tmp)
        subprocess.run(["sh", str(REPO / "docker/agent-standin/build.sh"), str(root / "agent")], check=True,
                       capture_output=True, env={**os.environ, "JAVA_HOME": java_home})
        agent = root / "agent" / "libnative-image-agent.so"
        kafka = root / "kafka"
        shutil.copytree(FIXTURE, kafka, ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copytree(LIBS, kafka / "libs")
        times: dict[str, list[float]] = {"snapshots": [], "final only": []}
        for i in range(args.rounds):
            for name, periodic in (("snapshots", (args.delay, args.period)), ("final only", None)):
                times[name].append(run_once(kafka, agent, root / "work", java_home, periodic))
                print(f"round {i + 1}: {name:10s} {times[name][-1]:6.2f} s", flush=True)
    with_, without = statistics.median(times["snapshots"]), statistics.median(times["final only"])
    print(f"median broker test (start, produce, consume, SIGTERM) with snapshots every {args.period} s "
          f"(first after {args.delay} s): {with_:.2f} s; final write only: {without:.2f} s; "
          f"ratio {with_ / without:.3f} ({with_ - without:+.2f} s per broker)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
