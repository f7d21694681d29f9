"""``collect --cluster-file``: an existing ducktape cluster (VMs, machines) instead of containers.

ducktape runs on this machine against the nodes the cluster file lists (ducktape's JsonCluster
format). Before that, every node gets this run's staged overrides at the nodes' mount path and
the java shim in front of its Java (``cluster.prepare_node_script``), over ducktape's own SSH
(``RemoteAccount``), so the nodes are reached exactly as the tests will reach them.

What the nodes must already have (as for Kafka's own system tests on VMs): the Kafka checkout,
built, at ``/opt/kafka-dev``; GraalVM with the native-image agent at the real-java path of
``agent.env`` (``/opt/graalvm/bin/java`` by default); an SSH user that is root or may run
``sudo -n``, and may create the agent directory (``/mnt/native-image-agent``).
"""

from __future__ import annotations

import json
import logging
import posixpath
import shlex
import tarfile
import tempfile
from pathlib import Path
from typing import Any, Callable

from metadata_pipeline.collect.cluster import prepare_node_script
from metadata_pipeline.collect.instrumentation import Instrumentation
from metadata_pipeline.errors import InputError

__all__ = ["read_cluster_file", "install_on_nodes", "InvalidClusterFile"]


class InvalidClusterFile(InputError):
    """A --cluster-file that is not a ducktape JsonCluster file."""


def read_cluster_file(path: Path) -> list[dict[str, Any]]:
    """The ``ssh_config`` of every node, checked the way ducktape's JsonCluster reads them."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidClusterFile(f"{path}: {exc.strerror}") from None
    except ValueError as exc:
        raise InvalidClusterFile(f"{path}: not JSON ({exc})") from None
    nodes = doc.get("nodes") if isinstance(doc, dict) else None
    if not isinstance(nodes, list) or not nodes:
        raise InvalidClusterFile(
            f"{path}: expected {{\"nodes\": [...]}} with at least one node (ducktape's JsonCluster)")
    configs = []
    for i, node in enumerate(nodes):
        ssh = node.get("ssh_config") if isinstance(node, dict) else None
        if not isinstance(ssh, dict) or not isinstance(ssh.get("hostname") or ssh.get("host"), str):
            raise InvalidClusterFile(f"{path}: nodes[{i}]: needs an ssh_config with a host name")
        configs.append(ssh)
    return configs


def install_on_nodes(cluster_file: Path, staged: Path, instr: Instrumentation,
                     say: Callable[[str], None] = lambda line: None) -> list[str]:
    """Copy the staged overrides to every node and put the shim in front of its java.

    The overrides travel as one tar file (SFTP alone would drop the shim's execute bit).
    """
    from ducktape.cluster.remoteaccount import RemoteAccount, RemoteAccountSSHConfig

    logger = logging.getLogger("metadata_pipeline.collect.remote")
    hosts = []
    with tempfile.TemporaryDirectory(prefix="metadata-pipeline-overrides-") as tmp:
        bundle = Path(tmp) / "overrides.tar"
        with tarfile.open(bundle, "w") as tar:
            tar.add(str(staged), arcname=posixpath.basename(instr.mount))
        for ssh in read_cluster_file(cluster_file):
            config = RemoteAccountSSHConfig(**{k: v for k, v in ssh.items() if isinstance(k, str)})
            account = RemoteAccount(config, logger=logger)
            host = config.hostname
            sudo = "" if config.user in (None, "root") else "sudo -n "
            mount, parent = shlex.quote(instr.mount), shlex.quote(posixpath.dirname(instr.mount))
            say(f"installing the overrides and the java shim on {host}")
            step = "connecting"
            try:
                step = "making a temporary directory"
                remote_tmp = _text(account.ssh_output("mktemp -d")).strip()
                step = "copying the overrides"
                account.copy_to(str(bundle), remote_tmp)
                step = f"unpacking the overrides at {instr.mount}"
                account.ssh(f"{sudo}rm -rf -- {mount} && {sudo}mkdir -p -- {parent} && "
                            f"{sudo}tar -xf {shlex.quote(remote_tmp)}/overrides.tar -C {parent} --no-same-owner && "
                            f"rm -rf -- {shlex.quote(remote_tmp)}")
                step = "installing the java shim"
                account.ssh(sudo + shlex.join(prepare_node_script(instr)))
            except Exception as exc:  # paramiko's and ducktape's errors: one line naming node and step
                raise InputError(f"{cluster_file}: node {host}: {step} failed: {_reason(exc)}") from exc
            finally:
                account.close()
            hosts.append(host)
    return hosts


def _reason(exc: BaseException) -> str:
    message = getattr(exc, "msg", None)  # ducktape's RemoteCommandError: the command's stderr
    if message:
        lines = _text(message).strip().splitlines()
        return lines[-1] if lines else type(exc).__name__
    return " ".join(str(exc).split())[:300] or type(exc).__name__


def _text(output: Any) -> str:
    return output.decode() if isinstance(output, bytes) else str(output)
