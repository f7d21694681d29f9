"""The test cluster of a ``collect`` run: N containers on their own network, like Kafka's ducker-ak.

``ClusterSpec`` (pure) decides the names, mounts and ducktape cluster file; ``LocalCluster``
starts it through the shared container layer (``metadata_pipeline.containers``) and removes it
on the way out, whatever happens (exceptions, Ctrl-C). As in ducker-ak:

- nodes are ``ducker01`` .. ``duckerNN`` (host names and network aliases) on a network of
  their own; ``ducker01`` is the driver, which runs ducktape and no test services, and the
  cluster file lists ``ducker02`` .. ``duckerNN``. SSH between nodes uses a key pair made for
  this run and injected when the containers have started (``sshkeys``): the image holds none.
- the Kafka checkout is mounted **read-write** at ``/opt/kafka-dev`` on every node, as ducker-ak
  mounts it: ``kafka-run-class.sh`` creates ``$base_dir/logs`` and ``-loggc`` writes
  ``logs/kafkaServer-gc.log`` there, and a JVM whose GC log cannot be created does not start.
  ducktape itself runs outside the checkout (``WORK_DIR``), so the checkout gets what Kafka's
  scripts write under ducker-ak and nothing else. The run's staged ``system-test-overrides``
  are mounted read-only at ``/opt/metadata-pipeline/overrides``.
- capabilities: the engine's defaults plus ``NET_ADMIN`` (iptables/tc network faults); FUSE
  (``SYS_ADMIN`` and ``/dev/fuse``) only when the image has kibosh. Never ``--privileged``.

Then each node gets the java shim in front of GraalVM (``prepare_node_script``): ``java`` on
the SSH ``PATH`` (``/usr/local/bin``) and ``$JAVA_HOME/bin/java`` (``JAVA_HOME`` comes from
``/etc/environment`` in SSH sessions, and Kafka's ``kafka-run-class.sh`` prefers it) are the
shim, everything else in the Java home is GraalVM's own. ducktape's results stay inside the
driver; collect copies each test's part out through the container layer's checked extraction.
"""

from __future__ import annotations

import json
import posixpath
import shlex
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Callable

from metadata_pipeline.collect.instrumentation import KAFKA_MOUNT, SHIM, Instrumentation
from metadata_pipeline.collect import sshkeys
from metadata_pipeline.containers import (FUSE_CAPS, FUSE_DEVICE, NET_ADMIN, Container, ContainerFailed,
                                          ContainerSpec, Engine, Mount, Network)

__all__ = [
    "ClusterSpec",
    "LocalCluster",
    "node_names",
    "prepare_node_script",
    "DRIVER",
    "DRIVER_PYTHON",
    "WORK_DIR",
    "CLUSTER_FILE",
    "RESULTS_ROOT",
    "DUCKTAPE_CWD",
    "SHIM_JAVA_HOME",
    "SSH_KEY",
]

DRIVER = "ducker01"
DRIVER_PYTHON = "/opt/ducktape/bin/python"  # the image's ducktape venv
WORK_DIR = "/mnt/metadata-pipeline"  # on the driver only
CLUSTER_FILE = WORK_DIR + "/cluster.json"
RESULTS_ROOT = WORK_DIR + "/results"
DUCKTAPE_CWD = WORK_DIR + "/work"  # ducktape writes .ducktape/ here, not into the checkout
SHIM_JAVA_HOME = "/opt/metadata-pipeline/java-home"
SSH_DIR = "/root/.ssh"
SSH_KEY = SSH_DIR + "/id_ed25519"
LABEL_ROLE = "metadata-pipeline.role"


def node_names(count: int) -> tuple[str, ...]:
    """``ducker01`` .. ``duckerNN``, as ducker-ak names them."""
    return tuple(f"ducker{i:02d}" for i in range(1, count + 1))


