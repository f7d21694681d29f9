"""Instrumentation for real: the bash java shim with a real JVM, and a real ducktape run.

Two stand-ins, named as such: ``standin-java-recorder`` takes the place of GraalVM's java when
the agent would be attached (the agent library is not on this machine) and records the PID
and arguments it got; ``standin-java-agent`` also writes one agent-format file into the
``config-output-dir`` it was given, as the agent would, for the ducktape run.
"""

from __future__ import annotations

import getpass
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from metadata_pipeline.collect.agent_options import AgentOptions
from metadata_pipeline.collect.discovery import discover
from metadata_pipeline.collect.instrumentation import (
    OVERRIDES_SOURCE,
    InvalidInstrumentation,
    agent_env,
    agent_root,
    ducktape_invocation,
    read_instrumented,
    resolve,
    stage,
)
from metadata_pipeline.collect.plan import build_plan
from metadata_pipeline.collect.shard import Shard
from metadata_pipeline.errors import InputError

MINIKAFKA = Path(__file__).parent / "fixtures" / "minikafka"
DEFAULT_CLASSES = ("kafka.Kafka", "kafka.tools.StorageTool", "kafka.docker.KafkaDockerWrapper")
# The wrapper must work under Kafka's pinned ducktape too: point this at a Python with it.
DUCKTAPE_PYTHON = os.environ.get("METADATA_PIPELINE_DUCKTAPE_PYTHON", sys.executable)
needs_jdk = pytest.mark.skipif(not (shutil.which("java") and shutil.which("javac")), reason="needs a JDK (java, javac)")

RECORDER = """#!/usr/bin/env bash
# Stand-in for GraalVM's java: records its PID and arguments (NUL-separated) instead of running.
printf '%s\\0' "$$" "$@" > "$RECORD_FILE"
"""

PRINT_ARGS = """
package {package};
import java.lang.management.ManagementFactory;
public class {name} {{
    public static void main(String[] args) {{
        System.out.println("jvm=" + ManagementFactory.getRuntimeMXBean().getInputArguments());
        for (String a : args) System.out.println("arg=" + a);
    }}
}}
"""


@pytest.fixture(scope="module")
def java_classes(tmp_path_factory):
    """Real tiny programs printing the JVM's input arguments (a tool class and another)."""
    if not (shutil.which("java") and shutil.which("javac")):
        pytest.skip("needs a JDK (java, javac)")
    src = tmp_path_factory.mktemp("src")
    out = tmp_path_factory.mktemp("classes")
    files = []
    for package, name in (("org.example.tools", "PrintArgs"), ("org.apache.kafka.tools", "TopicCommand")):
        f = src / f"{name}.java"
        f.write_text(PRINT_ARGS.format(package=package, name=name))
        files.append(str(f))
    subprocess.run(["javac", "-d", str(out), *files], check=True)
    return out


@pytest.fixture
def fake_java_home(tmp_path):
    """A JAVA_HOME whose bin/java is the host's real java."""
    home = tmp_path / "fake-java-home"
    (home / "bin").mkdir(parents=True)
    (home / "bin" / "java").symlink_to(Path(shutil.which("java") or "/usr/bin/java").resolve())
    return home


@pytest.fixture
def recorder(tmp_path):
    path = tmp_path / "standin-java-recorder"
    path.write_text(RECORDER)
    path.chmod(0o755)
    return path


class Overrides:
    """A staged overrides directory, used on this host in place of the nodes' mount."""

    def __init__(self, tmp_path: Path, real_java: Path, instrumented=DEFAULT_CLASSES, options: AgentOptions | None = None):
        self.root = tmp_path / "agent-out"
        self.dir = tmp_path / "overrides"
        options = options or AgentOptions(output_dir=f"{self.root}/{{main_class}}/{{hostname}}-{{pid}}-{{token}}")
        self.instr = resolve(options, instrumented=instrumented, real_java=str(real_java), mount=str(self.dir))
        stage(self.instr, self.dir)
        self.shim = self.dir / "bin" / "java"
        self.env = dict(os.environ, METADATA_PIPELINE_AGENT_ENV=str(self.dir / "agent.env"))

    def run(self, *args, env=None, **kwargs):
        return subprocess.run([str(self.shim), *args], env={**self.env, **(env or {})}, capture_output=True,
                              text=True, timeout=60, **kwargs)

    def process_dirs(self):
        return sorted(p for p in self.root.glob("*/*") if p.is_dir()) if self.root.exists() else []


