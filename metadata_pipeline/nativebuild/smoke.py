"""Smoke test of a broker executable: format, start, time to ready, peak RSS, clean stop.

The native executable is driven the way Kafka's native image drives it (docker/native/launch):
``setup --default-configs-dir D --mounted-configs-dir M --final-configs-dir F`` with a fresh
``CLUSTER_ID`` in the environment (KafkaDockerWrapper writes F/server.properties from D and M,
then formats storage), then ``start --config F/server.properties -Dkafka.logs.dir=...``. The
JVM broker, for comparison, goes through the distribution's own scripts:
``bin/kafka-storage.sh format -t ID -c FILE`` and ``bin/kafka-server-start.sh FILE`` (with the
scripts' defaults, e.g. a 1 GB heap, as KIP-974 measured).

Both get the same single-node KRaft configuration (broker and controller in one process) on
free loopback ports, and a clean environment: ``KAFKA_*`` variables are dropped, because the
wrapper turns them into broker properties and the scripts into JVM options.

Measured:
- time to ready: from starting the process to the first accepted TCP connection on the broker
  port (polled every 5 ms);
- peak RSS: the larger of the summed VmRSS of the process and its children (sampled while
  starting and for ``settle_seconds`` after ready) and the largest VmHWM (the kernel's own
  high-water mark) among them, from /proc;
- stop: SIGTERM, then the process must exit by itself with 0 or 143 (128 + SIGTERM, what a JVM
  and a native image built with --install-exit-handlers return) within ``stop_timeout``.

Nothing here is specific to Kafka's binaries: any executable with that command line that opens
the broker port works, which is how the tests run it against a stand-in broker.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from metadata_pipeline.kraft import new_cluster_id
from metadata_pipeline.nativebuild.errors import SmokeFailed

__all__ = [
    "KIP_NATIVE_MS", "KIP_JVM_MS", "Limits", "Launch", "StartupFigures", "SmokeReport",
    "free_port", "broker_properties", "clean_env", "native_launch", "jvm_launch",
    "jvm_unavailable", "find_java", "run_launch", "run_smoke", "report_lines",
]

KIP_NATIVE_MS, KIP_JVM_MS = 130, 1150
CLEAN_EXITS = (0, 128 + signal.SIGTERM)
# Kafka's logging configuration files, by release (log4j 1 until 3.x, log4j2 from 4.0).
LOG4J_FILES = ("log4j.properties", "tools-log4j.properties", "log4j2.yaml", "tools-log4j2.yaml")

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Limits:
    format_timeout: float = 120.0
    ready_timeout: float = 120.0
    settle_seconds: float = 1.0
    stop_timeout: float = 60.0


@dataclass(frozen=True)
class Launch:
    """How to format storage for, and start, one broker."""

    label: str  # "native" or "jvm"
    program: str  # what is shown
    cluster_id: str
    format_argv: tuple[str, ...]
    start_argv: tuple[str, ...]
    env: Mapping[str, str]
    work: Path
    port: int


@dataclass(frozen=True)
class StartupFigures:
    label: str
    program: str
    ready_seconds: float
    peak_rss_bytes: int
    stop_seconds: float
    exit_code: int


@dataclass(frozen=True)
class SmokeReport:
    native: StartupFigures
    jvm: StartupFigures | None
    jvm_note: str | None  # why there is no JVM figure


# --- set-up -----------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def broker_properties(port: int, controller_port: int, data_dir: Path) -> str:
    """A single-node KRaft broker + controller on loopback (what config/kraft/server.properties
    sets, with these ports and this data directory)."""
    return "\n".join([
        "process.roles=broker,controller",
        "node.id=1",
        f"controller.quorum.voters=1@127.0.0.1:{controller_port}",
        f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
        "inter.broker.listener.name=PLAINTEXT",
        "controller.listener.names=CONTROLLER",
        "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        f"log.dirs={data_dir}",
        "num.partitions=1",
        "offsets.topic.replication.factor=1",
        "transaction.state.log.replication.factor=1",
        "transaction.state.log.min.isr=1",
        "group.initial.rebalance.delay.ms=0",
        "",
    ])


def clean_env(env: Mapping[str, str]) -> dict[str, str]:
    return {key: value for key, value in env.items() if not key.startswith("KAFKA_")}


def _dirs(work: Path, *names: str) -> list[Path]:
    paths = [work / name for name in names]
    for path in paths:
        path.mkdir(parents=True)
    return paths


def native_launch(binary: Path, dist_config: Path | None, work: Path, env: Mapping[str, str]) -> Launch:
    """The native executable as docker/native/launch runs it, in ``work``."""
    default, mounted, final, data, logs = _dirs(work, "default", "mounted", "final", "data", "logs")
    port, controller = free_port(), free_port()
    (default / "server.properties").write_text(broker_properties(port, controller, data))
    log_args = [f"-Dkafka.logs.dir={logs}"]
    for name in LOG4J_FILES:
        if dist_config is not None and (dist_config / name).is_file():
            shutil.copyfile(dist_config / name, default / name)
    if (default / "log4j.properties").is_file():
        log_args.append(f"-Dlog4j.configuration=file:{final / 'log4j.properties'}")
    elif (default / "log4j2.yaml").is_file():
        log_args.append(f"-Dlog4j2.configurationFile={final / 'log4j2.yaml'}")
    cluster_id = new_cluster_id()
    return Launch(
        "native", binary.name, cluster_id,
        (str(binary), "setup", "--default-configs-dir", str(default), "--mounted-configs-dir", str(mounted),
         "--final-configs-dir", str(final)),
        (str(binary), "start", "--config", str(final / "server.properties"), *log_args),
        {**clean_env(env), "CLUSTER_ID": cluster_id}, work, port)


def find_java(env: Mapping[str, str]) -> tuple[Path | None, str] | None:
    """(JAVA_HOME to pass on or None, how it was found), or None when there is no java."""
    home = env.get("JAVA_HOME")
    if home and os.access(Path(home, "bin", "java"), os.X_OK):
        return Path(home), f"JAVA_HOME={home}"
    java = shutil.which("java", path=env.get("PATH"))
    return (None, java) if java else None


def jvm_unavailable(dist_root: Path, env: Mapping[str, str]) -> str | None:
    """Why the JVM comparison cannot run, or None when it can."""
    for script in ("kafka-storage.sh", "kafka-server-start.sh"):
        if not (dist_root / "bin" / script).is_file():
            return f"the distribution has no bin/{script}"
    if find_java(env) is None:
        return "no java (set JAVA_HOME or put java on PATH)"
    return None


def jvm_launch(dist_root: Path, work: Path, env: Mapping[str, str]) -> Launch:
    """The distribution's scripts, as a user starts a JVM broker, in ``work``."""
    data, logs = _dirs(work, "data", "logs")
    port, controller = free_port(), free_port()
    config = work / "server.properties"
    config.write_text(broker_properties(port, controller, data))
    java = find_java(env)
    extra = {"JAVA_HOME": str(java[0])} if java and java[0] else {}
    cluster_id = new_cluster_id()
    bin_dir = dist_root / "bin"
    return Launch(
        "jvm", "bin/kafka-server-start.sh", cluster_id,
        (str(bin_dir / "kafka-storage.sh"), "format", "-t", cluster_id, "-c", str(config)),
        (str(bin_dir / "kafka-server-start.sh"), str(config)),
        # LOG_DIR: the scripts would otherwise write logs (and the GC log) into the distribution.
        {**clean_env(env), **extra, "LOG_DIR": str(logs)}, work, port)


