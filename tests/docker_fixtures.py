"""Pytest plugin: a real Docker engine and the project's images, once per test session.

Load it from conftest.py (``pytest_plugins = ["docker_fixtures"]``). Fixtures:

- ``docker_engine``  an ``Engine``. Uses DOCKER_HOST or the default socket when an engine
  answers there; otherwise, when DOCKER_HOST is unset, starts a private one with
  ``.ci/docker-engine.sh start`` (root needed) and stops it at the end of the session.
- ``base_image``     metadata-pipeline/base:bookworm, built by ``docker/base-image.sh`` from the
  host's apt sources (reused when it exists).
- ``standin_image``  metadata-pipeline/graalvm-standin:17 from docker/agent-standin.
- ``node_image``     the collect node image (docker/graalvm-jit) built on the two above.
- ``run_id``         a fresh run id; whatever carries its label is removed after the test.

When no engine can be had the tests skip with the reason, except under CI=true, where they
fail: CI must never pass by skipping its Docker tests. Image build times are reported in the
terminal summary.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

from metadata_pipeline.containers import DockerUnavailable, Engine, cleanup_leftovers, new_run_id

__all__ = ["BASE_IMAGE", "STANDIN_IMAGE", "NODE_IMAGE", "AGENT_PATH", "StandinImage", "KAFKA_LIBS", "kafka_libs"]

REPO = Path(__file__).resolve().parents[1]
ENGINE_SCRIPT = REPO / ".ci" / "docker-engine.sh"
BASE_SCRIPT = REPO / "docker" / "base-image.sh"
STANDIN_DIR = REPO / "docker" / "agent-standin"
NODE_DIR = REPO / "docker" / "graalvm-jit"

BASE_IMAGE = "metadata-pipeline/base:bookworm"
STANDIN_IMAGE = "metadata-pipeline/graalvm-standin:17"
NODE_IMAGE = "metadata-pipeline/graalvm-jit:test"
AGENT_PATH = "/opt/graalvm/lib/libnative-image-agent.so"

# Kafka's real jars (tests/pom.xml), fetched by .ci/run:
#   mvn -q -f tests/pom.xml dependency:copy-dependencies -DoutputDirectory=kafka-libs
KAFKA_LIBS = REPO / "tests" / "kafka-libs"
KAFKA_FETCH = "mvn -q -f tests/pom.xml dependency:copy-dependencies -DoutputDirectory=kafka-libs"

_timings: list[tuple[str, float]] = []


def kafka_libs() -> Path:
    """The directory of Kafka 4.0.0's jars; skips without them, fails under CI=true."""
    if not (KAFKA_LIBS / "kafka_2.13-4.0.0.jar").is_file():
        message = f"Kafka's jars are not in {KAFKA_LIBS}: run `{KAFKA_FETCH}`"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return KAFKA_LIBS

# Compiled into the stand-in image only while docker/agent-standin has no build.sh yet: an agent
# that loads and does nothing, enough to test the image plumbing (library path, copy, labels).
_PLACEHOLDER_BUILD_SH = """\
#!/bin/sh
set -eu
mkdir -p "$1"
printf '%s\\n' '#include <jvmti.h>' \\
  'JNIEXPORT jint JNICALL Agent_OnLoad(JavaVM *vm, char *options, void *reserved) { return JNI_OK; }' \\
  > /tmp/placeholder-agent.c
gcc -shared -fPIC -I"$JAVA_HOME/include" -I"$JAVA_HOME/include/linux" \\
  -o "$1/libnative-image-agent.so" /tmp/placeholder-agent.c
"""


class StandinImage(str):
    """The stand-in image's tag; ``placeholder`` says the agent in it is the do-nothing one."""

    placeholder: bool

    def __new__(cls, tag: str, placeholder: bool) -> "StandinImage":
        value = super().__new__(cls, tag)
        value.placeholder = placeholder
        return value


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI") == "true":
        pytest.fail(f"Docker tests must run in CI: {reason}", pytrace=False)
    pytest.skip(f"no Docker engine: {reason}")


