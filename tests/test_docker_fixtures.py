"""The Docker fixtures' own behaviour, without an engine: what the session says when it starts one."""

from __future__ import annotations

import os

import docker_fixtures
from metadata_pipeline.containers import DockerUnavailable

FAKE_ENGINE_SCRIPT = """#!/bin/sh
# Stand-in for .ci/docker-engine.sh: nothing answers, and starting fails (nothing is installed).
echo "$1" >> "$(dirname "$0")/calls"
case $1 in start) echo "fake: not starting an engine" >&2; exit 1 ;; *) exit 1 ;; esac
"""


def test_starting_a_private_engine_is_said_on_the_console_though_output_is_captured(pytester, monkeypatch, tmp_path):
    script = tmp_path / "docker-engine.sh"
    script.write_text(FAKE_ENGINE_SCRIPT)
    script.chmod(0o755)
    monkeypatch.setattr(docker_fixtures, "ENGINE_SCRIPT", script)

    def unavailable(cls, timeout: int = 60):
        raise DockerUnavailable("the default socket", "nothing listens (test)")
    monkeypatch.setattr(docker_fixtures.Engine, "connect", classmethod(unavailable))
    monkeypatch.setattr(os, "geteuid", lambda: 0)  # the fixture starts an engine only as root
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.delenv("CI", raising=False)
    pytester.makepyfile(test_engine="def test_needs_an_engine(docker_engine):\n    pass\n")

    result = pytester.runpytest("-p", "docker_fixtures", "-p", "no:cacheprovider")  # output captured (no -s)

    result.assert_outcomes(skipped=1)
    assert (tmp_path / "calls").read_text().split() == ["status", "start"]
    lines = [line for line in result.outlines if line.startswith("docker: ")]
    assert len(lines) == 1, result.outlines
    assert lines[0].startswith("docker: no engine answers; ")
    assert lines[0].endswith(f"starting a private dockerd ({tmp_path.name}/docker-engine.sh start), "
                             "stopped when the session ends")
