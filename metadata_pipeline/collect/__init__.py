"""``collect``: Kafka's system tests under the native-image agent.

Planning (pure, no Docker):

- ``discovery`` finds the tests with ducktape's own loader (in a subprocess, see there);
- ``plan`` and ``shard`` decide which of them a run executes;
- ``agent_options`` renders the agent's option string, in one place;
- ``instrumentation`` stages ``system-test-overrides/`` for the nodes (the ``java`` shim, the
  ducktape wrapper that collects the agent output per test and node) and builds the ducktape
  command line; ``dry_run`` describes a whole run without starting anything.

Running (``run`` ties these together):

- ``image`` builds the node image (``docker/graalvm-jit``) and ``cluster`` starts the nodes,
  both through the shared container layer ``metadata_pipeline.containers``; ``remote`` prepares
  the nodes of an existing cluster (``--cluster-file``) instead;
- ``driver`` runs ducktape (in the driver container, or here) and fetches each finished test's
  results through the container layer's checked tar extraction;
- ``results`` turns them into the test's directory under the output, ``manifest`` is what it
  records, ``layout`` the output directory itself, ``resume`` which tests a re-run executes;
- ``progress`` shows the run, ``summary`` ends it with the merge command to run next.
"""
