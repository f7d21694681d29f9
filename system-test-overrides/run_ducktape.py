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
  METADATA_PIPELINE_TEST_TIMEOUT  seconds: a test whose setUp and test method take longer fails
                                (its teardown still runs, so its logs and agent output are copied)
  METADATA_PIPELINE_EVENTS      1: print one EVENT_PREFIX line (JSON) on stdout when a test starts
                                and when ducktape has finished it (its logs copied, its report.json
                                written), so that collect gathers each test's output at once
"""

import json
import multiprocessing
import os
import shlex
import signal
import sys

DEFAULT_AGENT_DIR = "/mnt/native-image-agent"
LOG_NAME = "native_image_agent"
EVENT_PREFIX = "@@metadata-pipeline "


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


class TestTimeout(Exception):
    """Raised in a test runner process when the test runs past METADATA_PIPELINE_TEST_TIMEOUT."""


def install_test_timeout(seconds):
    # ducktape has no per-test timeout (--test-runner-timeout aborts the whole run when the runner
    # hears nothing): an alarm in the runner process fails the test and lets teardown run.
    from ducktape.tests.runner_client import RunnerClient

    original_setup = RunnerClient.setup_test
    original_run = RunnerClient.run_test

    def expire(signum, frame):
        raise TestTimeout("the test ran longer than %d s (collect --test-timeout)" % seconds)

    def setup_test(self):
        signal.signal(signal.SIGALRM, expire)
        signal.alarm(seconds)
        try:
            return original_setup(self)
        except BaseException:
            signal.alarm(0)
            raise

    def run_test(self):
        try:
            return original_run(self)
        finally:
            signal.alarm(0)

    RunnerClient.setup_test = setup_test
    RunnerClient.run_test = run_test


def _event(kind, **fields):
    fields["event"] = kind
    sys.stdout.write(EVENT_PREFIX + json.dumps(fields, sort_keys=True) + "\n")
    sys.stdout.flush()


def install_events():
    from ducktape.tests.runner import TestRunner

    original_run_single = TestRunner._run_single_test
    original_finished = TestRunner._handle_finished

    def run_single_test(self, test_context):
        _event("started", test_id=test_context.test_id)
        return original_run_single(self, test_context)

    # After the original: the test's logs are copied and its report.json is written by then.
    def handle_finished(self, event):
        result = original_finished(self, event)
        done = event.get("result")
        if done is not None:
            _event("finished", test_id=done.test_id, status=str(done.test_status).upper(),
                   results_dir=done.results_dir, session_dir=self.session_context.results_dir)
        return result

    TestRunner._run_single_test = run_single_test
    TestRunner._handle_finished = handle_finished


def main():
    # Test runner processes must inherit the hooks: fork, whatever the Python's default is.
    multiprocessing.set_start_method("fork", force=True)
    install_log_hooks(os.environ.get("METADATA_PIPELINE_AGENT_DIR") or DEFAULT_AGENT_DIR)
    if os.environ.get("METADATA_PIPELINE_RUN_IGNORED") == "1":
        install_run_ignored()
    if os.environ.get("METADATA_PIPELINE_SELECTION"):
        install_selection(os.environ["METADATA_PIPELINE_SELECTION"])
    if os.environ.get("METADATA_PIPELINE_EVENTS") == "1":
        install_events()
    if os.environ.get("METADATA_PIPELINE_TEST_TIMEOUT"):
        install_test_timeout(int(os.environ["METADATA_PIPELINE_TEST_TIMEOUT"]))
    from ducktape.command_line.main import main as ducktape_main

    return ducktape_main()


if __name__ == "__main__":
    sys.exit(main())
