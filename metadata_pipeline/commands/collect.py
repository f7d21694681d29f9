"""``collect``: Kafka's system tests under the native-image agent — the plan and the dry run."""

from __future__ import annotations

import argparse
import sys

HELP = "run Kafka's system tests with the native-image agent (--plan, --dry-run)"
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

--plan prints the plan (text table with totals, or --format json with stable keys);
--dry-run prints the whole run: image, nodes, mounts, agent options, the ducktape command line
and where output lands. Exit 2 when --kafka-dir is no Kafka checkout or its tests fail to load.

examples:
  metadata-pipeline collect --kafka-dir ../kafka --plan
  metadata-pipeline collect --kafka-dir ../kafka tests/kafkatest/tests/core --plan --format json
  metadata-pipeline collect --kafka-dir ../kafka --shard 2/4 --timings report.json --dry-run
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


def register(sub: argparse._SubParsersAction) -> None:
    from metadata_pipeline.collect.instrumentation import OVERRIDES_SOURCE

    p = sub.add_parser("collect", help=HELP, description=DESCRIPTION,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("tests", nargs="*", metavar="TEST", help="ducktape test symbols, relative to --kafka-dir")
    p.add_argument("--kafka-dir", required=True, metavar="DIR", help="Kafka source checkout (with tests/kafkatest)")
    p.add_argument("--exclude", action="append", default=[], metavar="TEST", help="leave out these tests (repeatable)")
    p.add_argument("--include-ignored", action="store_true", help="also run tests marked @ignore")
    p.add_argument("--shard", type=_shard, metavar="I/N", help="run only the I-th of N balanced shards (1 <= I <= N)")
    p.add_argument("--timings", metavar="REPORT",
                   help="ducktape report.json of an earlier run: balance shards by run time")
    p.add_argument("--python", metavar="PATH", help="Python that loads the tests (default: this one)")
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--plan", action="store_true", help="print the test plan and exit")
    mode.add_argument("--dry-run", action="store_true", help="print everything the run would do and exit")
    p.add_argument("--format", choices=("text", "json"), default="text", help="--plan output format")
    agent = p.add_argument_group("agent")
    agent.add_argument("--instrument", action="append", default=[], metavar="MAIN_CLASS",
                       help="attach the agent to JVMs of this main class (repeatable; replaces the list in "
                            "system-test-overrides/instrumented-main-classes)")
    agent.add_argument("--access-filter", action="append", default=[], metavar="FILE",
                       help="agent access-filter-file (repeatable, later rules win)")
    agent.add_argument("--caller-filter", action="append", default=[], metavar="FILE",
                       help="agent caller-filter-file (repeatable)")
    agent.add_argument("--write-period", type=_seconds, default=10, metavar="SECONDS",
                       help="agent snapshot period, so a JVM killed with SIGKILL leaves its last snapshot "
                            "(0: write only at exit; default 10)")
    agent.add_argument("--write-initial-delay", type=_seconds, default=5, metavar="SECONDS",
                       help="first snapshot after this many seconds (default 5)")
    p.add_argument("-o", "--output", default="collected", metavar="DIR", help="where collected output goes")
    p.add_argument("--overrides", default=str(OVERRIDES_SOURCE), metavar="DIR",
                   help="system-test-overrides directory to stage for the nodes (default: this repository's)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from metadata_pipeline.collect import agent_options, dry_run, instrumentation
    from metadata_pipeline.collect.discovery import discover
    from metadata_pipeline.collect.plan import build_plan, render_json, render_text
    from metadata_pipeline.collect.shard import weights_from_report
    from metadata_pipeline.errors import InputError, UsageError

    if args.format != "text" and not args.plan:
        raise UsageError("--format applies to --plan")
    discovery = discover(args.kafka_dir, args.tests, args.exclude, python=args.python)
    weights = None
    if args.timings:
        weights = weights_from_report(_read_json(Path(args.timings)), [t.test_id for t in discovery.tests],
                                      source=args.timings)
    plan = build_plan(discovery, include_ignored=args.include_ignored, shard=args.shard, weights=weights,
                      timings=args.timings)
    if args.plan:
        sys.stdout.write(render_json(plan) if args.format == "json" else render_text(plan))
        return 0

    overrides = Path(args.overrides)
    periodic = args.write_period > 0
    options = agent_options.AgentOptions(
        write_period_secs=args.write_period if periodic else None,
        write_initial_delay_secs=args.write_initial_delay if periodic else None)
    instrumented = tuple(args.instrument) or instrumentation.read_instrumented(
        overrides / instrumentation.INSTRUMENTED_FILE)
    if not (overrides / instrumentation.SHIM).is_file():
        raise InputError(f"{overrides}: not a system-test-overrides directory (no {instrumentation.SHIM})")
    instr = instrumentation.resolve(options, instrumented=instrumented, access_filters=args.access_filter,
                                    caller_filters=args.caller_filter)
    sys.stdout.write(dry_run.render_dry_run(plan, instr, dry_run.ContainerLayout(), output=args.output,
                                            staged_overrides=str(Path(args.output) / "overrides")))
    return 0


def _read_json(path):
    import json

    from metadata_pipeline.errors import InputError

    try:
        return json.loads(path.read_text())
    except OSError as exc:
        raise InputError(f"{path}: {exc.strerror}") from None
    except ValueError as exc:
        raise InputError(f"{path}: not JSON ({exc})") from None