@dataclass(frozen=True)
class ClusterSpec:
    """Everything about the cluster that is decided before anything starts."""

    run_id: str
    image: str
    nodes: int  # containers, the driver included
    kafka_dir: Path
    overrides_dir: Path
    overrides_mount: str
    memory: str | None = None  # per node, docker notation ("4g")
    fuse: bool = False  # the image has kibosh: give the nodes FUSE

    def __post_init__(self) -> None:
        if self.nodes < 2:
            raise ValueError("a cluster needs the driver and at least one test node (--nodes >= 2)")

    @property
    def hostnames(self) -> tuple[str, ...]:
        return node_names(self.nodes)

    @property
    def workers(self) -> tuple[str, ...]:
        return self.hostnames[1:]

    @property
    def network(self) -> str:
        return f"metadata-pipeline-{self.run_id}"

    def container_name(self, hostname: str) -> str:
        return f"metadata-pipeline-{self.run_id}-{hostname}"

    def mounts(self) -> tuple[Mount, ...]:
        return (Mount(self.kafka_dir, KAFKA_MOUNT, read_only=False),
                Mount(self.overrides_dir, self.overrides_mount, read_only=True))

    @property
    def capabilities(self) -> tuple[str, ...]:
        return (NET_ADMIN, *FUSE_CAPS) if self.fuse else (NET_ADMIN,)

    def container_specs(self) -> tuple[ContainerSpec, ...]:
        return tuple(
            ContainerSpec(image=self.image, name=self.container_name(host), hostname=host, network=self.network,
                          aliases=(host,), mounts=self.mounts(), memory=self.memory,
                          labels={LABEL_ROLE: "driver" if host == DRIVER else "node"},
                          cap_add=self.capabilities, devices=(FUSE_DEVICE,) if self.fuse else ())
            for host in self.hostnames)

    def cluster_json(self) -> dict[str, Any]:
        """ducktape's JsonCluster file: the test nodes, reached from the driver over SSH as root."""
        return {"nodes": [
            {"externally_routable_ip": host,
             "ssh_config": {"host": host, "hostname": host, "user": "root", "port": 22,
                            "identityfile": SSH_KEY, "password": None}}
            for host in self.workers]}

    def describe(self) -> str:
        memory = f", {self.memory} each" if self.memory else ""
        fuse = f" and {FUSE_DEVICE}" if self.fuse else ""
        return (f"{self.nodes} containers on network {self.network}{memory}: {DRIVER} (driver: runs ducktape) + "
                f"{', '.join(self.workers)} (test nodes, in {CLUSTER_FILE}); capabilities: engine defaults + "
                f"{', '.join(self.capabilities)}{fuse}; SSH key: generated for this run")


def prepare_node_script(instr: Instrumentation) -> list[str]:
    """The command that puts the java shim in front of GraalVM on a node (run as root)."""
    real_home = posixpath.dirname(posixpath.dirname(instr.real_java))
    script = r"""set -eu
shim=$1 real_home=$2 home=$3
[ -x "$shim" ] || { echo "no executable java shim at $shim" >&2; exit 1; }
rm -rf "$home"
mkdir -p "$home/bin"
for entry in "$real_home"/*; do [ "${entry##*/}" = bin ] || ln -s "$entry" "$home/"; done
for tool in "$real_home"/bin/*; do ln -s "$tool" "$home/bin/"; done
ln -sfn "$shim" "$home/bin/java"
ln -sfn "$shim" /usr/local/bin/java
if grep -q '^JAVA_HOME=' /etc/environment 2>/dev/null; then
    sed -i "s|^JAVA_HOME=.*|JAVA_HOME=$home|" /etc/environment
else
    echo "JAVA_HOME=$home" >> /etc/environment
fi
"""
    return ["sh", "-c", script, "prepare-node", instr.container_path(SHIM), real_home, SHIM_JAVA_HOME]


def _ssh_check(host: str) -> list[str]:
    # What an SSH session on the node runs as `java` and `$JAVA_HOME/bin/java`: both must be the shim.
    return ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", host,
            'readlink -f "$(command -v java)"; readlink -f "$JAVA_HOME/bin/java"']


class LocalCluster:
    """The running cluster; ``__exit__`` removes every container and the network."""

    def __init__(self, engine: Engine, spec: ClusterSpec, instr: Instrumentation,
                 say: Callable[[str], None] = lambda line: None, ready_timeout: float = 120) -> None:
        self.engine, self.spec, self.instr, self.say = engine, spec, instr, say
        self.ready_timeout = ready_timeout
        self._stack: ExitStack | None = None
        self.driver: Container | None = None
        self.nodes: list[Container] = []  # ducker01 (the driver) first

    def __enter__(self) -> "LocalCluster":
        stack = ExitStack()
        try:
            stack.enter_context(Network(self.engine, self.spec.network, self.spec.run_id))
            containers = [stack.enter_context(Container(self.engine, spec, self.spec.run_id))
                          for spec in self.spec.container_specs()]
            self.driver, self.nodes = containers[0], containers
            keys = sshkeys.files(sshkeys.generate(f"metadata-pipeline-run-{self.spec.run_id}"))
            for container in containers:
                container.put_files(SSH_DIR, keys)
                container.check(["chmod", "700", SSH_DIR])
                container.check(prepare_node_script(self.instr))
            self._check_ssh()
            self.driver.check(["mkdir", "-p", DUCKTAPE_CWD, RESULTS_ROOT])
            self.driver.check(["sh", "-c", f"cat > {shlex.quote(CLUSTER_FILE)}"
                               f" <<'EOF'\n{json.dumps(self.spec.cluster_json(), indent=2)}\nEOF\n"])
        except BaseException:
            stack.close()
            raise
        self._stack = stack
        return self

    def _check_ssh(self) -> None:
        assert self.driver is not None
        expected = posixpath.normpath(self.instr.container_path(SHIM))
        for host in self.spec.workers:
            self.driver.wait_until(["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", host, "true"],
                                   timeout=self.ready_timeout)
            seen = self.driver.check(_ssh_check(host)).split()
            if seen != [expected, expected]:
                raise ContainerFailed(f"{host}: SSH sessions run java {' and '.join(seen) or '(none)'}, "
                                      f"not the shim {expected}")

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        stack, self._stack, self.driver, self.nodes = self._stack, None, None, []
        if stack is not None:
            stack.__exit__(exc_type, exc, tb)
