"""``build`` end to end through the CLI, without Docker: dry runs, refusals (one line, exit 2), and
the local runner with a STAND-IN GraalVM home (bin/native-image from docker/native-image-standin,
which records its argv and writes the stand-in broker as the "executable"), smoke test included.

What only GraalVM can show — that native-image accepts this command and the result runs Kafka —
is scripts/verify-build-with-graalvm.sh's job.
"""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

import pytest

from build_helpers import (
    WRAPPER, kafka_dist, legacy_configs, standin_graalvm, tarball, unified_configs,
)
from cli_helpers import Result, assert_one_line_error, run_cli
from metadata_pipeline.nativebuild.options import DEFAULT_OPTIONS_FILE, read_options

KAFKA_OPTIONS = list(read_options(DEFAULT_OPTIONS_FILE))
NO_DOCKER = "unix:///nonexistent/docker.sock"


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    return kafka_dist(tmp_path / "kafka_2.13-3.8.0")


@pytest.fixture
def configs(tmp_path: Path) -> Path:
    return legacy_configs(tmp_path / "native-image-configs")


def build(*args: str | Path, graalvm: Path | None = None, **env: str) -> Result:
    """``build`` with no Docker engine and only the GraalVM given (JAVA_HOME is cleared)."""
    base = {"DOCKER_HOST": NO_DOCKER, "JAVA_HOME": "", "GRAALVM_HOME": str(graalvm) if graalvm else ""}
    return run_cli("build", *args, env={**base, **env})


def section(out: str, title: str) -> list[str]:
    lines = out.splitlines()
    start = lines.index(title) + 1
    end = next((i for i in range(start, len(lines)) if not lines[i]), len(lines))
    return lines[start:end]


def test_dry_run_prints_the_exact_command_and_container_spec_without_docker(
        tmp_path: Path, dist: Path, configs: Path) -> None:
    archive = tarball(dist, tmp_path / "kafka_2.13-3.8.0.tgz")
    out = tmp_path / "out"
    result = build("--kafka-dist", archive, "--configs", configs, "-o", out, "--dry-run")
    assert result.code == 0, result.err
    assert "runner           docker (auto: no local GraalVM (neither GRAALVM_HOME nor JAVA_HOME is set); " \
           "--dry-run contacts no Docker engine)" in result.out
    assert f"entry point      {WRAPPER}, in kafka_2.13-3.8.0.jar" in result.out
    assert "(a tarball: unpacked into a temporary directory for the run)" in result.out
    [command] = section(result.out, "native-image command line")
    assert shlex.split(command) == ["native-image", *KAFKA_OPTIONS,
                                    "-H:ReflectionConfigurationFiles=/mp/configs/reflect-config.json",
                                    "-H:ResourceConfigurationFiles=/mp/configs/resource-config.json",
                                    "-H:DynamicProxyConfigurationFiles=/mp/configs/proxy-config.json",
                                    "-cp", "/mp/kafka/libs/*", WRAPPER, "-o", "/mp/out/kafka.Kafka"]
    spec = json.loads("\n".join(section(result.out, "container spec")))
    assert spec["image"].startswith("metadata-pipeline/native-image-builder:")
    assert spec["labels"] == {"metadata-pipeline.graalvm-image": "ghcr.io/graalvm/native-image-community:21"}
    libs, mounted_configs, output = spec["mounts"]
    assert libs.endswith("/kafka_2.13-3.8.0/libs -> /mp/kafka/libs (ro)")
    assert mounted_configs == f"{configs} -> /mp/configs (ro)"
    assert output == f"{out}/.native-build -> /mp/out (rw)"
    assert spec["working_dir"] == "/mp/out" and spec["command"] is None
    assert not out.exists()  # a dry run writes nothing


def test_dry_run_with_a_local_graalvm_and_unified_configs(tmp_path: Path, dist: Path) -> None:
    graalvm = standin_graalvm(tmp_path / "graalvm", "23.0.1")
    configs = unified_configs(tmp_path / "unified")
    result = build("--kafka-dist", dist, "--configs", configs, "-o", tmp_path / "out", "--dry-run",
                   "--no-smoke", graalvm=graalvm)
    assert result.code == 0, result.err
    assert f"runner           local (auto: a local GraalVM (GRAALVM_HOME={graalvm}))" in result.out
    assert "smoke            off (--no-smoke)" in result.out and "container spec" not in result.out
    [command] = section(result.out, "native-image command line")
    assert shlex.split(command) == [str(graalvm / "bin" / "native-image"), *KAFKA_OPTIONS,
                                    f"-H:ConfigurationFileDirectories={configs}", "-cp", f"{dist}/libs/*",
                                    WRAPPER, "-o", str(tmp_path / "out" / "kafka.Kafka")]


