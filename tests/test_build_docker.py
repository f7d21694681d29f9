"""``build --runner docker`` against a real engine, with the STAND-IN native-image image.

docker/native-image-standin has the real GraalVM image's shape (native-image as entrypoint,
``--version`` as command, the same GraalVM home) but its native-image only records the command
it received and writes the stand-in broker as the "executable". So these tests check, for
real: the builder image derived from the GraalVM image, the mounts (read-only where they should
be), that the command run is exactly what ``--dry-run`` prints, the in-container version check,
that results land in OUT and nothing is left behind, and the smoke test of what came out.
Whether GraalVM's native-image accepts the command is for scripts/verify-build-with-graalvm.sh.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from build_helpers import (
    STANDIN_DIR, kafka_dist, legacy_configs, tarball, unified_configs,
)
from cli_helpers import Result, assert_one_line_error, run_cli
from metadata_pipeline.containers import Engine

pytestmark = pytest.mark.docker

STANDIN_IMAGE = "metadata-pipeline/native-image-standin:21"
STANDIN_HOME = "/usr/lib64/graalvm/graalvm-community-java21"


@pytest.fixture(scope="module")
def native_image_standin(docker_engine: Engine, base_image: str) -> str:
    docker_engine.build_image(STANDIN_DIR, STANDIN_IMAGE, build_args={"BASE_IMAGE": base_image})
    return STANDIN_IMAGE


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    return tarball(kafka_dist(tmp_path / "kafka"), tmp_path / "kafka_2.13-3.8.0.tgz")


def build(*args: str | Path) -> Result:
    # No local GraalVM, so only the engine of the docker_engine fixture (DOCKER_HOST) can build.
    return run_cli("build", "--runner", "docker", *args, env={"GRAALVM_HOME": "", "JAVA_HOME": ""})


def leftovers(engine: Engine, image: str) -> list[str]:
    label = {"label": f"metadata-pipeline.graalvm-image={image}"}
    return [c.name for c in engine.client.containers.list(all=True, filters=label)]


def test_the_container_runs_exactly_the_dry_run_command_with_read_only_inputs(
        docker_engine: Engine, native_image_standin: str, archive: Path, tmp_path: Path) -> None:
    configs = legacy_configs(tmp_path / "configs", ("reflect", "jni", "resource", "proxy", "serialization",
                                                    "predefined-classes"))
    out = tmp_path / "out"
    args = ("--kafka-dist", archive, "--configs", configs, "-o", out, "--graalvm-image", native_image_standin)
    dry = build(*args, "--dry-run")
    assert dry.code == 0, dry.err
    lines = dry.out.splitlines()
    command = shlex.split(lines[lines.index("native-image command line") + 1])

    result = build(*args)
    assert result.code == 0, result.err
    recorded = json.loads((out / "native-image-standin.json").read_text())
    assert command[0] == "native-image" and recorded["argv"] == command[1:]
    assert recorded["argv0"] == "/usr/bin/native-image"  # found on PATH, as the image's entrypoint is
    assert recorded["cwd"] == "/mp/out" and recorded["java_home"] == STANDIN_HOME
    assert recorded["writable"] == {"/mp/configs": False, "/mp/kafka/libs": False}
    assert sorted(p.name for p in out.iterdir()) == ["kafka.Kafka", "native-image-standin.json"]  # staging gone

    output = result.out.splitlines()
    assert "[1/8] Initializing..." in output and " /mp/out/kafka.Kafka (executable)" in output
    assert any(line.startswith(f"built {out / 'kafka.Kafka'}: ") for line in output)
    # The "executable" written in the container runs on the host: the smoke test passed.
    assert any(line.startswith("  native kafka.Kafka ") for line in output)
    # ... and so did the JVM side, through the scripts unpacked from the tarball (modes kept).
    assert any(line.startswith("  jvm    bin/kafka-server-start.sh ") for line in output)
    assert leftovers(docker_engine, native_image_standin) == []

    builder = next(line.split()[1] for line in output if line.startswith("preparing "))
    image = docker_engine.client.images.get(builder)
    assert image.labels["metadata-pipeline.graalvm-image"] == native_image_standin
    assert not image.attrs["Config"]["Entrypoint"] and image.attrs["Config"]["Cmd"] == ["sleep", "infinity"]


def test_a_failing_native_image_in_the_container_is_exit_1_and_leaves_nothing(
        docker_engine: Engine, native_image_standin: str, archive: Path, tmp_path: Path) -> None:
    options = tmp_path / "options.txt"
    options.write_text("--no-fallback\n-H:NoSuchOption=true\n")
    out = tmp_path / "out"
    result = build("--kafka-dist", archive, "--configs", legacy_configs(tmp_path / "configs"), "-o", out,
                   "--graalvm-image", native_image_standin, "--options-file", options, "--no-smoke")
    assert result.code == 1 and "Traceback" not in result.err
    [error] = [line for line in result.err.splitlines() if line.startswith("error:")]
    assert error.startswith(f"error: native-image in {native_image_standin} exited 1 after ")
    assert "Could not find option 'NoSuchOption'" in error
    assert list(out.iterdir()) == []  # no staging directory, no half result
    assert leftovers(docker_engine, native_image_standin) == []


def test_the_graalvm_version_is_checked_inside_the_image(docker_engine: Engine, native_image_standin: str,
                                                         archive: Path, tmp_path: Path) -> None:
    result = build("--kafka-dist", archive, "--configs", unified_configs(tmp_path / "unified"),
                   "-o", tmp_path / "out", "--graalvm-image", native_image_standin)
    assert_one_line_error(result, f"native-image in {native_image_standin} is GraalVM for JDK 21, "
                                  "which cannot read the unified reachability-metadata.json")
    assert leftovers(docker_engine, native_image_standin) == []


def test_an_image_that_cannot_be_had_is_refused(docker_engine: Engine, archive: Path, tmp_path: Path) -> None:
    missing = "localhost:1/no-such/native-image-community:21"  # nothing listens there: fails at once
    result = build("--kafka-dist", archive, "--configs", legacy_configs(tmp_path / "configs"),
                   "-o", tmp_path / "out", "--graalvm-image", missing)
    assert_one_line_error(result, f"cannot use the GraalVM image {missing}", "connection refused")
