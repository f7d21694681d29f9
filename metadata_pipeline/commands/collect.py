"""``collect``: Kafka's system tests under the native-image agent — plan, dry run, and the run."""

from __future__ import annotations

import argparse
import sys

HELP = "run Kafka's system tests with the native-image agent, keeping its output per test"
DESCRIPTION = """\
Run Kafka's own ducktape system tests from the checkout at --kafka-dir with the GraalVM
native-image agent attached to the JVMs that matter for the broker binary, keeping the agent's
output per test, per node, per JVM.

TEST... selects tests as ducktape does, relative to the Kafka checkout: a file, a directory or
a glob, FILE::Class or FILE::Class.method (default: tests/kafkatest/tests). Tests are found by
ducktape's own loader, run in a separate Python with the checkout's tests/ first on PYTHONPATH
(--python: use the Kafka tests' own environment, e.g. one with Kafka's pinned ducktape).
Tests marked @ignore are listed but not run unless --include-ignored.

--shard I/N keeps the I-th of N disjoint, balanced parts (by run time from --timings, a
ducktape report.json of an earlier run, else by count); all N shards together run the plan
exactly once, and their outputs merge like one run's.

--plan prints the plan (text table with totals, or --report-format json with stable keys);
--dry-run prints the whole run: image, nodes, mounts, agent options, the ducktape command line
and where output lands. Exit 2 when --kafka-dir is no Kafka checkout or its tests fail to load.

Without --plan/--dry-run the tests run: the node image (docker/graalvm-jit; --graalvm-image and
--base-image choose its sources) is built with the Docker engine at DOCKER_HOST or the default
socket, --nodes containers ducker01..NN start on a network of their own (ducker01 runs ducktape,
the others are the test nodes, reached over SSH with a key pair made for this run), the
checkout is mounted read-write (as ducker-ak mounts it) and the staged overrides read-only,
and ducktape runs the planned tests (--parallel at once, --test-timeout each). Nodes get the
engine's default capabilities plus NET_ADMIN (and FUSE only for an image with kibosh).
--node-image IMAGE builds the nodes on an existing ducktape node image (Kafka's own has the old
releases under /opt/kafka-<version>, kibosh and ping/iperf that many tests need); the plan
probes the image and leaves out, with one line and a count, the tests it cannot host.
After the tests, the native binary's entry point runs under the agent as Kafka's
docker/native/launch runs it (kafka.docker.KafkaDockerWrapper setup, then start, with a
console produce and consume), kept as the test id
metadata_pipeline.wrapper_entry.KafkaDockerWrapper.setup_then_start (--no-wrapper-entry: skip). As soon as ducktape has finished a test, the agent output of every instrumented JVM on
every node lands in OUTPUT/<test id>/<node>/<main class>-<pid>-<token>/ with a manifest.json
(status, run time, nodes, each JVM's main class, whether the agent's final write happened or
only a periodic snapshot survived a SIGKILL; the stale .lock of such a JVM is recorded there and
removed from the copy, so merge reads the directory as it is), and the services' own logs
(capped per file) in OUTPUT/<test id>/<node>/service-logs/. Failed tests keep their output;
the summary names a failed test's first error line from those logs.
Ctrl-C removes the containers and keeps every finished test; the same command again runs only
what has no output yet (--rerun-failed: also failed tests; --force: all). The end is a summary
and the merge command to run next. Exit 0 when every planned test passed, 1 when some failed or
have no output, 2 on errors (no Docker engine, bad input).

--cluster-file FILE runs ducktape on this machine against an existing ducktape cluster (VMs) whose
nodes already hold the built checkout at /opt/kafka-dev and GraalVM; the overrides are copied
to them over SSH. For a CI matrix, give each job its own --shard I/N and -o; merge all outputs
together afterwards (merge SHARD1 SHARD2 ... -o OUT): the merge is associative, so that equals
one run over all tests.

Default agent access filters, wherever collect runs: those of a metadata-pipeline.toml found
from the working directory up (filters = [...], the same files merge --filter reads), else
Kafka's default filter that ships inside the package (metadata_pipeline/collect/defaults/
kafka.json, explained in system-test-overrides/filters/README.md). --no-config turns both off
(no default filter); --access-filter adds more.

The checkout must be built: before any container starts, collect checks for the jars
bin/kafka-run-class.sh puts on its class path (core/build/libs + core/build/dependant-libs-*,
or libs/ as in a release) and stops with exit 2 naming ./gradlew systemTestLibs; --build runs
that first (the checkout's own Gradle wrapper, as ducker-ak does). --plan and --dry-run report
the check. The checkout is mounted read-write at /opt/kafka-dev, as ducker-ak mounts it: Kafka's
scripts write logs/ there (kafka-run-class.sh's LOG_DIR, the GC log of -loggc).

ducktape options pass through: --max-parallel (= --parallel), --globals, --parameters, and
everything after `--` goes to ducktape unchanged.

examples:
  metadata-pipeline collect --kafka-dir ../kafka --plan
  metadata-pipeline collect --kafka-dir ../kafka tests/kafkatest/tests/core --plan --report-format json
  metadata-pipeline collect --kafka-dir ../kafka --shard 2/4 --timings report.json --dry-run
  metadata-pipeline collect --kafka-dir ../kafka tests/kafkatest/tests/core -o collected --parallel 2
  metadata-pipeline collect --kafka-dir ../kafka -o shard-2 --shard 2/4 --nodes 8 --parallel 2
"""