def test_local_build_then_smoke_test_with_the_standin_graalvm(tmp_path: Path, dist: Path, configs: Path) -> None:
    graalvm = standin_graalvm(tmp_path / "graalvm")
    out = tmp_path / "out"
    dry = build("--kafka-dist", dist, "--configs", configs, "-o", out, "--dry-run", graalvm=graalvm)
    result = build("--kafka-dist", dist, "--configs", configs, "-o", out, graalvm=graalvm,
                   STANDIN_BROKER_READY_DELAY_MS="100")
    assert result.code == 0, result.err

    # native-image got exactly what --dry-run printed, from OUT.
    recorded = json.loads((out / "native-image-standin.json").read_text())
    assert [recorded["argv0"], *recorded["argv"]] == shlex.split(section(dry.out, "native-image command line")[0])
    assert recorded["cwd"] == str(out)
    binary = out / "kafka.Kafka"
    assert os.access(binary, os.X_OK)
    lines = result.out.splitlines()
    assert "[8/8] Creating image..." in lines  # native-image's progress, streamed
    assert any(line.startswith("native-image: native-image 21.0.2 2024-01-16 / GraalVM Runtime Environment STAND-IN")
               for line in lines)
    assert f"built {binary}: {binary.stat().st_size} bytes in " in result.out
    native = next(line for line in lines if line.startswith("  native kafka.Kafka"))
    assert int(native.split()[4]) >= 100  # ready in N ms, and the stand-in waited 100 ms
    assert any(line.startswith("  jvm    bin/kafka-server-start.sh") for line in lines)
    assert any(line.startswith("  ratio  jvm/native: ") for line in lines)


def test_no_smoke_builds_only(tmp_path: Path, dist: Path, configs: Path) -> None:
    result = build("--kafka-dist", dist, "--configs", configs, "-o", tmp_path / "out", "--no-smoke",
                   graalvm=standin_graalvm(tmp_path / "graalvm"))
    assert result.code == 0, result.err
    assert any(line.startswith("built ") for line in result.out.splitlines())
    assert not [line for line in result.out.splitlines() if line.startswith(("smoke", "  native", "  jvm"))]


def test_a_failing_native_image_is_exit_1_with_its_last_words(tmp_path: Path, dist: Path, configs: Path) -> None:
    options = tmp_path / "options.txt"
    options.write_text("--no-fallback\n-H:NoSuchOption=1\n")
    result = build("--kafka-dist", dist, "--configs", configs, "-o", tmp_path / "out", "--options-file", options,
                   graalvm=standin_graalvm(tmp_path / "graalvm"))
    assert result.code == 1 and "Traceback" not in result.err
    [error] = [line for line in result.err.splitlines() if line.startswith("error:")]
    assert error.startswith("error: native-image exited 1 after ")
    assert "Could not find option 'NoSuchOption'" in error


def test_a_failing_smoke_test_is_exit_1_and_keeps_the_logs(tmp_path: Path, dist: Path, configs: Path) -> None:
    result = build("--kafka-dist", dist, "--configs", configs, "-o", tmp_path / "out",
                   graalvm=standin_graalvm(tmp_path / "graalvm"), STANDIN_BROKER_EXIT_EARLY="4")
    assert result.code == 1 and "Traceback" not in result.err
    [error] = [line for line in result.err.splitlines() if line.startswith("error:")]
    assert "native: the broker exited 4 before accepting connections" in error
    kept = Path(error.rsplit("(logs kept in ", 1)[1].rstrip(")"))
    assert "exiting early" in (kept / "broker.log").read_text()


