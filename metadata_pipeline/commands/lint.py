"""``lint``: stale entries against the real classpath, with suggestions and ``--fix``."""

from __future__ import annotations

import argparse

HELP = "find stale entries by checking a config dir against the real classpath"
DESCRIPTION = """\
Check CONFIG_DIR against the jars that will be in the native image (and the JDK's own
classes): types, resources, bundles, proxy interfaces and condition types that exist nowhere
are stale. Members (methods, fields) of classes that exist are not checked: the agent records
failed member lookups on purpose, and native image must answer them "not found" too. A
missing class of a JDK package is reported as what it usually is, a lookup that fails on
purpose. One line per finding: FILE: ENTRY: PROBLEM; SUGGESTION. Where the evidence is clear
a suggestion says what the entry became: a class with the same simple name elsewhere that
declares the entry's members (moved between modules), a resource equal but for its version
numbers (a dependency bump).

PATH is a jar, a directory of jars, a 'dir/*' pattern, an exploded classes directory or a
':'-separated list; the JDK is the one of --jdk, $JAVA_HOME or `java` on PATH.

Exit 0 when clean, 1 with findings (after --fix: findings left), 2 on an input error.

examples:
  metadata-pipeline lint native-image-configs --classpath kafka_2.13-3.9.0/libs
  metadata-pipeline lint native-image-configs --classpath 'libs/*' --fix
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("lint", help=HELP, description=DESCRIPTION,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("config_dir", metavar="CONFIG_DIR", help="the config dir to check")
    p.add_argument("--classpath", action="append", required=True, metavar="PATH",
                   help="jar, dir of jars, dir/*, classes dir or a ':'-list (repeatable)")
    p.add_argument("--jdk", metavar="PATH", help="the JDK whose classes count as present "
                                                    "(default: $JAVA_HOME, else the one of `java` on PATH)")
    p.add_argument("--no-jdk", action="store_true", help="do not count the JDK's classes as present")
    p.add_argument("--fix", action="store_true",
                   help="rewrite CONFIG_DIR canonically with the unambiguous suggestions applied")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from metadata_pipeline.classpath import ClassPath, ClassPathError
    from metadata_pipeline.files.configdir import find_config_dirs, load, write_config_dir
    from metadata_pipeline.core.kinds import FileKind
    from metadata_pipeline.core.lint import apply_fixes, describe, lint
    from metadata_pipeline.core.serialize import render
    from metadata_pipeline.errors import InputError
    from metadata_pipeline.commands.report import file_of_category

    config_dir = Path(args.config_dir)
    if not config_dir.is_dir():
        raise InputError(f"{config_dir}: no such config directory")
    present = {path.name for d in find_config_dirs([config_dir]) for _, path in d.files}
    fmt = "unified" if FileKind.UNIFIED.file_name in present else "legacy"
    metadata = load([config_dir]).metadata
    try:
        with ClassPath.open(args.classpath, include_jdk=not args.no_jdk, jdk=args.jdk) as classpath:
            findings = lint(metadata, classpath)
            if args.fix:
                fixed, applied = apply_fixes(metadata, findings)
                if applied:
                    write_config_dir(config_dir, render(fixed, fmt))
                for f in applied:
                    print(f"fixed: {file_of_category(f.category, fmt)}: {f.entry} -> {f.suggestion}")
                findings = lint(fixed, classpath)
    except ClassPathError as exc:
        raise InputError(str(exc)) from None
    for f in findings:
        print(f"{config_dir / file_of_category(f.category, fmt)}: {describe(f)}")
    print(f"{len(findings)} finding(s)")
    return 1 if findings else 0
