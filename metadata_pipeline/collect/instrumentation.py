"""What the nodes need to attach the agent: the staged overrides directory and the ducktape call.

The repository's ``system-test-overrides/`` holds the fixed parts (the ``bin/java`` shim, the
ducktape wrapper ``run_ducktape.py``, the default list of instrumented main classes). A run
stages a copy of it and adds what depends on the run's options: ``agent.env`` (the agent
option string rendered by :class:`AgentOptions`, which the shim sources — the one code path
from options to JVM argument), the instrumented-classes list, the filter files the agent reads
and, for a shard, the list of test ids to run. The containers layer mounts the staged copy
read-only at ``/opt/metadata-pipeline/overrides`` and the Kafka checkout at ``/opt/kafka-dev``.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Sequence

from metadata_pipeline.collect.agent_options import AgentOptions
from metadata_pipeline.errors import InputError, UsageError

if TYPE_CHECKING:  # every command's --help reads this module; the plan is collect's alone
    from metadata_pipeline.collect.plan import TestPlan

__all__ = [
    "Instrumentation",
    "InvalidInstrumentation",
    "DucktapeInvocation",
    "agent_env",
    "agent_root",
    "ducktape_invocation",
    "read_instrumented",
    "resolve",
    "stage",
    "OVERRIDES_SOURCE",
    "PACKAGED_FILTER",
    "OVERRIDES_MOUNT",
    "KAFKA_MOUNT",
    "REAL_JAVA",
    "AGENT_ENV",
    "INSTRUMENTED_FILE",
    "FILTERS_DIR",
    "SELECTION_FILE",
    "WRAPPER",
    "SHIM",
]

OVERRIDES_SOURCE = Path(__file__).resolve().parents[2] / "system-test-overrides"
# Kafka's default agent access filter, package data so that it applies wherever collect runs
# (a link to system-test-overrides/filters/kafka.json; wheels get the file itself).
PACKAGED_FILTER = Path(__file__).resolve().parent / "defaults" / "kafka.json"
OVERRIDES_MOUNT = "/opt/metadata-pipeline/overrides"
KAFKA_MOUNT = "/opt/kafka-dev"
REAL_JAVA = "/opt/graalvm/bin/java"
AGENT_ENV = "agent.env"
INSTRUMENTED_FILE = "instrumented-main-classes"
FILTERS_DIR = "agent-filters"
SELECTION_FILE = "selection.json"
WRAPPER = "run_ducktape.py"
SHIM = "bin/java"

# A Java binary name (kafka.Kafka, a.b.Outer$Inner), or the shim's jar:NAME / module:NAME.
_MAIN_CLASS = re.compile(r"(?:(?:jar|module):)?[A-Za-z_$][\w$.-]*")


class InvalidInstrumentation(UsageError, ValueError):
    """Instrumentation settings the shim could not honour safely."""


@dataclass(frozen=True)
class Instrumentation:
    """Everything the shim and the ducktape wrapper are told, in container paths.

    ``filter_files`` maps host files to their names under ``FILTERS_DIR`` in the staged copy;
    ``options`` already names them by their container paths.
    """

    options: AgentOptions
    instrumented: tuple[str, ...]
    real_java: str = REAL_JAVA
    filter_files: tuple[tuple[str, str], ...] = ()
    mount: str = OVERRIDES_MOUNT

    def __post_init__(self) -> None:
        template = self.options.output_dir
        if template is None or "{token}" not in template:
            raise InvalidInstrumentation(
                f"agent output dir {template!r}: needs {{token}} so that every JVM gets its own directory")
        agent_root(template)  # validates
        if not self.instrumented:
            raise InvalidInstrumentation("no instrumented main classes: the agent would never be attached")
        for name in self.instrumented:
            if not _MAIN_CLASS.fullmatch(name):
                raise InvalidInstrumentation(f"instrumented main class {name!r}: not a Java class name")
        for name, path in (("real java", self.real_java), ("overrides mount", self.mount)):
            if not path.startswith("/") or any(c in path for c in "\n\r\0"):
                raise InvalidInstrumentation(f"{name} {path!r}: must be an absolute path")

    @property
    def agent_root(self) -> str:
        return agent_root(self.options.output_dir or "")

    def container_path(self, name: str) -> str:
        return f"{self.mount}/{name}"


def agent_root(template: str) -> str:
    """The fixed directory above every placeholder: what ducktape copies and then deletes.

    It is removed on every node after every test, so it must be a directory of its own.
    """
    fixed = template.split("{", 1)[0].rsplit("/", 1)[0] if "{" in template else template
    parts = PurePosixPath(fixed).parts
    if len(parts) < 3:  # "/", "/a": far too wide to delete after each test
        raise InvalidInstrumentation(
            f"agent output dir {template!r}: the part before the first placeholder ({fixed or '/'}) "
            "must be a dedicated directory at least two levels deep, e.g. /mnt/native-image-agent")
    return str(PurePosixPath(fixed))


def read_instrumented(path: Path) -> tuple[str, ...]:
    """Main classes from a list file: one per line, ``#`` starts a comment."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise InputError(f"{path}: {exc.strerror}") from None
    names = []
    for number, line in enumerate(text.splitlines(), 1):
        name = line.split("#", 1)[0].strip()
        if name and not _MAIN_CLASS.fullmatch(name):
            raise InputError(f"{path}:{number}: {name!r} is not a Java class name")
        if name:
            names.append(name)
    return tuple(names)