def _console(config: pytest.Config, line: str) -> None:
    """One line on the terminal even while output is captured: the session does something big."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capman = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capman is None:
        print(line, file=sys.stderr)
        return
    with capman.global_and_fixture_disabled():
        reporter.write_line(line)


def _timed(label: str, started: float) -> None:
    _timings.append((label, time.monotonic() - started))


def _progress(prefix: str):  # type: ignore[no-untyped-def]
    # Visible with -s; keeps a long build from looking hung.
    return lambda line: print(f"[{prefix}] {line}") if line.startswith("Step ") else None


@pytest.fixture(scope="session")
def docker_engine(pytestconfig: pytest.Config) -> Iterator[Engine]:
    started_here = False
    previous_host = os.environ.get("DOCKER_HOST")
    try:
        engine = Engine.connect(timeout=60)
    except DockerUnavailable as exc:
        if previous_host:
            _unavailable(f"{exc} (DOCKER_HOST is set, so no private engine is started)")
        if os.geteuid() != 0:
            _unavailable(f"{exc}; starting a private engine needs root")
        # A private engine left running (by .ci/run or an earlier session) is used, not owned.
        if subprocess.run([str(ENGINE_SCRIPT), "status"], capture_output=True).returncode != 0:
            # Said on the console, captured or not: the test command installs and starts an engine.
            _console(pytestconfig, "docker: no engine answers; "
                     + ("apt-installing Debian's docker.io and " if shutil.which("dockerd") is None else "")
                     + f"starting a private dockerd ({ENGINE_SCRIPT.parent.name}/{ENGINE_SCRIPT.name} start), "
                       "stopped when the session ends")
            started = time.monotonic()
            result = subprocess.run([str(ENGINE_SCRIPT), "start"], capture_output=True, text=True, timeout=600)
            if result.returncode != 0:
                _unavailable(f"{ENGINE_SCRIPT.name} start failed: {result.stderr.strip()[-500:]}")
            _timed("docker engine (install if needed + start)", started)
            started_here = True
        env_line = subprocess.run([str(ENGINE_SCRIPT), "env"], capture_output=True, text=True,
                                  check=True).stdout.strip()
        os.environ["DOCKER_HOST"] = env_line.removeprefix("export DOCKER_HOST=")
        try:
            engine = Engine.connect(timeout=60)
        except DockerUnavailable as again:
            _unavailable(str(again))
    try:
        yield engine
    finally:
        if started_here:
            subprocess.run([str(ENGINE_SCRIPT), "stop"], capture_output=True, timeout=120)
            os.environ.pop("DOCKER_HOST", None)


@pytest.fixture(scope="session")
def base_image(docker_engine: Engine) -> str:
    if docker_engine.image_exists(BASE_IMAGE):
        return BASE_IMAGE
    if shutil.which("mmdebstrap") is None or os.geteuid() != 0:
        _unavailable(f"{BASE_IMAGE} is missing and building it needs root and mmdebstrap "
                     "(.ci/docker-engine.sh start installs it)")
    started = time.monotonic()
    result = subprocess.run([str(BASE_SCRIPT)], capture_output=True, text=True, timeout=1200)
    if result.returncode != 0:
        pytest.fail(f"{BASE_SCRIPT.name} failed: {result.stderr.strip()[-1500:]}", pytrace=False)
    _timed(f"{BASE_IMAGE} (mmdebstrap + import)", started)
    return BASE_IMAGE


@pytest.fixture(scope="session")
def standin_image(docker_engine: Engine, base_image: str,
                  tmp_path_factory: pytest.TempPathFactory) -> StandinImage:
    context, placeholder = STANDIN_DIR, not (STANDIN_DIR / "build.sh").is_file()
    if placeholder:
        context = tmp_path_factory.mktemp("standin-placeholder")
        (context / "build.sh").write_text(_PLACEHOLDER_BUILD_SH)
    started = time.monotonic()
    docker_engine.build_image(context, STANDIN_IMAGE, dockerfile=STANDIN_DIR / "Dockerfile.graalvm-standin",
                              build_args={"BASE_IMAGE": base_image}, progress=_progress("standin"))
    _timed(f"{STANDIN_IMAGE}{' (placeholder agent)' if placeholder else ''}", started)
    return StandinImage(STANDIN_IMAGE, placeholder)


@pytest.fixture(scope="session")
def node_image(docker_engine: Engine, base_image: str, standin_image: StandinImage) -> str:
    started = time.monotonic()
    docker_engine.build_image(NODE_DIR, NODE_IMAGE,
                              build_args={"BASE_IMAGE": base_image, "GRAALVM_IMAGE": str(standin_image)},
                              progress=_progress("graalvm-jit"))
    _timed(f"{NODE_IMAGE} (from {standin_image})", started)
    return NODE_IMAGE


@pytest.fixture
def run_id(docker_engine: Engine) -> Iterator[str]:
    value = new_run_id()
    yield value
    cleanup_leftovers(docker_engine, value)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _timings:
        terminalreporter.section("docker set-up times")
        for label, seconds in _timings:
            terminalreporter.write_line(f"{seconds:7.1f}s  {label}")