def recorded(path: Path) -> tuple[int, list[str]]:
    pid, *argv = path.read_bytes().decode().split("\0")[:-1]
    return int(pid), argv


# --- the shim with a real JVM ------------------------------------------------------------


@needs_jdk
def test_other_main_classes_run_untouched_on_the_real_jvm(tmp_path, java_classes, fake_java_home):
    o = Overrides(tmp_path, fake_java_home / "bin" / "java")
    args = ["a b", "*", "", "$HOME", "-cp", "x,y"]
    proc = o.run("-Xmx64m", "-Dk=v w", "-cp", str(java_classes), "org.example.tools.PrintArgs", *args)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "jvm=[-Xmx64m, -Dk=v w]"
    assert lines[1:] == [f"arg={a}" for a in args]
    assert o.process_dirs() == []


@needs_jdk
def test_java_version_passes_through(tmp_path, fake_java_home):
    proc = Overrides(tmp_path, fake_java_home / "bin" / "java").run("-version")
    assert proc.returncode == 0 and " version " in proc.stderr


@pytest.mark.parametrize("main_class", DEFAULT_CLASSES)
@pytest.mark.parametrize("before", [
    ["-cp", "/opt/kafka/libs/*"],
    ["-classpath", "/a:/b", "-Xmx1G", "-Dx=y"],
    ["--class-path", "/a", "--add-opens", "java.base/java.lang=ALL-UNNAMED", "-XX:+UseG1GC"],
    ["--class-path=/a", "-ea", "-p", "/mods", "--add-modules", "m1,m2"],
])
def test_instrumented_main_classes_get_the_agent_option_from_agent_options(tmp_path, recorder, main_class, before):
    o = Overrides(tmp_path, recorder)
    args = [*before, main_class, "--config", "server.properties"]
    proc = o.run(*args, env={"RECORD_FILE": str(tmp_path / "rec"), "HOSTNAME": "node,01 x"})
    assert proc.returncode == 0, proc.stderr
    pid, argv = recorded(tmp_path / "rec")
    [created] = o.process_dirs()
    # One directory per process, named main class / host-pid-token; the PID is the JVM's.
    assert created.parent == o.root / main_class
    assert created.name.startswith(f"node_01_x-{pid}-") and len(created.name) == len(f"node_01_x-{pid}-") + 10
    assert list(created.iterdir()) == []
    assert argv[0] == replace(o.instr.options, output_dir=str(created)).jvm_argument()
    assert argv[1:] == args


@pytest.mark.parametrize("args", [
    ["-cp", "kafka.Kafka", "org.example.Other"],  # a class path value, not the main class
    ["--class-path", "kafka.Kafka", "org.example.Other"],
    ["-jar", "kafka.Kafka"],
    ["@kafka.Kafka.args"],  # an argument file hides the main class
    ["-version", "kafka.Kafka"],
    ["-agentlib:native-image-agent=config-output-dir=/elsewhere", "kafka.Kafka"],  # attached already
    ["kafka.KafkaNot"],
    ["org.apache.kafka.tools.ConsoleProducer", "kafka.Kafka"],
    [],
])
def test_everything_else_is_passed_on_unchanged(tmp_path, recorder, args):
    o = Overrides(tmp_path, recorder)
    proc = o.run(*args, env={"RECORD_FILE": str(tmp_path / "rec")})
    assert proc.returncode == 0, proc.stderr
    assert recorded(tmp_path / "rec")[1] == args
    assert o.process_dirs() == []


