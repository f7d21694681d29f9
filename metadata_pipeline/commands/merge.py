"""``merge``: per-test agent output -> one canonical, validated config directory."""

from __future__ import annotations

import argparse
import sys

HELP = "merge agent output (any tree of config dirs) into one config dir"
DESCRIPTION = """\
Merge reachability metadata from every config directory found under INPUT... (agent output
dirs, a `collect` result, a ducktape results tree; legacy and unified files, mixed) into
OUTDIR, in canonical form: sorted, deduplicated, byte-identical whatever the input order.

The merge follows GraalVM's native-image-utils: an entry's identity is (type, condition);
flags are OR-ed; an invoked method beats the same method queried; resources, proxies and
serialization entries are sets. OUTDIR is replaced atomically together with the provenance
FILE: it always holds the complete old or the complete new result (Ctrl-C included), keeps its
mode, and a symlink OUTDIR is followed (its target is replaced). Refused before anything is
read: an OUTDIR that is, holds or lies inside an INPUT, the working directory or "/", and a
provenance FILE that is or lies inside an INPUT or OUTDIR. A merge that merged no file at all
(every input skipped) replaces nothing and exits 2.

examples:
  metadata-pipeline merge collected/ -o native-image-configs
  metadata-pipeline merge shard-*/ -o native-image-configs --provenance provenance.json
  metadata-pipeline merge collected/ -o native-image-configs --check   # the CI gate
"""


