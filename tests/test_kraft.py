"""Cluster ids for the brokers collect and the smoke test start, checked with Kafka's StorageTool."""

from __future__ import annotations

import base64
import os
import subprocess
import uuid
from pathlib import Path

import pytest

from docker_fixtures import kafka_libs
from graalvm_oracle import OracleUnavailable, find_java_home
from metadata_pipeline import kraft
from metadata_pipeline.kraft import new_cluster_id

# The first draw encodes to '-...' (0xf8 >> 2 is base64url's '-'), the second does not.
DASH_FIRST = uuid.UUID(bytes=b"\xf8" + bytes(15))
PLAIN = uuid.UUID(bytes=b"\x10" + bytes(15))


@pytest.fixture
def dash_then_plain(monkeypatch: pytest.MonkeyPatch) -> None:
    draws = iter([DASH_FIRST, PLAIN])
    monkeypatch.setattr(kraft.uuid, "uuid4", lambda: next(draws))


def test_cluster_ids_are_16_bytes_in_22_base64url_characters() -> None:
    ids = {new_cluster_id() for _ in range(2000)}
    assert len(ids) == 2000
    for cluster_id in ids:
        assert len(cluster_id) == 22 and not cluster_id.startswith("-")
        assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16


def test_an_id_that_would_start_with_a_dash_is_drawn_again(dash_then_plain: None) -> None:
    assert new_cluster_id() == base64.urlsafe_b64encode(PLAIN.bytes).decode().rstrip("=")


def storage_format(cluster_id: str, work: Path) -> subprocess.CompletedProcess[str]:
    config = work / "server.properties"
    config.write_text("process.roles=broker,controller\nnode.id=1\ncontroller.quorum.voters=1@localhost:9093\n"
                      "listeners=PLAINTEXT://localhost:9092,CONTROLLER://localhost:9093\n"
                      f"controller.listener.names=CONTROLLER\nlog.dirs={work}/data\n")
    try:
        java = find_java_home() / "bin" / "java"
    except OracleUnavailable as exc:  # CI installs Temurin 25: there, a missing JDK is a failure
        if os.environ.get("CI") == "true":
            pytest.fail(str(exc), pytrace=False)
        pytest.skip(str(exc))
    return subprocess.run([str(java), "-cp", f"{kafka_libs()}/*", "kafka.tools.StorageTool", "format",
                           "-t", cluster_id, "-c", str(config)], capture_output=True, text=True, timeout=120)


def test_kafkas_storage_tool_formats_with_the_id_where_the_first_draw_fails(dash_then_plain: None,
                                                                            tmp_path: Path) -> None:
    """The broker of collect's CI failure: ``format -t -k9Q...`` printed its usage and exited 1."""
    dash = base64.urlsafe_b64encode(DASH_FIRST.bytes).decode().rstrip("=")
    rejected = storage_format(dash, tmp_path)
    assert rejected.returncode != 0 and "usage: kafka-storage format" in rejected.stderr + rejected.stdout
    cluster_id = new_cluster_id()
    formatted = storage_format(cluster_id, tmp_path)
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr
    assert f"cluster.id={cluster_id}" in (tmp_path / "data" / "meta.properties").read_text()