@pytest.mark.parametrize("args, main", [
    (["-m", "kafka.core/kafka.Kafka"], "kafka.Kafka"),
    (["--module=kafka.core/kafka.Kafka", "x"], "kafka.Kafka"),
    (["-Dx=1", "-jar", "/opt/kafka/broker.jar"], "jar:broker.jar"),
])
def test_module_and_jar_launches(tmp_path, recorder, args, main):
    o = Overrides(tmp_path, recorder, instrumented=(main,))
    assert o.run(*args, env={"RECORD_FILE": str(tmp_path / "rec")}).returncode == 0
    [created] = o.process_dirs()
    assert created.parent.name == main
    assert recorded(tmp_path / "rec")[1] == [replace(o.instr.options, output_dir=str(created)).jvm_argument(), *args]


def test_concurrent_jvms_never_share_a_directory(tmp_path, recorder):
    o = Overrides(tmp_path, recorder, options=AgentOptions(output_dir=f"{tmp_path}/agent-out/{{main_class}}/same-{{token}}"))
    procs = [subprocess.Popen([str(o.shim), "kafka.Kafka"], env={**o.env, "RECORD_FILE": str(tmp_path / f"rec{i}")})
             for i in range(12)]
    assert all(p.wait(60) == 0 for p in procs)
    dirs = o.process_dirs()
    assert len(dirs) == 12 and all(d.name.startswith("same-") for d in dirs)
    assert {recorded(tmp_path / f"rec{i}")[1][0] for i in range(12)} == {
        replace(o.instr.options, output_dir=str(d)).jvm_argument() for d in dirs}


def test_the_shim_refuses_to_run_without_its_settings(tmp_path, recorder):
    o = Overrides(tmp_path, recorder)
    proc = o.run("kafka.Kafka", env={"METADATA_PIPELINE_AGENT_ENV": str(tmp_path / "missing.env")})
    assert proc.returncode == 127 and "cannot read" in proc.stderr
    looping = Overrides(tmp_path / "loop", tmp_path / "loop" / "overrides" / "bin" / "java")
    proc = looping.run("kafka.Kafka")
    assert proc.returncode == 127 and "is this shim" in proc.stderr