def register(sub: argparse._SubParsersAction) -> None:
    from metadata_pipeline.commands.options import add_report_format

    p = sub.add_parser("merge", help=HELP, description=DESCRIPTION,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="config dir, metadata file, or a tree holding them")
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="config dir to write (or to check)")
    p.add_argument("--format", choices=("legacy", "unified"), default=None,
                   help="legacy: the six *-config.json files GraalVM for JDK 17/21 read (Kafka's choice); "
                        "unified: reachability-metadata.json (GraalVM 24.1+). Default: legacy, or with "
                        "--check the format OUTDIR already has")
    p.add_argument("--provenance", metavar="FILE",
                   help="also write which input (test/node/process) contributed each entry to FILE")
    p.add_argument("--skip-invalid", action="store_true",
                   help="skip (with a warning) input files that are malformed or invalid instead of failing")
    p.add_argument("--strict-schema", action="store_true",
                   help="also check every input against the JSON schemas (slower; the parser's own checks are equivalent)")
    p.add_argument("--filter", action="append", default=[], metavar="FILE", dest="filters",
                   help="drop entries of classes a filter file excludes (the agent's filter format; repeatable, "
                        "later rules win); added to the filters of metadata-pipeline.toml")
    p.add_argument("--no-config", action="store_true",
                   help="ignore metadata-pipeline.toml (its default filters and format)")
    p.add_argument("--allow-stale-locks", action="store_true",
                   help="use config dirs that still hold an agent .lock (a JVM killed with SIGKILL leaves one; "
                        "its last periodic snapshot is then what there is)")
    check = p.add_argument_group("checking (the CI gate)")
    check.add_argument("--check", action="store_true",
                       help="write nothing; exit 0 when OUTDIR already holds this merge (semantically), "
                            "1 with a readable diff when it does not")
    check.add_argument("--strict", action="store_true",
                       help="with --check: also fail (exit 1) when OUTDIR is right but not in canonical form")
    check.add_argument("--github", action="store_true",
                       help="with --check: add ::error annotations for GitHub Actions (automatic when GITHUB_ACTIONS=true)")
    add_report_format(check, choices=("text", "markdown", "json"), dest="diff_format", old=["--diff-format"],
                      help="with --check: how to print the difference, as diff does (default text)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from metadata_pipeline.files.configdir import load, write_config_dir
    from metadata_pipeline.core.provenance import provenance_document
    from metadata_pipeline.core.serialize import conversion_losses, documents, dumps
    from metadata_pipeline.files.fastload import paused_gc
    from metadata_pipeline.files.fsio import held_interrupts
    from metadata_pipeline.files.output import check_output_schema, refuse_unsafe_paths, summary_line
    from metadata_pipeline.core.filters import apply_filter
    from metadata_pipeline.errors import InputError, UsageError
    from metadata_pipeline.files.filterfiles import load_filters, report_lines
    from metadata_pipeline.commands.report import filter_files_lines, plural
    from metadata_pipeline.files.settings import Settings, load_settings
    from metadata_pipeline.files.schema import check_schema

    warn = lambda msg: print(f"warning: {msg}", file=sys.stderr)  # noqa: E731
    if not args.check:
        refuse_unsafe_paths(args.output, args.inputs, args.provenance)
    result = load(args.inputs, skip_invalid=args.skip_invalid, allow_stale_locks=args.allow_stale_locks,
                  provenance=bool(args.provenance), check_schema=check_schema if args.strict_schema else None,
                  warn=warn)
    if result.files_read == 0:  # everything was skipped: an empty result must not replace a good one
        raise InputError(f"nothing merged: all {len(result.skipped)} input(s) skipped (see the warnings above); "
                         f"{args.output} left as it was")
    settings = Settings() if args.no_config else load_settings()
    class_filter = load_filters([*settings.filters, *map(Path, args.filters)])
    metadata, removed = apply_filter(result.metadata, class_filter)
    for line in filter_files_lines(settings.filters, settings.source, list(map(Path, args.filters)),
                                   no_config=args.no_config):
        print(line, file=sys.stderr)
    if class_filter.rules:
        for line in report_lines(removed):
            print(line, file=sys.stderr)
    out = Path(args.output)
    if args.check:
        return _check(args, metadata, out, settings.format)
    if args.strict or args.github:
        raise UsageError("--strict and --github go with --check")
    fmt = args.format or settings.format or "legacy"
    with paused_gc():
        docs = documents(metadata, fmt)
        check_output_schema(docs)
        files = {name: dumps(doc) for name, doc in docs.items()}
    for note in conversion_losses(metadata, fmt):
        warn(f"{fmt} format cannot express: {note}")
    from metadata_pipeline.files.classdata import classdata_sources, copy_classdata

    classdata, missing = classdata_sources(result.dirs, metadata.predefined_classes)
    if missing:
        warn(f"{len(missing)} predefined class(es) without class data in any input "
             f"(agent-extracted-predefined-classes/<hash>.classdata), e.g. {missing[0]}: native-image cannot define them")
    sidecars = {}
    if args.provenance:
        doc = provenance_document(result.accumulator.provenance(), [d.label for d in result.dirs], metadata)
        sidecars[Path(args.provenance)] = dumps(doc)
    # Held from the commit to the last line: once OUTDIR is replaced, Ctrl-C has nothing left to stop.
    with held_interrupts():
        write_config_dir(out, files, sidecars=sidecars, fill=lambda tmp: copy_classdata(classdata, tmp))
        print(f"merged {plural(len(result.dirs), 'config dir')} into {out}: {summary_line(metadata)}")
        if args.provenance:
            print(f"provenance of {plural(len(doc['entries']), 'entry', 'entries')} written to {args.provenance}")
        if result.skipped:
            print(f"skipped {len(result.skipped)} invalid input(s); see the warnings above", file=sys.stderr)
    return 0


def _check(args: argparse.Namespace, merged, out, default_format: str | None) -> int:
    """Compare the merge with OUTDIR; print what differs in a maintainer's terms."""
    from metadata_pipeline.files.configdir import find_config_dirs, load
    from metadata_pipeline.core.diff import diff
    from metadata_pipeline.core.diff_report import summary_text
    from metadata_pipeline.core.kinds import FileKind
    from metadata_pipeline.core.serialize import render
    from metadata_pipeline.errors import InputError
    from metadata_pipeline.files.fastload import paused_gc
    from metadata_pipeline.commands.report import github_annotations, in_github_actions, print_diff

    if not out.is_dir():
        raise InputError(f"{out}: no such config directory to check against (run merge without --check to create it)")
    committed_dirs = find_config_dirs([out])
    committed = load([out]).metadata
    present = {path.name for d in committed_dirs if d.path == out.absolute() or d.path == out for _, path in d.files}
    fmt = args.format or ("unified" if FileKind.UNIFIED.file_name in present else default_format or "legacy")
    d = diff(committed, merged)
    inputs = " ".join(args.inputs)
    if d:
        print(f"{out} differs from what the collected metadata says ({summary_text(d)}):")
        sys.stdout.flush()
        print_diff(d, args.diff_format)
        if args.github or in_github_actions():
            for line in github_annotations(d, str(out), fmt):
                print(line)
        print(f"to update: metadata-pipeline merge {inputs} -o {out}" + (f" --format {fmt}" if fmt != "legacy" else ""),
              file=sys.stderr)
        return 1
    with paused_gc():
        expected = render(merged, fmt)
    stale = sorted(name for name, text in expected.items()
                   if not (out / name).is_file() or (out / name).read_text(encoding="utf-8") != text)
    stale += sorted(name for name in present if name not in expected)
    if stale:
        print(f"{out} is up to date, but not in canonical {fmt} form: {', '.join(stale)} "
              f"(rewrite with: metadata-pipeline merge {inputs} -o {out})", file=sys.stderr)
        return 1 if args.strict else 0
    from metadata_pipeline.files.output import summary_line

    print(f"{out} is up to date ({summary_line(merged)})")
    return 0
