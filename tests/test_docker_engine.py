"""The container layer against a real Docker engine (see tests/docker_fixtures.py).

Builds the images CI uses (local base, GraalVM stand-in, collect node), starts nodes on a
labelled network, and checks SSH between them, copying in and out, exec, cleanup of leftovers
and removal when the body of a ``with`` raises.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from docker_fixtures import AGENT_PATH, StandinImage
from metadata_pipeline.collect import sshkeys
from metadata_pipeline.containers import (
    LABEL_RUN, Container, ContainerSpec, Engine, ImageBuildFailed, ImageNotFound, Mount, Network,
    PathNotFound, UnsafeArchive, cleanup_leftovers, new_run_id, run_labels,
)

pytestmark = pytest.mark.docker


def labelled(engine: Engine, run_id: str) -> tuple[list[str], list[str]]:
    label = {"label": f"{LABEL_RUN}={run_id}"}
    return (sorted(c.name for c in engine.client.containers.list(all=True, filters=label)),
            sorted(n.name for n in engine.client.networks.list(filters=label)))


def node(engine: Engine, image: str, run_id: str, host: str, **extra: object) -> Container:
    spec = ContainerSpec(image=image, name=f"mp-{run_id}-{host}", hostname=host, network=f"mp-{run_id}",
                         aliases=(host,), **extra)  # type: ignore[arg-type]
    return Container(engine, spec, run_id)


def test_two_nodes_reach_each_other_over_ssh_by_hostname(docker_engine: Engine, node_image: str,
                                                         run_id: str, tmp_path: Path) -> None:
    (tmp_path / "kafka").mkdir()
    (tmp_path / "kafka" / "marker").write_text("checkout")
    with Network(docker_engine, f"mp-{run_id}", run_id), \
            node(docker_engine, node_image, run_id, "node1", memory="512m", env={"MP_ROLE": "driver"},
                 mounts=(Mount(tmp_path / "kafka", "/opt/kafka-dev", read_only=True),),
                 cap_add=("NET_ADMIN",)) as node1, \
            node(docker_engine, node_image, run_id, "node2") as node2:
        assert labelled(docker_engine, run_id) == (sorted([node1.name, node2.name]), [f"mp-{run_id}"])
        keys = sshkeys.files(sshkeys.generate(f"run-{run_id}"))  # the image holds none: a pair per run
        for each in (node1, node2):
            each.put_files("/root/.ssh", keys)
        node2.wait_until(["sh", "-c", "pgrep -x sshd"], timeout=30)
        node1.wait_until(["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=2", "node2", "true"], timeout=30)

        # What ducktape relies on: a login shell on the other node, with GraalVM's java on PATH.
        remote = node1.check(["ssh", "node2", "hostname; echo JAVA_HOME=$JAVA_HOME; command -v java"])
        assert remote.split() == ["node2", "JAVA_HOME=/opt/graalvm", "/usr/local/bin/java"]
        assert node2.check(["readlink", "-f", "/usr/local/bin/java"]).strip() == "/opt/graalvm/bin/java"

        assert node1.check(["cat", "/opt/kafka-dev/marker"]) == "checkout"
        assert not node1.exec(["touch", "/opt/kafka-dev/new"]).ok  # mounted read-only
        assert node1.check(["sh", "-c", "echo $MP_ROLE"]).strip() == "driver"
        node1.container.reload()  # type: ignore[union-attr]
        assert node1.container.attrs["HostConfig"]["Memory"] == 512 * 1024 * 1024  # type: ignore[union-attr]
        assert node1.container.attrs["HostConfig"]["CapAdd"] == ["NET_ADMIN"]  # type: ignore[union-attr]
        node2.container.reload()  # type: ignore[union-attr]
        assert not node2.container.attrs["HostConfig"]["CapAdd"]  # type: ignore[union-attr]  # nothing extra
    assert labelled(docker_engine, run_id) == ([], [])


def test_exec_returns_exit_code_and_streams_lines(docker_engine: Engine, base_image: str, run_id: str) -> None:
    spec = ContainerSpec(image=base_image, name=f"mp-{run_id}-exec", command=("sleep", "infinity"))
    with Container(docker_engine, spec, run_id) as box:
        lines: list[str] = []
        result = box.exec(["sh", "-c", "echo one; echo two; printf 'no newline'; exit 3"], stream=lines.append)
        assert result.exit_code == 3 and not result.ok
        assert lines == ["one", "two", "no newline"]
        assert result.output == "one\ntwo\nno newline"
        # stderr is kept too (its order relative to stdout is the engine's business).
        assert sorted(box.exec(["sh", "-c", "echo out; echo err >&2"]).output.split()) == ["err", "out"]
        assert box.check(["sh", "-c", "echo $X $(pwd)"], env={"X": "y"}, workdir="/tmp").strip() == "y /tmp"
        assert box.exec(["sh", "-c", "seq 1 100000"], max_output=20).output == "\n99998\n99999\n100000\n"[-20:]


def test_copy_in_and_out_and_refusal_of_an_escaping_symlink(docker_engine: Engine, base_image: str,
                                                            run_id: str, tmp_path: Path) -> None:
    spec = ContainerSpec(image=base_image, name=f"mp-{run_id}-copy", command=("sleep", "infinity"))
    with Container(docker_engine, spec, run_id) as box:
        box.check(["sh", "-c", "mkdir -p /mnt/out/s1 && echo '[{\"name\":\"A\"}]' > /mnt/out/s1/reflect-config.json"
                   " && touch /mnt/out/s1/.lock && ln -s s1 /mnt/out/latest"])
        got = box.copy_out("/mnt/out", tmp_path / "first")
        assert got == tmp_path / "first" / "out"
        assert (got / "s1" / "reflect-config.json").read_text() == '[{"name":"A"}]\n'
        assert (got / "s1" / ".lock").exists() and (got / "latest").is_symlink()
        assert box.list("/mnt/out/s1") == [".lock", "reflect-config.json"]
        assert box.glob("/mnt/out/*") == ["/mnt/out/latest", "/mnt/out/s1"]
        assert box.glob("/mnt/out/s*/*.json") == ["/mnt/out/s1/reflect-config.json"]
        assert box.glob("/mnt/none/*") == []

        (tmp_path / "filters").mkdir()
        (tmp_path / "filters" / "access.json").write_text('{"rules": []}')
        box.copy_into(tmp_path / "filters", "/opt/mp")
        assert box.check(["cat", "/opt/mp/filters/access.json"]) == '{"rules": []}'

        box.check(["ln", "-s", "/etc/shadow", "/mnt/out/s1/evil"])
        with pytest.raises(UnsafeArchive) as info:
            box.copy_out("/mnt/out", tmp_path / "second")
        assert info.value.member == "out/s1/evil"
        assert not (tmp_path / "second" / "out").exists()

        with pytest.raises(PathNotFound):
            box.copy_out("/mnt/missing", tmp_path / "third")


def test_cleanup_leftovers_removes_what_a_crashed_run_left(docker_engine: Engine, base_image: str) -> None:
    crashed, other = new_run_id(), new_run_id()
    client = docker_engine.client
    # What a killed run leaves: created outside any with block, never removed.
    client.networks.create(f"mp-{crashed}", labels=run_labels(crashed))
    client.containers.run(base_image, ["sleep", "infinity"], name=f"mp-{crashed}-node1", detach=True,
                          network=f"mp-{crashed}", labels=run_labels(crashed))
    client.containers.create(base_image, ["true"], name=f"mp-{other}-node1", labels=run_labels(other))
    try:
        left = cleanup_leftovers(docker_engine, crashed)
        assert left.containers == (f"mp-{crashed}-node1",) and left.networks == (f"mp-{crashed}",)
        assert labelled(docker_engine, crashed) == ([], [])
        assert labelled(docker_engine, other) == ([f"mp-{other}-node1"], [])  # another run is not touched
    finally:
        cleanup_leftovers(docker_engine, other)
    assert labelled(docker_engine, other) == ([], [])


def test_containers_and_network_are_removed_when_the_body_raises(docker_engine: Engine, base_image: str,
                                                                  run_id: str) -> None:
    spec = ContainerSpec(image=base_image, name=f"mp-{run_id}-boom", network=f"mp-{run_id}",
                         command=("sleep", "infinity"))
    with pytest.raises(RuntimeError, match="test body failed"):
        with Network(docker_engine, f"mp-{run_id}", run_id), Container(docker_engine, spec, run_id) as box:
            assert labelled(docker_engine, run_id) == ([box.name], [f"mp-{run_id}"])
            raise RuntimeError("test body failed")
    assert labelled(docker_engine, run_id) == ([], [])


def test_missing_image_and_failing_build_are_clear_errors(docker_engine: Engine, base_image: str,
                                                         run_id: str, tmp_path: Path) -> None:
    with pytest.raises(ImageNotFound, match="no-such/image:1 is not on this engine"):
        with Container(docker_engine, ContainerSpec(image="no-such/image:1", name=f"mp-{run_id}-x"), run_id):
            pass
    (tmp_path / "Dockerfile").write_text(f"FROM {base_image}\nRUN echo building {run_id}\nRUN exit 7\n")
    lines: list[str] = []
    try:
        with pytest.raises(ImageBuildFailed) as info:
            docker_engine.build_image(tmp_path, f"mp-broken:{run_id}", progress=lines.append)
    finally:  # the layer of step 2 stays behind untagged
        docker_engine.client.images.prune(filters={"dangling": True})
    assert "returned a non-zero code: 7" in str(info.value) and "Step 3/3" in str(info.value)
    assert f"building {run_id}" in lines  # the builder's output reached the callback
    assert labelled(docker_engine, run_id) == ([], [])


def test_node_image_runs_java_with_the_agent_where_graalvm_keeps_it(docker_engine: Engine, node_image: str,
                                                                    standin_image: StandinImage,
                                                                    run_id: str) -> None:
    image = docker_engine.client.images.get(node_image)
    assert image.labels["metadata-pipeline.graalvm-image"] == str(standin_image)
    spec = ContainerSpec(image=node_image, name=f"mp-{run_id}-jit")
    with Container(docker_engine, spec, run_id) as box:
        assert 'openjdk version "17.' in box.check(["java", "-version"])
        assert box.check(["sh", "-c", "echo $JAVA_HOME"]).strip() == "/opt/graalvm"
        assert box.exec(["test", "-f", AGENT_PATH]).ok
        assert "not GraalVM" in box.check(["cat", "/opt/graalvm/STANDIN"])
        traced = box.exec(["java", "-agentlib:native-image-agent=config-output-dir=/tmp/agent-out", "-version"])
        assert traced.ok, traced.output
        if not standin_image.placeholder:  # the real stand-in writes the agent's files at exit
            assert "reflect-config.json" in box.list("/tmp/agent-out")
        assert box.check(["ducktape", "--version"]).strip() == "0.17.0"