@needs_jdk
def test_kafka_scripts_through_the_shim_first_on_path(tmp_path, recorder, fake_java_home):
    """bin/kafka-*.sh -> kafka-run-class.sh -> `java` from PATH (the shim) -> the real java."""
    from docker_fixtures import kafka_libs

    kafka = tmp_path / "kafka"
    shutil.copytree(MINIKAFKA, kafka, ignore=shutil.ignore_patterns("__pycache__"))
    o = Overrides(tmp_path, recorder)
    env = {**o.env, "PATH": f"{o.shim.parent}:{os.environ['PATH']}", "RECORD_FILE": str(tmp_path / "rec"),
           "KAFKA_HEAP_OPTS": "-Xmx1G", "KAFKA_OPTS": "-Dk=v", "CLASSPATH": "/extra",
           "KAFKA_LOG4J_OPTS": "-Dlog4j2.configurationFile=x.yaml"}
    env.pop("JAVA_HOME", None)
    env.pop("LOG_DIR", None)
    proc = subprocess.run([str(kafka / "bin" / "kafka-server-start.sh"), "/mnt/kafka/server.properties"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    [created] = o.process_dirs()
    argv = recorded(tmp_path / "rec")[1]
    log_dir = f"{kafka}/bin/../logs"
    assert argv[:2] == [replace(o.instr.options, output_dir=str(created)).jvm_argument(), "-Xmx1G"]
    # As in Kafka: LOG_DIR under the install dir, created because KAFKA_LOG4J_OPTS is set, and -loggc's GC log there.
    assert f"-Xlog:gc*:file={log_dir}/kafkaServer-gc.log:time,tags:filecount=10,filesize=100M" in argv
    assert (kafka / "logs").is_dir()
    assert argv[-7:] == [f"-Dkafka.logs.dir={log_dir}", "-Dlog4j2.configurationFile=x.yaml", "-cp", "/extra", "-Dk=v",
                         "kafka.Kafka", "/mnt/kafka/server.properties"]

    # A tool JVM (Kafka's real console producer), on the real JVM, through JAVA_HOME/bin/java being the shim.
    shutil.copytree(kafka_libs(), kafka / "libs")
    tools = Overrides(tmp_path / "tools", fake_java_home / "bin" / "java")
    shim_home = tmp_path / "shim-java-home" / "bin"
    shim_home.mkdir(parents=True)
    (shim_home / "java").symlink_to(tools.shim)
    env = {**tools.env, "JAVA_HOME": str(shim_home.parent)}
    for name in ("KAFKA_HEAP_OPTS", "KAFKA_OPTS", "CLASSPATH", "KAFKA_LOG4J_OPTS"):
        env.pop(name, None)
    proc = subprocess.run([str(kafka / "bin" / "kafka-console-producer.sh"), "--version"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("4.0.0"), proc.stdout
    assert tools.process_dirs() == []


# --- staging the overrides ---------------------------------------------------------------


def test_the_repository_lists_the_broker_binary_main_classes():
    # Checked against apache/kafka: core/src/main/scala/kafka/Kafka.scala, kafka/tools/StorageTool.scala,
    # kafka/docker/KafkaDockerWrapper.scala (the native image's entry point).
    assert read_instrumented(OVERRIDES_SOURCE / "instrumented-main-classes") == DEFAULT_CLASSES


def test_read_instrumented_rejects_garbage(tmp_path):
    bad = tmp_path / "list"
    bad.write_text("kafka.Kafka\nnot a class # comment\n")
    with pytest.raises(InputError, match=r"list:2: 'not a class' is not a Java class name"):
        read_instrumented(bad)


def test_stage_writes_the_settings_the_shim_sources(tmp_path):
    filters = [tmp_path / "kafka filter.json", tmp_path / "b.json"]
    for f in filters:
        f.write_text('{"rules": []}')
    real_java = "/opt/graal vm/$weird 'java'/bin/java"
    instr = resolve(AgentOptions(), instrumented=("kafka.Kafka",), access_filters=filters[:1],
                    caller_filters=filters[1:], real_java=real_java)
    dest = stage(instr, tmp_path / "staged", selection=["b.test", "a.test"])
    assert instr.options.access_filter_files == ("/opt/metadata-pipeline/overrides/agent-filters/01-kafka_filter.json",)
    assert instr.options.caller_filter_files == ("/opt/metadata-pipeline/overrides/agent-filters/02-b.json",)
    assert (dest / "agent-filters" / "01-kafka_filter.json").read_text() == '{"rules": []}'
    assert json.loads((dest / "selection.json").read_text()) == ["a.test", "b.test"]
    assert read_instrumented(dest / "instrumented-main-classes") == ("kafka.Kafka",)
    assert os.access(dest / "bin" / "java", os.X_OK) and (dest / "run_ducktape.py").is_file()
    names = ["METADATA_PIPELINE_REAL_JAVA", "METADATA_PIPELINE_INSTRUMENTED", "METADATA_PIPELINE_AGENT_DIR_TEMPLATE",
             "METADATA_PIPELINE_AGENT_OPTIONS"]
    script = f"source {dest / 'agent.env'}; printf '%s\\0' " + " ".join(f'"${n}"' for n in names)
    values = subprocess.run(["bash", "-c", script], capture_output=True, check=True).stdout.decode().split("\0")[:-1]
    assert values == [real_java, "/opt/metadata-pipeline/overrides/instrumented-main-classes",
                      "/mnt/native-image-agent/{main_class}/{hostname}-{pid}-{token}", instr.options.render()]
    assert (dest / "agent.env").read_text() == agent_env(instr)
    with pytest.raises(InputError, match="exists and is not empty"):
        stage(instr, dest)


@pytest.mark.parametrize("kwargs, message", [
    (dict(options=AgentOptions(output_dir="/mnt/agent/{main_class}/{pid}")), "needs {token}"),
    (dict(options=AgentOptions(output_dir="/mnt/{main_class}-{token}")), "at least two levels deep"),
    (dict(options=AgentOptions(output_dir="/{token}")), "at least two levels deep"),
    (dict(instrumented=()), "no instrumented main classes"),
    (dict(instrumented=("kafka.Kafka; rm -rf /",)), "not a Java class name"),
    (dict(real_java="java"), "must be an absolute path"),
])
def test_resolve_rejects_what_the_shim_cannot_honour(kwargs, message):
    args = dict(options=AgentOptions(), instrumented=DEFAULT_CLASSES) | kwargs
    with pytest.raises(InvalidInstrumentation, match=message.replace("{", r"\{").replace("}", r"\}")):
        resolve(args.pop("options"), **args)


def test_resolve_rejects_a_missing_filter(tmp_path):
    with pytest.raises(InputError, match="no such filter file"):
        resolve(AgentOptions(), instrumented=DEFAULT_CLASSES, access_filters=[tmp_path / "nope.json"])


def test_agent_root_is_the_fixed_part_above_the_placeholders():
    assert agent_root("/mnt/native-image-agent/{main_class}/{hostname}-{pid}-{token}") == "/mnt/native-image-agent"
    assert agent_root("/mnt/a/b/x-{token}") == "/mnt/a/b"


def test_ducktape_invocation_for_a_shard_with_ignored_tests():
    instr = resolve(AgentOptions(), instrumented=DEFAULT_CLASSES)
    found = discover(MINIKAFKA, ["tests/kafkatest/tests"], ["tests/kafkatest/tests/tools"])
    plan = build_plan(found, include_ignored=True, shard=Shard(2, 3))
    call = ducktape_invocation(plan, instr, cluster_file="/mnt/cluster.json", results_root="/mnt/results",
                               max_parallel=2)
    assert call.cwd == "/opt/kafka-dev"
    assert dict(call.env) == {"METADATA_PIPELINE_AGENT_DIR": "/mnt/native-image-agent",
                              "METADATA_PIPELINE_RUN_IGNORED": "1",
                              "METADATA_PIPELINE_SELECTION": "/opt/metadata-pipeline/overrides/selection.json"}
    assert call.argv == ("python3", "/opt/metadata-pipeline/overrides/run_ducktape.py", "--cluster",
                         "ducktape.cluster.json.JsonCluster", "--cluster-file", "/mnt/cluster.json",
                         "--results-root", "/mnt/results", "--max-parallel", "2", "tests/kafkatest/tests",
                         "--exclude", "tests/kafkatest/tests/tools")
    assert call.selection == tuple(t.test_id for t in plan.selected) and len(call.selection) == 3  # 10 tests: 4, 3, 3
    plain = ducktape_invocation(build_plan(found), instr, cluster_file="c", results_root="r")
    assert dict(plain.env) == {"METADATA_PIPELINE_AGENT_DIR": "/mnt/native-image-agent"} and plain.selection is None


def test_dry_run_shows_the_whole_run(capsys, tmp_path, monkeypatch):
    from metadata_pipeline.cli import main

    kafka = tmp_path / "kafka"  # built, as far as kafka-run-class.sh's class path goes
    shutil.copytree(MINIKAFKA, kafka, ignore=shutil.ignore_patterns("__pycache__"))
    (kafka / "libs").mkdir()
    (kafka / "libs" / "kafka_2.13-4.0.0.jar").write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    assert main(["collect", "--kafka-dir", str(kafka), "--dry-run", "--shard", "1/2", "--write-period", "0",
                 "--instrument", "kafka.Kafka", "-o", "out", "--no-config"]) == 0
    out = capsys.readouterr().out
    assert "  to run           5 of 9 runnable in shard 1/2, balanced by count\n" in out
    assert f"  {kafka} -> /opt/kafka-dev (read-write, as ducker-ak: Kafka's scripts write logs/)\n" in out
    assert "/out/.collect/runs/<run id>/overrides (staged from" in out
    assert "  instrumented     kafka.Kafka (every other JVM runs untouched)\n" in out
    assert ("  jvm argument     -agentlib:native-image-agent=config-output-dir="
            "/mnt/native-image-agent/{main_class}/{hostname}-{pid}-{token}\n") in out
    assert "METADATA_PIPELINE_SELECTION=/opt/metadata-pipeline/overrides/selection.json " in out
    assert " /opt/ducktape/bin/python /opt/metadata-pipeline/overrides/run_ducktape.py " in out
    assert "  selection        5 test ids in /opt/metadata-pipeline/overrides/selection.json\n" in out
    assert not (tmp_path / "out").exists()  # a dry run writes nothing


# --- the ducktape hook, in a real ducktape run over SSH to this host ---------------------

AGENT_STANDIN = """#!/usr/bin/env bash
# Stand-in for GraalVM's java with the native-image agent: writes one agent-format file into
# the config-output-dir it is given (nothing when the agent is not attached).
for a in "$@"; do
  case $a in
    -agentlib:native-image-agent=*)
      IFS=, read -ra parts <<< "${a#*=}"
      for p in "${parts[@]}"; do [[ $p == config-output-dir=* ]] && dir=${p#*=}; done ;;
  esac
done
[[ -n ${dir:-} ]] && printf '[{"name": "stand.in.Reflected"}]\\n' > "$dir/reflect-config.json"
exit 0
"""

HOOK_TESTS = '''
"""ducktape tests whose service starts JVMs through the java shim on its node."""

from ducktape.mark import ignore
from ducktape.mark.resource import cluster
from ducktape.services.service import Service
from ducktape.tests.test import Test


class JvmService(Service):
    def __init__(self, context, main_classes, share_nodes_of=None):
        Service.__init__(self, context, num_nodes=0 if share_nodes_of else 1)
        if share_nodes_of is not None:
            self.nodes = list(share_nodes_of.nodes)  # as Kafka's Trogdor service does
        self.main_classes = main_classes

    def start_node(self, node):
        g = self.context.globals
        for main_class in self.main_classes:
            node.account.ssh("METADATA_PIPELINE_AGENT_ENV=%s %s -cp /x %s arg" % (g["agent_env"], g["shim"], main_class))

    def stop_node(self, node):
        pass

    def clean_node(self, node):
        pass


class AgentHookTest(Test):
    @cluster(num_nodes=1)
    def test_broker(self):
        JvmService(self.test_context, ["kafka.Kafka", "kafka.tools.StorageTool"]).start()

    @cluster(num_nodes=1)
    def test_tool(self):
        JvmService(self.test_context, ["org.apache.kafka.tools.TopicCommand"]).start()

    @cluster(num_nodes=1)
    def test_shared_node(self):
        broker = JvmService(self.test_context, ["kafka.Kafka"])
        broker.start()
        JvmService(self.test_context, ["org.apache.kafka.trogdor.agent.Agent"], share_nodes_of=broker).start()

    @ignore
    @cluster(num_nodes=1)
    def test_ignored(self):
        JvmService(self.test_context, ["kafka.Kafka"]).start()
'''


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ssh_node(tmp_path_factory):
    """An sshd of our own on a free localhost port: ducktape's nodes are reached over SSH/SFTP."""
    sshd = shutil.which("sshd") or "/usr/sbin/sshd"
    if not os.path.exists(sshd) or not shutil.which("ssh-keygen"):
        pytest.skip("needs OpenSSH's sshd and ssh-keygen (Debian: openssh-server)")
    d = tmp_path_factory.mktemp("sshd")
    for key in ("host_key", "client_key"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / key)], check=True)
    (d / "authorized_keys").write_text((d / "client_key.pub").read_text())
    port = _free_port()
    (d / "sshd_config").write_text("\n".join([
        f"Port {port}", "ListenAddress 127.0.0.1", f"HostKey {d / 'host_key'}", f"PidFile {d / 'sshd.pid'}",
        f"AuthorizedKeysFile {d / 'authorized_keys'}", "PasswordAuthentication no", "KbdInteractiveAuthentication no",
        "PermitRootLogin yes", "StrictModes no", "UsePAM no", "Subsystem sftp internal-sftp", ""]))
    if os.geteuid() == 0:
        os.makedirs("/run/sshd", exist_ok=True)  # sshd's privilege separation directory
    proc = subprocess.Popen([sshd, "-D", "-e", "-f", str(d / "sshd_config")], stderr=open(d / "sshd.log", "w"))
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"sshd did not start: {(d / 'sshd.log').read_text()}")
                time.sleep(0.1)
        cluster = {"nodes": [{"externally_routable_ip": "127.0.0.1",
                              "ssh_config": {"host": "node1", "hostname": "127.0.0.1", "port": port,
                                             "user": getpass.getuser(), "identityfile": str(d / "client_key"),
                                             "password": None}}]}
        (d / "cluster.json").write_text(json.dumps(cluster))
        yield d / "cluster.json"
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="module")
def ducktape_setup(tmp_path_factory, ssh_node):
    root = tmp_path_factory.mktemp("hook")
    standin = root / "standin-java-agent"
    standin.write_text(AGENT_STANDIN)
    standin.chmod(0o755)
    overrides = Overrides(root, standin)
    suite = root / "hooksuite"
    suite.mkdir()
    (suite / "__init__.py").write_text("")
    (suite / "agent_hook_test.py").write_text(HOOK_TESTS)
    return root, overrides, suite / "agent_hook_test.py"