def _shard(text: str):
    from metadata_pipeline.collect.shard import InvalidShard, Shard

    try:
        return Shard.parse(text)
    except InvalidShard as exc:
        raise argparse.ArgumentTypeError(exc.message) from None


def _seconds(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of seconds") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative")
    return value


def _at_least(minimum: int, why: str = ""):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} must be at least {minimum}{why}")
        return value
    return parse


_count = _at_least(1)
_nodes = _at_least(2, " (ducker01 runs ducktape; the tests need at least one more node)")


def register(sub: argparse._SubParsersAction) -> None:
    from metadata_pipeline.collect.instrumentation import OVERRIDES_SOURCE
    from metadata_pipeline.commands.options import add_report_format

    p = sub.add_parser("collect", help=HELP, description=DESCRIPTION,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("tests", nargs="*", metavar="TEST", help="ducktape test symbols, relative to --kafka-dir")
    p.add_argument("--kafka-dir", required=True, metavar="DIR", help="Kafka source checkout (with tests/kafkatest)")
    p.add_argument("--exclude", action="append", default=[], metavar="TEST", help="leave out these tests (repeatable)")
    p.add_argument("--include-ignored", action="store_true", help="also run tests marked @ignore")
    p.add_argument("--tests-from", metavar="FILE",
                   help="run only the test ids FILE lists, one a line, # comments (what coverage --select writes)")
    p.add_argument("--shard", type=_shard, metavar="I/N", help="run only the I-th of N balanced shards (1 <= I <= N)")
    p.add_argument("--timings", metavar="REPORT",
                   help="ducktape report.json of an earlier run: balance shards by run time")
    p.add_argument("--python", metavar="PATH",
                   help="Python that loads the tests (default: this one); with --cluster-file it also runs ducktape")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--plan", action="store_true", help="print the test plan and exit")
    mode.add_argument("--dry-run", action="store_true", help="print everything the run would do and exit")
    add_report_format(p, choices=("text", "json"), dest="format", old=["--format"], help="--plan output format")
    agent = p.add_argument_group("agent")
    agent.add_argument("--instrument", action="append", default=[], metavar="MAIN_CLASS",
                       help="attach the agent to JVMs of this main class (repeatable; replaces the list in "
                            "system-test-overrides/instrumented-main-classes)")
    agent.add_argument("--access-filter", action="append", default=[], metavar="FILE",
                       help="agent access-filter-file (repeatable, later rules win)")
    agent.add_argument("--caller-filter", action="append", default=[], metavar="FILE",
                       help="agent caller-filter-file (repeatable)")
    from metadata_pipeline.collect.agent_options import AgentOptions  # pure and light: the one set of defaults

    agent.add_argument("--write-period", type=_seconds, default=AgentOptions.write_period_secs, metavar="SECONDS",
                       help="agent snapshot period, so a JVM killed with SIGKILL a few seconds after start still "
                            "leaves its last snapshot (0: write only at exit; default %(default)s)")
    agent.add_argument("--write-initial-delay", type=_seconds, default=AgentOptions.write_initial_delay_secs,
                       metavar="SECONDS", help="first snapshot this many seconds after JVM start (default %(default)s)")
    agent.add_argument("--no-config", action="store_true",
                       help="ignore metadata-pipeline.toml (its filters are otherwise the default access filters)")
    p.add_argument("-o", "--output", default="collected", metavar="DIR",
                   help="where collected output goes (default: collected); a second run resumes it")
    p.add_argument("--overrides", default=str(OVERRIDES_SOURCE), metavar="DIR",
                   help="system-test-overrides directory to stage for the nodes (default: this repository's)")
    run_group = p.add_argument_group("running")
    run_group.add_argument("--nodes", type=_nodes, metavar="N",
                           help="containers, the driver ducker01 included "
                                "(default: 1 + the most nodes a test to run needs)")
    run_group.add_argument("--parallel", type=_count, metavar="N", help="tests run at once (ducktape --max-parallel)")
    run_group.add_argument("--test-timeout", type=_count, metavar="SECONDS",
                           help="fail a test whose setUp and test method run longer (its teardown still runs "
                                "and its output is kept)")
    run_group.add_argument("--rerun-failed", action="store_true",
                           help="also run again tests whose output says they failed")
    run_group.add_argument("--force", action="store_true", help="run every planned test again, even those collected")
    run_group.add_argument("--cluster-file", metavar="FILE",
                           help="run ducktape here against this existing ducktape cluster instead of containers")
    run_group.add_argument("--graalvm-image", default=None, metavar="IMAGE",
                           help="image GraalVM (with its native-image agent) is copied from "
                                "(default: ghcr.io/graalvm/native-image-community:21)")
    run_group.add_argument("--graalvm-home", default=None, metavar="PATH",
                           help="GraalVM's directory in --graalvm-image "
                                "(default: /usr/lib64/graalvm/graalvm-community-java21)")
    run_group.add_argument("--node-image", default=None, metavar="IMAGE",
                           help="build the nodes on this existing ducktape node image (e.g. Kafka's own, "
                                "tests/docker/Dockerfile FROM a GraalVM JDK, with its old releases, kibosh, "
                                "ping/iperf), adding only GraalVM, the driver's ducktape and SSH set-up; "
                                "--plan probes it for what the tests need")
    run_group.add_argument("--base-image", default=None, metavar="IMAGE",
                           help="Debian/Ubuntu image the nodes are built on (default: debian:bookworm-slim)")
    run_group.add_argument("--ducktape-version", metavar="VERSION",
                           help="ducktape in the driver (default: the version the checkout's tests/setup.py pins, "
                                "as Kafka's own driver runs; else 0.17.0)")
    run_group.add_argument("--node-memory", metavar="SIZE", help="memory limit per node container, e.g. 4g")
    run_group.add_argument("-v", "--verbose", action="store_true",
                           help="also show ducktape's and the image build's output")
    run_group.add_argument("--max-parallel", type=_count, dest="parallel", metavar="N", help=argparse.SUPPRESS)
    run_group.add_argument("--no-wrapper-entry", dest="wrapper_entry", action="store_false",
                           help="skip the step that runs kafka.docker.KafkaDockerWrapper setup + start under the "
                                "agent (kept as the test id " + _WRAPPER_ID + ")")
    run_group.add_argument("--build", action="store_true",
                           help="run ./gradlew systemTestLibs in the checkout first (as ducker-ak does)")
    ducktape = p.add_argument_group("ducktape pass-through (anything after -- goes to ducktape too)")
    ducktape.add_argument("--globals", metavar="JSON_OR_FILE", help="ducktape --globals")
    ducktape.add_argument("--parameters", metavar="JSON", help="ducktape --parameters (with one test symbol)")
    p.set_defaults(run=run, ducktape_extra=[])
    _split_at_double_dash(p)


_WRAPPER_ID = "metadata_pipeline.wrapper_entry.KafkaDockerWrapper.setup_then_start"


def _split_at_double_dash(parser: argparse.ArgumentParser) -> None:
    """Everything after ``--`` is ducktape's, not a TEST: keep it apart in ``ducktape_extra``."""
    parse = parser.parse_known_args

    def parse_known_args(args=None, namespace=None):  # type: ignore[no-untyped-def]
        args = list(sys.argv[1:] if args is None else args)
        extra: list[str] = []
        if "--" in args:
            at = args.index("--")
            args, extra = args[:at], args[at + 1:]
        namespace, rest = parse(args, namespace)
        namespace.ducktape_extra = extra
        return namespace, rest

    parser.parse_known_args = parse_known_args  # type: ignore[method-assign]


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from metadata_pipeline.collect import agent_options, dry_run, instrumentation
    from metadata_pipeline.collect.discovery import discover
    from metadata_pipeline.collect.plan import build_plan
    from metadata_pipeline.collect.shard import weights_from_report
    from metadata_pipeline.errors import InputError, UsageError

    if args.format != "text" and not args.plan:
        raise UsageError("--report-format applies to --plan")
    if args.node_image and args.base_image:
        raise UsageError("--node-image is the base of the nodes; --base-image is for docker/graalvm-jit's own recipe")
    if args.cluster_file and (args.graalvm_image or args.base_image or args.graalvm_home or args.node_memory
                              or args.ducktape_version or args.node_image):
        raise UsageError("--graalvm-image, --graalvm-home, --base-image, --ducktape-version and --node-memory build "
                         "local nodes; --cluster-file nodes bring their own")
    if args.cluster_file and args.nodes:
        raise UsageError("--nodes starts local containers; --cluster-file lists the nodes")
    from metadata_pipeline.collect.checkout import build_checkout, check_built

    if args.build and (args.plan or args.dry_run):
        raise UsageError("--build runs Gradle; --plan and --dry-run change nothing")
    if args.build and not args.cluster_file:
        build_checkout(args.kafka_dir, output=lambda line: print(line, file=sys.stderr) if args.verbose else None)
    checkout = None if args.cluster_file else check_built(args.kafka_dir)
    if args.tests_from:
        from metadata_pipeline.collect.selection import restrict, symbols_for

        args.tests = args.tests or symbols_for(args.kafka_dir, Path(args.tests_from))
    discovery = discover(args.kafka_dir, args.tests, args.exclude, python=args.python)
    if args.tests_from:
        discovery = restrict(discovery, Path(args.tests_from), args.include_ignored)
    facts, unhostable = _hosting(args, discovery)
    if unhostable:  # never run what the image cannot host (they would fail after their timeouts)
        from dataclasses import replace

        discovery = replace(discovery, tests=tuple(t for t in discovery.tests if t.test_id not in unhostable))
    weights = None
    if args.timings:
        weights = weights_from_report(_read_json(Path(args.timings)), [t.test_id for t in discovery.tests],
                                      source=args.timings)
    plan = build_plan(discovery, include_ignored=args.include_ignored, shard=args.shard, weights=weights,
                      timings=args.timings)
    if args.plan:
        sys.stdout.write(_with_checkout(plan, checkout, args.format, facts, unhostable))
        return 0
    if unhostable:
        from metadata_pipeline.collect.hosting import summary_line

        print(f"collect: {summary_line(unhostable, facts)}", file=sys.stderr)
    if checkout is not None and not checkout.built:  # before any container starts
        from metadata_pipeline.collect.checkout import CheckoutNotBuilt

        raise CheckoutNotBuilt(checkout.describe())

    overrides = Path(args.overrides)
    periodic = args.write_period > 0
    options = agent_options.AgentOptions(
        write_period_secs=args.write_period if periodic else None,
        write_initial_delay_secs=args.write_initial_delay if periodic else None)
    instrumented = tuple(args.instrument) or instrumentation.read_instrumented(
        overrides / instrumentation.INSTRUMENTED_FILE)
    if not (overrides / instrumentation.SHIM).is_file():
        raise InputError(f"{overrides}: not a system-test-overrides directory (no {instrumentation.SHIM})")
    instr = instrumentation.resolve(options, instrumented=instrumented,
                                    access_filters=[*_settings_filters(args), *args.access_filter],
                                    caller_filters=args.caller_filter)
    opts = _run_options(args, overrides, fuse=bool(facts and facts.kibosh))
    if args.dry_run:
        text = _dry_run(plan, instr, opts)
        sys.stdout.write(text if checkout is None else f"checkout         {checkout.describe()}\n" + text)
        return 0

    from metadata_pipeline.collect.progress import make_progress
    from metadata_pipeline.collect.run import run_collect

    return run_collect(plan, instr, opts, make_progress(sys.stderr, verbose=args.verbose))


def _hosting(args: argparse.Namespace, discovery):
    """What the node image has, and the tests to run it cannot host (test id -> reason)."""
    if args.cluster_file:
        return None, {}
    from metadata_pipeline.collect import hosting

    if args.node_image:
        from metadata_pipeline.containers import Engine, cleanup_leftovers, new_run_id

        engine, run_id = Engine.connect(), new_run_id()
        try:
            facts = hosting.parse_probe(args.node_image, engine.probe(args.node_image, hosting.PROBE_SCRIPT, run_id))
        finally:
            cleanup_leftovers(engine, run_id)
    else:
        facts = hosting.DEFAULT_IMAGE_FACTS
    runnable = [t for t in discovery.tests if args.include_ignored or not t.ignored]
    return facts, hosting.split(runnable, facts)[1]


def _with_checkout(plan, checkout, fmt: str, facts=None, unhostable=None) -> str:
    """The plan, whether the checkout is built (the check a run makes first), and what the image cannot host.

    JSON adds ``checkout`` ({"built", "broker_jars", "dependency_dirs", "scala_version", "message"}),
    ``node_image`` (what the image has) and ``unhostable`` (test id -> reason, left out of the plan).
    """
    import json

    from metadata_pipeline.collect.hosting import summary_line
    from metadata_pipeline.collect.plan import plan_json, render_text

    unhostable = unhostable or {}
    if fmt == "json":
        doc = plan_json(plan)
        if checkout is not None:
            doc["checkout"] = checkout.as_json()
        if facts is not None:
            doc["node_image"] = facts.describe()
            doc["unhostable"] = dict(sorted(unhostable.items()))
        return json.dumps(doc, indent=2, sort_keys=True) + "\n"
    text = render_text(plan)
    if facts is not None:
        text += f"node image: {facts.describe()}\n"
        text += "".join(f"  cannot host  {test_id}: {why}\n" for test_id, why in sorted(unhostable.items()))
        if unhostable:
            text += summary_line(unhostable, facts) + "\n"
    return text if checkout is None else text + f"checkout: {checkout.describe()}\n"


def _settings_filters(args: argparse.Namespace) -> list[str]:
    """The agent's default access filters: metadata-pipeline.toml's (as merge's), else Kafka's packaged one."""
    if args.no_config:
        return []
    from metadata_pipeline.collect.instrumentation import PACKAGED_FILTER
    from metadata_pipeline.files.settings import load_settings

    settings = load_settings()
    if settings.source is None:  # run outside any repository that configures it
        return [str(PACKAGED_FILTER)]
    return [str(path) for path in settings.filters]


def _run_options(args: argparse.Namespace, overrides, fuse: bool = False):
    from pathlib import Path

    from metadata_pipeline.collect.image import NodeImage
    from metadata_pipeline.collect.run import RunOptions

    from metadata_pipeline.collect.checkout import driver_requirements, pinned_ducktape

    ducktape = args.ducktape_version or pinned_ducktape(args.kafka_dir)
    image = NodeImage(**{k: v for k, v in (("base_image", args.base_image), ("graalvm_image", args.graalvm_image),
                                           ("graalvm_home", args.graalvm_home), ("ducktape_version", ducktape),
                                           ("node_image", args.node_image),
                                           ("driver_requirements", driver_requirements(args.kafka_dir))) if v})
    return RunOptions(output=Path(args.output), overrides_source=overrides, nodes=args.nodes, parallel=args.parallel,
                      test_timeout=args.test_timeout, rerun_failed=args.rerun_failed, force=args.force,
                      cluster_file=Path(args.cluster_file) if args.cluster_file else None, image=image,
                      memory=args.node_memory, python=args.python, ducktape_args=_ducktape_args(args),
                      wrapper_entry=args.wrapper_entry, fuse=fuse)


def _ducktape_args(args: argparse.Namespace) -> tuple[str, ...]:
    """--globals, --parameters and what follows ``--``, as ducktape gets them.

    A --globals file is read here and passed as its JSON text: the driver node cannot see
    this machine's files.
    """
    import json
    from pathlib import Path

    from metadata_pipeline.errors import InputError

    out: list[str] = []
    if args.globals is not None:
        text = args.globals
        if not text.lstrip().startswith(("{", "[")):
            try:
                text = Path(text).read_text(encoding="utf-8")
            except OSError as exc:
                raise InputError(f"{args.globals}: {exc.strerror}") from None
        try:
            if not isinstance(json.loads(text), dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            raise InputError(f"{args.globals}: --globals: not a JSON object ({exc})") from None
        out += ["--globals", json.dumps(json.loads(text), sort_keys=True)]
    if args.parameters is not None:
        try:
            json.loads(args.parameters)
        except ValueError as exc:
            raise InputError(f"--parameters: not JSON ({exc})") from None
        out += ["--parameters", args.parameters]
    return (*out, *args.ducktape_extra)


def _dry_run(plan, instr, opts) -> str:
    from pathlib import Path

    from metadata_pipeline.collect import dry_run
    from metadata_pipeline.collect.cluster import CLUSTER_FILE, DRIVER, DRIVER_PYTHON, RESULTS_ROOT, ClusterSpec
    from metadata_pipeline.collect.layout import OutputDir
    from metadata_pipeline.collect.remote import read_cluster_file
    from metadata_pipeline.collect.resume import decide
    from metadata_pipeline.collect.run import default_nodes, planned_call, planned_ids
    from metadata_pipeline.collect.wrapper_entry import WRAPPER_ENTRY_ID, WRAPPER_MAIN

    out = OutputDir(opts.output)
    manifests = out.manifests()  # read only: the dry run writes nothing
    decision = decide(planned_ids(plan, opts), {t: m.status for t, m in manifests.items()},
                      rerun_failed=opts.rerun_failed, force=opts.force)
    wrapper = (f"{WRAPPER_MAIN} setup, then start, on ducker02 after the tests (as docker/native/launch runs it), "
               f"a console produce and consume against it, SIGTERM; kept as {WRAPPER_ENTRY_ID} "
               "(--no-wrapper-entry skips it)") if WRAPPER_ENTRY_ID in decision.run else ""
    run_dir = str(out.run_dir("<run id>"))
    if opts.cluster_file is None:
        nodes = opts.nodes or default_nodes(plan, decision.run)
        spec = ClusterSpec(run_id="<run id>", image=opts.image.tag, nodes=nodes,
                           kafka_dir=Path(plan.discovery.kafka_dir), overrides_dir=Path(run_dir) / "overrides",
                           overrides_mount=instr.mount, memory=opts.memory, fuse=opts.fuse)
        layout = dry_run.ContainerLayout(image=opts.image.describe(), nodes=spec.describe(), cluster_file=CLUSTER_FILE,
                                         results_root=RESULTS_ROOT, python=DRIVER_PYTHON, max_parallel=opts.parallel,
                                         driver=f"in the driver node {DRIVER}", wrapper_entry=wrapper)
    else:
        hosts = [ssh.get("hostname") or ssh.get("host") for ssh in read_cluster_file(opts.cluster_file)]
        layout = dry_run.ContainerLayout(image="none: the nodes of --cluster-file bring GraalVM",
                                         nodes=f"{len(hosts)} from {opts.cluster_file}: {', '.join(hosts)}",
                                         cluster_file=str(opts.cluster_file), results_root=f"{run_dir}/results",
                                         max_parallel=opts.parallel, mounts=False, driver="on this machine")
    call = planned_call(plan, instr, opts, [t for t in decision.run if t != WRAPPER_ENTRY_ID], run_dir)
    return dry_run.render_dry_run(plan, instr, layout, output=str(opts.output), staged_overrides=f"{run_dir}/overrides",
                                  call=call, decision=decision)


def _read_json(path):
    import json

    from metadata_pipeline.errors import InputError

    try:
        return json.loads(path.read_text())
    except OSError as exc:
        raise InputError(f"{path}: {exc.strerror}") from None
    except ValueError as exc:
        raise InputError(f"{path}: not JSON ({exc})") from None
