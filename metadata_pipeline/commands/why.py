"""``why``: which tests, nodes and processes produced one item of the metadata."""

from __future__ import annotations

import argparse
import sys

HELP = "which tests, nodes and processes produced an entry (a type, Type#member, a resource)"
DESCRIPTION = """\
Say where an item of the metadata came from: every test of COLLECTED... (collect outputs, with
their manifests) whose processes wrote it, with the node and the process (main class).

ITEM is a type in either spelling (`[B` or `byte[]`, `[Ljava.lang.String;` or
`java.lang.String[]`), a member `Type#method(param, ...)` (`Type#method` for every overload,
`Type#name` also for a field or a flag such as `allDeclaredMethods`), or a resource: its glob,
its legacy regex (`\\Qkafka/kafka-version.properties\\E`), a path a glob matches, or a bundle
name. Filters apply as in merge. Exit 0 when found, 2 when no test produced it.

examples:
  metadata-pipeline why org.apache.kafka.common.security.ssl.DefaultSslEngineFactory collected/
  metadata-pipeline why 'kafka.Kafka#main(java.lang.String[])' collected/
  metadata-pipeline why kafka/kafka-version.properties collected/
"""


def register(sub: argparse._SubParsersAction) -> None:
    from metadata_pipeline.commands.coverage import add_input_options

    p = sub.add_parser("why", help=HELP, description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("item", metavar="ITEM", help="a type, Type#member(params), or a resource")
    p.add_argument("inputs", nargs="+", metavar="COLLECTED", help="a collect output directory")
    add_input_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from metadata_pipeline.collect.collected import class_filter_for, read_items
    from metadata_pipeline.core.coverage import item_label, parse_query
    from metadata_pipeline.core.coverage_report import duration
    from metadata_pipeline.core.errors import InvalidMetadata
    from metadata_pipeline.errors import InputError

    try:
        query = parse_query(args.item)
    except InvalidMetadata as exc:
        raise InputError(f"{exc.problem}") from None
    warn = lambda msg: print(f"warning: {msg}", file=sys.stderr)  # noqa: E731
    collected = read_items(args.inputs, class_filter_for(args.no_config, args.filters), per_process=True,
                           skip_invalid=args.skip_invalid, allow_stale_locks=args.allow_stale_locks, warn=warn)
    index = collected.index
    matches = [n for n, item in enumerate(index.items) if query.exact(item)]
    if not matches:
        matches = [n for n, item in enumerate(index.items) if query.by_path(item)]
    if not matches:
        raise InputError(f"{' '.join(args.inputs)}: {args.item}: no test produced this item (after filters; "
                         "a type, Type#member(params) or a resource)")
    lines = []
    for n in sorted(matches, key=lambda n: item_label(index.items[n])):
        lines.append(item_label(index.items[n]))
        for test, items, processes in zip(collected.tests, collected.items, collected.by_process):
            if n not in items:
                continue
            hits = [p for p, ids in zip(test.processes, processes) if n in ids]
            lines.append(f"  {test.test_id}  ({test.status}, {duration(test.seconds)})")
            for p in hits:
                snapshot = "; last periodic snapshot" if p.write == "snapshot" else ""
                lines.append(f"    {p.node}  {p.label.rpartition('/')[2]}  ({p.main_class or 'main class unknown'}"
                             f"{snapshot})")
    tests = {t.test_id for t, items in zip(collected.tests, collected.items) if any(n in items for n in matches)}
    lines.append(f"{len(matches)} item(s), produced by {len(tests)} of {len(collected.tests)} tests")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0
