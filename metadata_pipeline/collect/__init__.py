"""``collect``: Kafka's system tests under the native-image agent.

- ``discovery`` finds the tests with ducktape's own loader (in a subprocess, see there);
- ``plan`` and ``shard`` decide which of them a run executes (pure);
- ``agent_options`` renders the agent's option string, in one place (pure);
- ``instrumentation`` stages ``system-test-overrides/`` for the nodes (the ``java`` shim, the
  ducktape wrapper that collects the agent output per test and node) and builds the ducktape
  command line; ``dry_run`` describes a whole run without starting anything.
"""
