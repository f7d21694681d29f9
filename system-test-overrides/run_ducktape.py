#!/usr/bin/env python3
"""ducktape, with the native-image agent's output collected per test and per node by ducktape itself.

Usage: the same arguments as ``ducktape``. Runs inside the driver node under whatever Python
and ducktape it has (Kafka pins 0.12.0, this project uses 0.17.0; both work), so it imports
nothing from metadata_pipeline. See README.md beside it.

ducktape's teardown per test is: test teardown, stop all services, copy every service's
``logs`` entries from each of its nodes into ``<test results>/<service id>/<hostname>/``,
clean all services. The hooks below use exactly that:

- before the copy, the agent directory becomes one more log entry (collect_default True) of
  the services, so ducktape copies it with the other logs. Services can share a node (Kafka's
  Trogdor service runs its agents on the broker nodes), so the entry goes only to services
  owning a node that no earlier service covers; a service owning both kinds still copies the
  shared node twice, as byte-identical copies of the same uniquely named process directories.
- after the services are cleaned, the agent directory is removed from every node, so the
  next test starts empty. Not in ``clean_node``: ``Service.start`` calls that before starting,
  which would delete what JVMs started earlier in the same test wrote.
- when a service is given nodes, their agent directory is removed too, so leftovers of an
  interrupted earlier session are never attributed to this test.

Settings (environment):
  METADATA_PIPELINE_AGENT_DIR   the agent output root on the nodes (/mnt/native-image-agent)
  METADATA_PIPELINE_RUN_IGNORED 1: run tests marked @ignore as well
  METADATA_PIPELINE_SELECTION   a JSON file listing test ids: run exactly those (a shard)
"""

import json
import multiprocessing
import os
import shlex
import sys

DEFAULT_AGENT_DIR = "/mnt/native-image-agent"
LOG_NAME = "native_image_agent"


def _node_key(node):
    return node.account.hostname


def _remove_agent_dir(node, agent_dir, logger):
    try:
        node.account.ssh("rm -rf -- " + shlex.quote(agent_dir), allow_fail=True)
    except Exception as exc:  # an unreachable node must not abort ducktape's teardown
        logger.warning("could not remove %s on %s: %s", agent_dir, _node_key(node), exc)


def install_log_hooks(agent_dir):
    from ducktape.services.service import Service
    from ducktape.services.service_registry import ServiceRegistry
    from ducktape.tests.test import Test

    original_copy = Test.copy_service_logs
    original_clean_all = ServiceRegistry.clean_all
    original_allocate = Service.allocate_nodes

    def copy_service_logs(self, test_status):
        covered = set()
        for service in self.test_context.services:
            fresh = [n for n in (getattr(service, "nodes", None) or []) if _node_key(n) not in covered]
            if not fresh:
                continue
            for node in fresh:
                covered.add(_node_key(node))
                # An empty directory copies quietly; a missing one makes ducktape warn.
                node.account.ssh("mkdir -p -- " + shlex.quote(agent_dir), allow_fail=True)
            logs = dict(getattr(service, "logs", None) or {})  # never touch the class's dict
            logs[LOG_NAME] = {"path": agent_dir, "collect_default": True}
            service.logs = logs
        return original_copy(self, test_status)

    def clean_all(self):
        try:
            return original_clean_all(self)
        finally:
            seen = set()
            for service in self:
                for node in getattr(service, "nodes", None) or []:
                    if _node_key(node) not in seen:
                        seen.add(_node_key(node))
                        _remove_agent_dir(node, agent_dir, service.logger)

    def allocate_nodes(self):
        result = original_allocate(self)
        for node in self.nodes:
            _remove_agent_dir(node, agent_dir, self.logger)
        return result

    Test.copy_service_logs = copy_service_logs
    ServiceRegistry.clean_all = clean_all
    Service.allocate_nodes = allocate_nodes


def install_run_ignored():
    from ducktape.mark._mark import Ignore

    def apply(self, seed_context, context_list):
        return context_list

    Ignore.apply = apply  # IgnoreAll inherits it


def install_selection(path):
    from ducktape.tests.loader import LoaderException, TestLoader

    with open(path) as f:
        wanted = json.load(f)
    if not isinstance(wanted, list) or not all(isinstance(t, str) for t in wanted):
        raise SystemExit("%s: expected a JSON list of test ids" % path)
    wanted = set(wanted)
    original_load = TestLoader.load

    # Only the driver's load() is filtered; the per-test runner processes use discover().
    def load(self, symbols, excluded_test_symbols=None):
        contexts = original_load(self, symbols, excluded_test_symbols)
        kept = [c for c in contexts if c.test_id in wanted]
        missing = wanted - {c.test_id for c in kept}
        if missing:
            raise LoaderException("%d selected test(s) not found, e.g. %s" % (len(missing), sorted(missing)[0]))
        return kept

    TestLoader.load = load


def main():
    # Test runner processes must inherit the hooks: fork, whatever the Python's default is.
    multiprocessing.set_start_method("fork", force=True)
    install_log_hooks(os.environ.get("METADATA_PIPELINE_AGENT_DIR") or DEFAULT_AGENT_DIR)
    if os.environ.get("METADATA_PIPELINE_RUN_IGNORED") == "1":
        install_run_ignored()
    if os.environ.get("METADATA_PIPELINE_SELECTION"):
        install_selection(os.environ["METADATA_PIPELINE_SELECTION"])
    from ducktape.command_line.main import main as ducktape_main

    return ducktape_main()


if __name__ == "__main__":
    sys.exit(main())