def test_refused_inputs_are_one_line_errors(tmp_path: Path, dist: Path, configs: Path) -> None:
    graalvm = standin_graalvm(tmp_path / "graalvm")
    args = ("--configs", configs, "-o", tmp_path / "out")

    (tmp_path / "checkout" / "core").mkdir(parents=True)
    assert_one_line_error(build("--kafka-dist", tmp_path / "checkout", *args, graalvm=graalvm),
                          "checkout: no libs/ directory: not a Kafka distribution")

    corrupt = tmp_path / "kafka.tgz"
    corrupt.write_bytes(b"\x1f\x8b\x08\x00" + b"\x00" * 64)
    assert_one_line_error(build("--kafka-dist", corrupt, *args, graalvm=graalvm),
                          "kafka.tgz: not a readable Kafka release tarball")

    old = kafka_dist(tmp_path / "kafka_2.13-3.6.0", wrapper=False)
    assert_one_line_error(build("--kafka-dist", old, *args, graalvm=graalvm), f"{WRAPPER}: no such class in the 2 jars")
    assert_one_line_error(build("--kafka-dist", dist, *args, "--entry-point", "kafka.NoSuchMain", graalvm=graalvm),
                          "kafka.NoSuchMain: no such class")

    locked = legacy_configs(tmp_path / "locked")
    (locked / ".lock").write_text("77")
    assert_one_line_error(build("--kafka-dist", dist, "--configs", locked, graalvm=graalvm), "holds an agent lock file")

    invalid = legacy_configs(tmp_path / "invalid")
    (invalid / "proxy-config.json").write_text('[["java.lang.Runnable"], {"interfaces": 3}]')
    assert_one_line_error(build("--kafka-dist", dist, "--configs", invalid, graalvm=graalvm),
                          "invalid: fails validate with", "proxy-config.json")

    options = tmp_path / "options.txt"
    options.write_text("--no-fallback\n-cp\n")
    assert_one_line_error(build("--kafka-dist", dist, *args, "--options-file", options, graalvm=graalvm),
                          "options.txt:2: '-cp' may not be in an options file")

    (tmp_path / "a-file").write_text("")
    assert_one_line_error(build("--kafka-dist", dist, "--configs", configs, "-o", tmp_path / "a-file",
                                graalvm=graalvm), "exists and is not a directory")
    assert_one_line_error(build("--kafka-dist", dist, *args, "--runner", "local", "--graalvm-image", "x:1"),
                          "--graalvm-image goes with --runner docker")


def test_no_graalvm_and_no_docker(tmp_path: Path, dist: Path, configs: Path) -> None:
    jdk = tmp_path / "jdk17"
    (jdk / "bin").mkdir(parents=True)
    args = ("--kafka-dist", dist, "--configs", configs, "-o", tmp_path / "out")
    assert_one_line_error(build(*args, JAVA_HOME=str(jdk)),
                          f"no GraalVM and no Docker engine: JAVA_HOME={jdk} has no bin/native-image",
                          f"no Docker engine answers at {NO_DOCKER}")
    assert_one_line_error(build(*args, "--runner", "local"),
                          "--runner local: no native-image: neither GRAALVM_HOME nor JAVA_HOME is set")
    assert_one_line_error(build(*args, "--runner", "docker"), f"no Docker engine answers at {NO_DOCKER}")


def test_graalvm_too_old_or_too_old_for_unified_configs(tmp_path: Path, dist: Path, configs: Path) -> None:
    old = standin_graalvm(tmp_path / "graalvm17", "17.0.9")
    assert_one_line_error(build("--kafka-dist", dist, "--configs", configs, "-o", tmp_path / "out", graalvm=old),
                          "native-image 17.0.9", "needs GraalVM for JDK 21 or newer")
    assert not (tmp_path / "out" / "native-image-standin.json").exists()  # refused before the build
    unified = unified_configs(tmp_path / "unified")
    assert_one_line_error(build("--kafka-dist", dist, "--configs", unified, "-o", tmp_path / "out",
                                graalvm=standin_graalvm(tmp_path / "graalvm21")),
                          "GraalVM for JDK 21, which cannot read the unified reachability-metadata.json")


def test_naming_an_image_selects_docker_even_with_a_local_graalvm(tmp_path: Path, dist: Path, configs: Path) -> None:
    result = build("--kafka-dist", dist, "--configs", configs, "--dry-run", "--graalvm-image", "registry.example/graal:21",
                   graalvm=standin_graalvm(tmp_path / "graalvm"))
    assert result.code == 0, result.err
    assert "runner           docker (auto: --graalvm-image names an image; --dry-run contacts no Docker engine)" in result.out
    assert "graalvm image    registry.example/graal:21" in result.out