def run_ducktape(setup, cluster_file, session, env=()):
    root, overrides, test_file = setup
    results = root / f"results-{session}"
    g = {"shim": str(overrides.shim), "agent_env": str(overrides.dir / "agent.env")}
    proc = subprocess.run(
        [DUCKTAPE_PYTHON, str(overrides.dir / "run_ducktape.py"), "--cluster", "ducktape.cluster.json.JsonCluster",
         "--cluster-file", str(cluster_file), "--results-root", str(results), "--globals", json.dumps(g),
         str(test_file)],
        cwd=root, env={**os.environ, "METADATA_PIPELINE_AGENT_DIR": str(overrides.root), **dict(env)},
        capture_output=True, text=True, timeout=600)
    [session_dir] = [p for p in results.iterdir() if p.is_dir() and not p.is_symlink()]
    report = json.loads((session_dir / "report.json").read_text())
    return proc, session_dir, {r["test_id"].rsplit(".", 1)[1]: r for r in report["results"]}


def agent_copies(session_dir: Path, method: str) -> list[Path]:
    """Process directories ducktape copied for one test: <service>/<node>/agent-out/<main>/<proc>."""
    return sorted(p for p in (session_dir / "AgentHookTest" / method).glob("**/agent-out/*/*") if p.is_dir())