def resolve(options: AgentOptions, *, instrumented: Sequence[str], access_filters: Sequence[str | Path] = (),
            caller_filters: Sequence[str | Path] = (), real_java: str = REAL_JAVA,
            mount: str = OVERRIDES_MOUNT) -> Instrumentation:
    """Add host filter files (staged under ``FILTERS_DIR``) to ``options`` by their container paths."""
    staged: list[tuple[str, str]] = []

    def stage_names(paths: Sequence[str | Path]) -> tuple[str, ...]:
        out = []
        for host in paths:
            host_path = Path(host)
            if not host_path.is_file():
                raise InputError(f"{host}: no such filter file")
            name = f"{len(staged) + 1:02d}-{re.sub(r'[^A-Za-z0-9._-]', '_', host_path.name)}"
            staged.append((str(host_path.resolve()), name))
            out.append(f"{mount}/{FILTERS_DIR}/{name}")
        return tuple(out)

    options = replace(options,
                      access_filter_files=options.access_filter_files + stage_names(access_filters),
                      caller_filter_files=options.caller_filter_files + stage_names(caller_filters))
    return Instrumentation(options=options, instrumented=tuple(instrumented), real_java=real_java,
                           filter_files=tuple(staged), mount=mount)


def agent_env(instr: Instrumentation) -> str:
    """The text of ``agent.env``, sourced by the shim (bash assignments, shell-quoted)."""
    values = {
        "METADATA_PIPELINE_REAL_JAVA": instr.real_java,
        "METADATA_PIPELINE_INSTRUMENTED": instr.container_path(INSTRUMENTED_FILE),
        "METADATA_PIPELINE_AGENT_DIR_TEMPLATE": instr.options.output_dir or "",
        "METADATA_PIPELINE_AGENT_OPTIONS": instr.options.render(),
    }
    lines = ["# Written by metadata_pipeline.collect.instrumentation; sourced by bin/java. Do not edit."]
    lines += [f"{key}={shlex.quote(value)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


def stage(instr: Instrumentation, dest: Path, *, source: Path = OVERRIDES_SOURCE,
          selection: Sequence[str] | None = None) -> Path:
    """Write the overrides directory the nodes mount: ``source`` plus this run's settings."""
    if not (source / SHIM).is_file() or not (source / WRAPPER).is_file():
        raise InputError(f"{source}: not a system-test-overrides directory (no {SHIM} or {WRAPPER})")
    if dest.exists() and any(dest.iterdir()):
        raise InputError(f"{dest}: exists and is not empty")
    shutil.copytree(source, dest, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (dest / INSTRUMENTED_FILE).write_text(
        "# Staged by metadata_pipeline collect for this run.\n" + "".join(f"{c}\n" for c in instr.instrumented))
    (dest / AGENT_ENV).write_text(agent_env(instr))
    if instr.filter_files:
        (dest / FILTERS_DIR).mkdir(exist_ok=True)
        for host, name in instr.filter_files:
            shutil.copyfile(host, dest / FILTERS_DIR / name)
    if selection is not None:
        (dest / SELECTION_FILE).write_text(json.dumps(sorted(selection), indent=1) + "\n")
    return dest


@dataclass(frozen=True)
class DucktapeInvocation:
    """How the driver node runs ducktape: working directory, environment, arguments."""

    cwd: str
    env: tuple[tuple[str, str], ...]
    argv: tuple[str, ...]
    selection: tuple[str, ...] | None  # test ids written to SELECTION_FILE when sharded

    def shell(self) -> str:
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in self.env)
        return f"cd {shlex.quote(self.cwd)} && {env} {shlex.join(self.argv)}"


def ducktape_invocation(plan: TestPlan, instr: Instrumentation, *, cluster_file: str, results_root: str,
                        python: str = "python3", max_parallel: int | None = None,
                        selection: Sequence[str] | None = None, events: bool = False, workdir: str | None = None,
                        kafka_root: str = KAFKA_MOUNT, overrides_dir: str | None = None,
                        test_timeout_secs: int | None = None,
                        extra_args: Sequence[str] = ()) -> DucktapeInvocation:
    """ducktape over the plan's symbols, relative to the Kafka checkout mounted at ``KAFKA_MOUNT``.

    A shard runs exactly its test ids (``METADATA_PIPELINE_SELECTION``), and so does an explicit
    ``selection`` (a resumed run's remaining tests); ``--include-ignored`` lets the wrapper run
    tests marked ``@ignore``. ``events`` makes the wrapper announce each test's start and end.
    ``workdir`` runs ducktape there instead of in the checkout (ducktape writes ``.ducktape/``
    into its working directory, and the checkout is mounted read-only): the test symbols are
    then given below ``kafka_root``, whose ``tests/`` goes first on ``PYTHONPATH`` as in
    discovery. ``overrides_dir`` is where the machine running ducktape finds the wrapper and
    the selection (default: the nodes' mount). ``test_timeout_secs`` fails a test whose setUp and
    test method run longer (the wrapper's alarm; its teardown still runs), and raises ducktape's
    ``--test-runner-timeout`` (which aborts the whole run when the runner hears nothing) above it.
    ``extra_args`` go to ducktape as they are (``--globals``, ``--parameters``, after ``--``).
    """
    overrides = overrides_dir or instr.mount
    env = [("METADATA_PIPELINE_AGENT_DIR", instr.agent_root)]
    if plan.include_ignored:
        env.append(("METADATA_PIPELINE_RUN_IGNORED", "1"))
    if selection is not None:
        selection = tuple(selection)
    elif plan.shard is not None:
        selection = tuple(t.test_id for t in plan.selected)
    if selection is not None:
        env.append(("METADATA_PIPELINE_SELECTION", f"{overrides}/{SELECTION_FILE}"))
    if events:
        env.append(("METADATA_PIPELINE_EVENTS", "1"))
    if test_timeout_secs is not None:
        env.append(("METADATA_PIPELINE_TEST_TIMEOUT", str(test_timeout_secs)))
    symbols, exclude, cwd = list(plan.discovery.symbols), list(plan.discovery.exclude), KAFKA_MOUNT
    if workdir is not None:
        cwd = workdir
        symbols = [_below(kafka_root, s) for s in symbols]
        exclude = [_below(kafka_root, s) for s in exclude]
        env += [("PYTHONPATH", f"{kafka_root.rstrip('/')}/tests"), ("PYTHONDONTWRITEBYTECODE", "1")]
    argv = [python, f"{overrides}/{WRAPPER}", "--cluster", "ducktape.cluster.json.JsonCluster",
            "--cluster-file", cluster_file, "--results-root", results_root]
    if max_parallel is not None:
        argv += ["--max-parallel", str(max_parallel)]
    if test_timeout_secs is not None:
        # ducktape's default is 30 minutes; keep its watchdog behind the test's own timeout.
        argv += ["--test-runner-timeout", str(max(1800, test_timeout_secs + 600) * 1000)]
    argv += symbols
    if exclude:
        argv += ["--exclude", *exclude]
    argv += list(extra_args)
    return DucktapeInvocation(cwd=cwd, env=tuple(env), argv=tuple(argv), selection=selection)


def _below(root: str, symbol: str) -> str:
    """A ducktape symbol (``path[::Class[.method]]``) relative to the checkout, made absolute."""
    return symbol if symbol.startswith("/") else f"{root.rstrip('/')}/{symbol}"
