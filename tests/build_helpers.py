"""Inputs for the ``build`` tests, made for real at test time.

- ``kafka_dist``: a distribution directory whose ``libs/`` holds real jars (the wrapper class is
  compiled by javac, with its ``main``), ``config/log4j.properties``, and STAND-IN
  ``bin/kafka-storage.sh`` / ``bin/kafka-server-start.sh`` that run the stand-in broker of
  docker/native-image-standin (so the smoke test's JVM side has scripts to drive).
- ``tarball``: a release-shaped ``.tgz`` of such a directory.
- ``standin_graalvm``: a GraalVM-shaped home on the host whose ``bin/native-image`` is the
  STAND-IN script of docker/native-image-standin (records its argv; compiles nothing).
- ``legacy_configs`` / ``unified_configs``: small configs directories that pass ``validate``.
"""

from __future__ import annotations

import functools
import json
import shutil
import tarfile
import tempfile
from pathlib import Path

from jarfactory import class_file, compile_java, entry_of, write_jar

__all__ = [
    "ROOT", "STANDIN_DIR", "STANDIN_BROKER", "WRAPPER", "wrapper_classes", "kafka_dist", "tarball",
    "standin_graalvm", "legacy_configs", "unified_configs", "read_records",
]

ROOT = Path(__file__).resolve().parent.parent
STANDIN_DIR = ROOT / "docker" / "native-image-standin"
STANDIN_BROKER = STANDIN_DIR / "kafka_broker_standin.py"
WRAPPER = "kafka.docker.KafkaDockerWrapper"

_WRAPPER_SOURCE = """\
package kafka.docker;

public final class KafkaDockerWrapper {
    public static void main(String[] args) {
        System.out.println("wrapper " + String.join(" ", args));
    }
}
"""


@functools.lru_cache(maxsize=None)
def wrapper_classes() -> dict[str, bytes]:
    """The wrapper's class files, compiled by javac once per test session."""
    work = Path(tempfile.mkdtemp(prefix="mp-test-javac-"))
    try:
        return compile_java({"kafka/docker/KafkaDockerWrapper.java": _WRAPPER_SOURCE}, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def kafka_dist(root: Path, *, wrapper: bool = True, scripts: bool = True) -> Path:
    """A distribution at ``root``: the wrapper in the second of two jars (as in a release,
    where it sits in kafka_<scala>-<version>.jar after the clients jar)."""
    classes = wrapper_classes()
    libs = root / "libs"
    write_jar(libs / "kafka-clients-3.8.0.jar", {entry_of("org.apache.kafka.clients.ClientRequest"):
                                                  class_file("org.apache.kafka.clients.ClientRequest")})
    write_jar(libs / "kafka_2.13-3.8.0.jar",
              {**(classes if wrapper else {}), entry_of("kafka.Kafka"): class_file("kafka.Kafka"),
               "kafka/kafka-version.properties": "version=3.8.0\n"})
    (root / "config").mkdir(parents=True)
    (root / "config" / "log4j.properties").write_text("log4j.rootLogger=INFO, stdout\n")
    if scripts:
        (root / "bin").mkdir()
        for name, mode in (("kafka-storage.sh", "storage"), ("kafka-server-start.sh", "server-start")):
            script = root / "bin" / name
            script.write_text(f"#!/bin/sh\n# STAND-IN for Kafka's {name}: runs the stand-in broker.\n"
                              f"exec python3 {STANDIN_BROKER} {mode} \"$@\"\n")
            script.chmod(0o755)
    return root


def tarball(dist: Path, dest: Path, top: str | None = "kafka_2.13-3.8.0") -> Path:
    with tarfile.open(dest, "w:gz") as tar:
        for path in sorted(dist.rglob("*")):
            relative = path.relative_to(dist).as_posix()
            tar.add(path, arcname=f"{top}/{relative}" if top else relative, recursive=False)
    return dest


def standin_graalvm(home: Path, java_version: str = "21.0.2") -> Path:
    (home / "bin").mkdir(parents=True)
    (home / "lib" / "standin").mkdir(parents=True)
    shutil.copy2(STANDIN_DIR / "native-image", home / "bin" / "native-image")
    shutil.copy2(STANDIN_BROKER, home / "lib" / "standin" / STANDIN_BROKER.name)
    (home / "release").write_text(f'JAVA_VERSION="{java_version}"\n')
    return home


def legacy_configs(directory: Path, names: tuple[str, ...] = ("reflect", "resource", "proxy")) -> Path:
    documents = {
        "reflect": [{"name": "kafka.Kafka", "allDeclaredMethods": True}],
        "jni": [],
        "resource": {"resources": {"includes": [{"pattern": "\\Qkafka/kafka-version.properties\\E"}]}, "bundles": []},
        "proxy": [],
        "serialization": {"types": [], "lambdaCapturingTypes": [], "proxies": []},
        "predefined-classes": [{"type": "agent-extracted", "classes": []}],
    }
    directory.mkdir(parents=True)
    for name in names:
        (directory / f"{name}-config.json").write_text(json.dumps(documents[name]))
    return directory


def unified_configs(directory: Path) -> Path:
    directory.mkdir(parents=True)
    (directory / "reachability-metadata.json").write_text(json.dumps(
        {"reflection": [{"type": "kafka.Kafka", "allDeclaredMethods": True}],
         "resources": [{"glob": "kafka/kafka-version.properties"}]}))
    return directory


def read_records(path: Path) -> list[dict]:
    """What the stand-in broker recorded (STANDIN_BROKER_RECORD), one dict per invocation."""
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
