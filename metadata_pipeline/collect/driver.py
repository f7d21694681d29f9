"""Where ducktape runs, and how a finished test's results get to this machine.

``ContainerDriver``: ducktape runs in the driver container (``ducker01``); ``LocalDriver``: on
this machine, against an existing cluster (``--cluster-file``). Both run the ducktape wrapper
with ``METADATA_PIPELINE_EVENTS=1``, which prints one ``EVENT_PREFIX`` line when a test starts
and one when ducktape has finished it (logs copied, its report.json written); every other line
is ducktape's own output.

``fetch`` brings one test's results over: ducktape's files at the top of the test's results
directory, the agent directories ducktape copied per service and node, and the services' own
logs, each file capped at ``SERVICE_LOG_CAP`` (Kafka's service logs can be large). The same script picks them on either side, and they arrive through
the container layer's checked tar extraction (no absolute names, no ``..``, no links leading
out) in both cases.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

from metadata_pipeline.collect.instrumentation import DucktapeInvocation
from metadata_pipeline.containers import Container, ContainerFailed, extract_archive
from metadata_pipeline.errors import FatalError

__all__ = ["DucktapeEvent", "Driver", "ContainerDriver", "LocalDriver", "parse_event", "EVENT_PREFIX",
           "DucktapeFailed"]

EVENT_PREFIX = "@@metadata-pipeline "  # as printed by system-test-overrides/run_ducktape.py

# Picks what collect keeps of a test's results into a staging directory: $1 results dir,
# $2 staging dir, $3 the agent directory's name as ducktape copies it (<service>/<host>/$3),
# $4 the bytes kept of each service log file.
_PICK = r"""set -eu
src=$1 stage=$2 agent=$3 cap=$4
rm -rf "$stage"
mkdir -p "$stage"
[ -d "$src" ] || exit 0
find "$src" -mindepth 1 -maxdepth 1 -type f -exec cp -p -t "$stage" {} +
cd "$src"
for d in */*/"$agent"; do
    if [ -d "$d" ] && [ ! -L "$d" ]; then
        mkdir -p "$stage/${d%/*}"
        cp -a "$d" "$stage/${d%/*}/"
    fi
done
# The services' own logs (server.log, the JVMs' stdout/stderr, ...), capped per file: the first
# and the last half of the cap, with a line saying what was cut.
keep() {
    size=$(stat -c %s "$1")
    mkdir -p "$stage/${1%/*}"
    if [ "$size" -le "$cap" ]; then cp -p "$1" "$stage/$1"; return; fi
    { head -c $((cap / 2)) "$1"; printf '\n[... %s bytes cut by metadata-pipeline collect ...]\n' $((size - cap));
      tail -c $((cap / 2)) "$1"; } > "$stage/$1"
}
for d in */*/*; do
    [ "${d##*/}" = "$agent" ] && continue
    if [ -L "$d" ]; then continue; fi
    if [ -f "$d" ]; then keep "$d"
    elif [ -d "$d" ]; then
        find "$d" -type f | while IFS= read -r f; do keep "$f"; done
    fi
done
"""
SERVICE_LOG_CAP = 1 << 20  # bytes kept of each service log file


class DucktapeFailed(FatalError):
    """ducktape could not be started at all."""


@dataclass(frozen=True)
class DucktapeEvent:
    kind: str  # "started" | "finished"
    test_id: str
    status: str | None = None
    results_dir: str | None = None
    session_dir: str | None = None


def parse_event(line: str) -> DucktapeEvent | None:
    """The wrapper's event on this line, or None for any other line."""
    if not line.startswith(EVENT_PREFIX):
        return None
    try:
        doc = json.loads(line[len(EVENT_PREFIX):])
    except ValueError:
        return None
    if not isinstance(doc, dict) or doc.get("event") not in ("started", "finished") \
            or not isinstance(doc.get("test_id"), str):
        return None
    text = {k: doc[k] if isinstance(doc.get(k), str) else None for k in ("status", "results_dir", "session_dir")}
    return DucktapeEvent(kind=doc["event"], test_id=doc["test_id"], **text)


class Driver(Protocol):
    def run(self, call: DucktapeInvocation, on_line: Callable[[str], None]) -> int: ...
    def fetch(self, results_dir: str, dest: Path, agent_dir_name: str) -> Path: ...
    def read_text(self, path: str) -> str | None: ...


class ContainerDriver:
    """ducktape in the driver container; results copied out through ``Container.copy_out``."""

    def __init__(self, container: Container, stage_root: str = "/mnt/metadata-pipeline/stage") -> None:
        self.container, self.stage_root = container, stage_root
        self._count = 0

    def run(self, call: DucktapeInvocation, on_line: Callable[[str], None]) -> int:
        result = self.container.exec(list(call.argv), env=dict(call.env), workdir=call.cwd, stream=on_line,
                                     max_output=20_000)
        return result.exit_code

    def fetch(self, results_dir: str, dest: Path, agent_dir_name: str) -> Path:
        self._count += 1
        stage = f"{self.stage_root}/{self._count}"
        self.container.check(["sh", "-c", _PICK, "pick", results_dir, stage, agent_dir_name, str(SERVICE_LOG_CAP)])
        try:
            return self.container.copy_out(stage, dest)
        finally:
            self.container.exec(["rm", "-rf", "--", stage])

    def read_text(self, path: str) -> str | None:
        result = self.container.exec(["cat", "--", path], max_output=1 << 30)
        return result.output if result.ok else None


class LocalDriver:
    """ducktape on this machine (``--cluster-file``); results read from the local results root."""

    def __init__(self, stage_root: Path) -> None:
        self.stage_root = stage_root

    def run(self, call: DucktapeInvocation, on_line: Callable[[str], None]) -> int:
        env = dict(os.environ)
        env.update(call.env)
        try:
            proc = subprocess.Popen(list(call.argv), cwd=call.cwd, env=env, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
        except OSError as exc:
            raise DucktapeFailed(f"cannot run ducktape ({call.argv[0]}): {exc.strerror}") from None
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                on_line(line.rstrip("\n"))
            return proc.wait()
        finally:
            if proc.poll() is None:  # interrupted: ducktape passes SIGTERM on to its test processes
                proc.terminate()
                try:
                    proc.wait(60)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()

    def fetch(self, results_dir: str, dest: Path, agent_dir_name: str) -> Path:
        self.stage_root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.stage_root) as tmp:
            stage = Path(tmp) / "stage"
            proc = subprocess.run(["sh", "-c", _PICK, "pick", results_dir, str(stage), agent_dir_name,
                                   str(SERVICE_LOG_CAP)],
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                raise ContainerFailed(f"cannot pick the results of {results_dir}: {proc.stderr.strip()[-300:]}")
            buffer = io.BytesIO()
            with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
                tar.add(str(stage), arcname="stage")  # links are archived as links, never followed
            buffer.seek(0)
            extract_archive(buffer, dest, results_dir)
        return dest / "stage"

    def read_text(self, path: str) -> str | None:
        try:
            return Path(path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