def test_ducktape_copies_agent_output_per_test_and_node_and_cleans_between_tests(ducktape_setup, ssh_node):
    root, overrides, _ = ducktape_setup
    proc, session_dir, results = run_ducktape(ducktape_setup, ssh_node, "all")
    assert {k: v["test_status"] for k, v in results.items()} == {
        "test_broker": "PASS", "test_tool": "PASS", "test_shared_node": "PASS", "test_ignored": "IGNORE"}, proc.stdout

    broker = agent_copies(session_dir, "test_broker")
    assert [(p.parent.name, p.parts[-4]) for p in broker] == [("kafka.Kafka", "node1"),
                                                              ("kafka.tools.StorageTool", "node1")]
    for p in broker:
        assert json.loads((p / "reflect-config.json").read_text()) == [{"name": "stand.in.Reflected"}]
    # Each test holds only its own JVMs' output: the node's agent dir was emptied in between.
    assert agent_copies(session_dir, "test_tool") == []
    assert list((session_dir / "AgentHookTest" / "test_tool").glob("**/node1/agent-out")) != []
    # Two services on one node: the node's output is copied once, under the service owning it.
    [shared] = agent_copies(session_dir, "test_shared_node")
    assert shared.parent.name == "kafka.Kafka" and shared.parts[-5].startswith("JvmService")
    assert len(list((session_dir / "AgentHookTest" / "test_shared_node").glob("**/agent-out"))) == 1
    assert agent_copies(session_dir, "test_ignored") == []
    assert not overrides.root.exists()  # cleaned on the node after the last test


def test_wrapper_runs_a_selection_including_ignored_tests(ducktape_setup, ssh_node):
    root, overrides, _ = ducktape_setup
    selection = root / "selection.json"
    selection.write_text(json.dumps(["hooksuite.agent_hook_test.AgentHookTest.test_ignored"]))
    proc, session_dir, results = run_ducktape(ducktape_setup, ssh_node, "selected",
                                              env={"METADATA_PIPELINE_RUN_IGNORED": "1",
                                                   "METADATA_PIPELINE_SELECTION": str(selection)})
    assert {k: v["test_status"] for k, v in results.items()} == {"test_ignored": "PASS"}, proc.stdout
    [copied] = agent_copies(session_dir, "test_ignored")
    assert copied.parent.name == "kafka.Kafka"