# --- measuring --------------------------------------------------------------------------------

def _status_kb(pid: int, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass  # gone already, or a kernel thread
    return 0


def _tree(pid: int) -> list[int]:
    # Children are listed per creating thread; a launcher script forks from its main thread,
    # so the main thread's list is enough (and cheap next to walking a JVM's hundred threads).
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            with open(f"/proc/{current}/task/{current}/children", encoding="ascii") as fh:
                todo.extend(int(child) for child in fh.read().split())
        except (OSError, ValueError):
            pass
    return found


class _PeakRss:
    def __init__(self, pid: int) -> None:
        self.pid, self.peak_kb = pid, 0

    def sample(self) -> None:
        pids = _tree(self.pid)
        total = sum(_status_kb(pid, "VmRSS") for pid in pids)
        highest = max(_status_kb(pid, "VmHWM") for pid in pids)
        self.peak_kb = max(self.peak_kb, total, highest)


def _accepts(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        try:
            sock.connect(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _log_tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no output)"
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:]) or "(no output)"


def _format(launch: Launch, limits: Limits) -> None:
    log = launch.work / "format.log"
    try:
        with open(log, "wb") as out:
            done = subprocess.run(launch.format_argv, env=dict(launch.env), cwd=launch.work, stdout=out,
                                  stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=limits.format_timeout)
    except subprocess.TimeoutExpired:
        raise SmokeFailed(f"{launch.label}: formatting storage took over {limits.format_timeout:g}s: "
                          f"{_log_tail(log)}") from None
    except OSError as exc:
        raise SmokeFailed(f"{launch.label}: cannot run {launch.format_argv[0]}: {exc.strerror}") from None
    if done.returncode != 0:
        raise SmokeFailed(f"{launch.label}: formatting storage exited {done.returncode}: {_log_tail(log)}")


def _measure(launch: Launch, limits: Limits) -> StartupFigures:
    log = launch.work / "broker.log"
    where = f"127.0.0.1:{launch.port}"
    with open(log, "wb") as out:
        started = time.monotonic()
        try:
            proc = subprocess.Popen(launch.start_argv, env=dict(launch.env), cwd=launch.work, stdout=out,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        except OSError as exc:
            raise SmokeFailed(f"{launch.label}: cannot run {launch.start_argv[0]}: {exc.strerror}") from None
        try:
            rss = _PeakRss(proc.pid)
            polls = 0
            while not _accepts(launch.port):
                if polls % 4 == 0:
                    rss.sample()
                polls += 1
                if proc.poll() is not None:
                    raise SmokeFailed(f"{launch.label}: the broker exited {proc.returncode} before accepting "
                                      f"connections on {where}: {_log_tail(log)}")
                if time.monotonic() - started > limits.ready_timeout:
                    raise SmokeFailed(f"{launch.label}: the broker accepted no connection on {where} within "
                                      f"{limits.ready_timeout:g}s: {_log_tail(log)}")
                time.sleep(0.005)
            ready = time.monotonic() - started
            settled = time.monotonic() + limits.settle_seconds
            while True:
                rss.sample()
                if proc.poll() is not None:
                    raise SmokeFailed(f"{launch.label}: the broker exited {proc.returncode} right after it "
                                      f"became ready: {_log_tail(log)}")
                if time.monotonic() >= settled:
                    break
                time.sleep(0.05)
            stopping = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(timeout=limits.stop_timeout)
            except subprocess.TimeoutExpired:
                raise SmokeFailed(f"{launch.label}: the broker did not stop within {limits.stop_timeout:g}s "
                                  f"of SIGTERM (killed it): {_log_tail(log)}") from None
            stopped = time.monotonic() - stopping
            if code not in CLEAN_EXITS:
                how = f"was killed by signal {-code}" if code < 0 else f"exited {code}"
                raise SmokeFailed(f"{launch.label}: on SIGTERM the broker {how} instead of shutting down "
                                  f"cleanly (exit 0 or 143): {_log_tail(log)}")
            return StartupFigures(launch.label, launch.program, ready, rss.peak_kb * 1024, stopped, code)
        finally:
            _sweep(proc)


def _sweep(proc: subprocess.Popen[bytes]) -> None:
    """Kill whatever is left of the broker's process group (all of it, on a failure)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def run_launch(launch: Launch, limits: Limits) -> StartupFigures:
    _format(launch, limits)
    return _measure(launch, limits)


def run_smoke(binary: Path, dist_root: Path, env: Mapping[str, str], *, limits: Limits = Limits(),
              progress: Progress = lambda line: None) -> SmokeReport:
    """Start the native broker, then (when a JVM and the scripts are there) the JVM broker of
    ``dist_root``.

    A native failure raises ``SmokeFailed`` and keeps its logs; a JVM failure only becomes the
    report's ``jvm_note``: the comparison is information, the native broker is the test.
    """
    work = Path(tempfile.mkdtemp(prefix="mp-smoke-"))
    try:
        launch = native_launch(binary, dist_root / "config", work / "native", env)
        progress(f"smoke: {launch.program} setup + start on 127.0.0.1:{launch.port} (cluster id {launch.cluster_id})")
        native = run_launch(launch, limits)
    except SmokeFailed as exc:
        raise SmokeFailed(f"{exc.message} (logs kept in {work / 'native'})") from None
    jvm_figures, note = None, jvm_unavailable(dist_root, env)
    if note is None:
        launch = jvm_launch(dist_root, work / "jvm", env)
        progress(f"smoke: {launch.program} on 127.0.0.1:{launch.port} (cluster id {launch.cluster_id})")
        try:
            jvm_figures = run_launch(launch, limits)
        except SmokeFailed as exc:
            note = f"failed: {exc.message} (logs kept in {work / 'jvm'})"
    if note is None or not note.startswith("failed"):
        shutil.rmtree(work, ignore_errors=True)
    return SmokeReport(native, jvm_figures, note)


# --- reporting --------------------------------------------------------------------------------

def _row(figures: StartupFigures) -> str:
    return (f"  {figures.label:<7}{figures.program:<28}ready in {figures.ready_seconds * 1000:7.0f} ms   "
            f"peak RSS {figures.peak_rss_bytes / 1e6:8.1f} MB   stopped in {figures.stop_seconds:.1f} s "
            f"(exit {figures.exit_code})")


def report_lines(report: SmokeReport) -> list[str]:
    lines = ["smoke test: storage formatted with a fresh cluster id, broker started, stopped with SIGTERM",
             _row(report.native)]
    if report.jvm is None:
        lines.append(f"  jvm    not compared: {report.jvm_note}")
        lines.append(f"  KIP-974 reports ~{KIP_NATIVE_MS} ms native vs ~{KIP_JVM_MS} ms JVM "
                     f"({KIP_JVM_MS / KIP_NATIVE_MS:.1f}x)")
        return lines
    native, jvm = report.native, report.jvm
    speed = jvm.ready_seconds / native.ready_seconds if native.ready_seconds > 0 else float("inf")
    memory = jvm.peak_rss_bytes / native.peak_rss_bytes if native.peak_rss_bytes > 0 else float("inf")
    lines += [
        _row(jvm),
        f"  ratio  jvm/native: {speed:.1f}x time to ready, {memory:.1f}x peak RSS "
        f"(KIP-974 reports ~{KIP_NATIVE_MS} ms native vs ~{KIP_JVM_MS} ms JVM, {KIP_JVM_MS / KIP_NATIVE_MS:.1f}x)",
    ]
    return lines
