"""``collect`` for real: run the planned tests under the agent and keep each test's output.

One run:

1. takes the output directory (one collect at a time), drops what an interrupted run was
   assembling, and decides from the manifests there which planned tests to run (``resume``);
2. stages the overrides for the nodes with the selection of tests to run;
3. local cluster (default): connects to Docker (``DOCKER_HOST`` or the default socket), removes
   what a crashed earlier run into the same directory left (by its run label), builds the node
   image, starts the cluster; ``--cluster-file``: installs the overrides on the given nodes;
4. runs ducktape through the wrapper and gathers each test as soon as ducktape has finished it
   (fetch, assemble, install in one rename), then every test the session's report.json lists
   that no event announced (e.g. tests ducktape could not schedule);
5. removes the cluster, whatever happened; prints the summary and the merge to run next.

Ctrl-C (or SIGTERM) at any point: the containers and the network go, every test gathered so far
stays, and running the same command again runs what is left.
"""

from __future__ import annotations

import collections
import contextlib
import json
import shutil
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Iterator, Sequence

from metadata_pipeline.collect import instrumentation
from metadata_pipeline.collect.cluster import (CLUSTER_FILE, DRIVER_PYTHON, DUCKTAPE_CWD, RESULTS_ROOT,
                                               ClusterSpec, LocalCluster)
from metadata_pipeline.collect.driver import ContainerDriver, Driver, DucktapeFailed, LocalDriver, parse_event
from metadata_pipeline.collect.image import NodeImage, build_node_image
from metadata_pipeline.collect.instrumentation import Instrumentation, ducktape_invocation
from metadata_pipeline.collect.layout import OutputDir
from metadata_pipeline.collect.manifest import Manifest
from metadata_pipeline.collect.plan import TestPlan
from metadata_pipeline.collect.progress import Progress
from metadata_pipeline.collect.results import (InvalidReport, ProcessNamer, TestOutcome, assemble, parse_report,
                                               parse_result)
from metadata_pipeline.collect.resume import ResumeDecision, decide
from metadata_pipeline.collect.summary import status_doc, summarize
from metadata_pipeline.collect.wrapper_entry import WRAPPER_ENTRY_ID

if TYPE_CHECKING:  # pragma: no cover
    from metadata_pipeline.containers import Container, Engine

__all__ = ["RunOptions", "run_collect", "default_nodes", "planned_call", "planned_ids"]


@dataclass(frozen=True)
class RunOptions:
    output: Path
    overrides_source: Path = instrumentation.OVERRIDES_SOURCE
    nodes: int | None = None  # containers, the driver included; None: enough for the largest test
    parallel: int | None = None  # ducktape's --max-parallel
    test_timeout: int | None = None  # seconds; ducktape's --test-runner-timeout
    rerun_failed: bool = False
    force: bool = False
    cluster_file: Path | None = None
    image: NodeImage = field(default_factory=NodeImage)
    memory: str | None = None
    python: str | None = None  # --cluster-file: the Python that runs ducktape here
    ducktape_args: tuple[str, ...] = ()  # passed through: --globals, --parameters, after --
    wrapper_entry: bool = True  # run kafka.docker.KafkaDockerWrapper setup + start (containers only)
    fuse: bool = False  # the node image has kibosh: nodes get FUSE


def planned_ids(plan: TestPlan, opts: RunOptions) -> list[str]:
    """The plan's test ids, and the wrapper entry step's when it runs (it is kept like a test)."""
    ids = [t.test_id for t in plan.selected]
    if opts.wrapper_entry and opts.cluster_file is None and ids:
        ids.append(WRAPPER_ENTRY_ID)
    return ids


def default_nodes(plan: TestPlan, test_ids: Sequence[str] | None = None) -> int:
    """The driver plus as many nodes as the largest test to run asks for (at least one)."""
    wanted = set(test_ids) if test_ids is not None else None
    return 1 + max((t.nodes or 1 for t in plan.selected if wanted is None or t.test_id in wanted), default=1)


class _Gatherer:
    """Turns ducktape's output into progress, a log, and each finished test's output directory."""

    def __init__(self, out: OutputDir, driver: Driver, instr: Instrumentation, run_id: str, progress: Progress,
                 log: IO[str], manifests: dict[str, Manifest], kafka_dir: str) -> None:
        self.out, self.driver, self.run_id, self.progress, self.log = out, driver, run_id, progress, log
        self.manifests, self.kafka_dir = manifests, kafka_dir
        self.namer = ProcessNamer(instr.options.output_dir or "", instr.agent_root)
        self.namer_root = instr.agent_root
        self.agent_dir_name = instr.agent_root.rsplit("/", 1)[1]
        self.gathered: dict[str, Manifest] = {}
        self.seen_dirs: set[str] = set()
        self.session_dir: str | None = None
        self.tail: collections.deque[str] = collections.deque(maxlen=15)

    def on_line(self, line: str) -> None:
        self.log.write(line + "\n")
        event = parse_event(line)
        if event is None:
            self.tail.append(line)
            self.progress.output(line)
        elif event.kind == "started":
            self.progress.started(event.test_id)
        elif event.results_dir:
            self.session_dir = event.session_dir or self.session_dir
            self.gather(event.results_dir, fallback=TestOutcome(
                test_id=event.test_id, status=(event.status or "FAIL").upper(), run_time_seconds=None,
                summary="", results_dir=event.results_dir))

    def gather(self, results_dir: str, fallback: TestOutcome) -> None:
        if results_dir in self.seen_dirs:
            return
        self.seen_dirs.add(results_dir)
        self.log.flush()
        staging = self.out.new_staging(fallback.test_id)
        try:
            fetched = self.driver.fetch(results_dir, staging / "fetched", self.agent_dir_name)
            outcome = self._outcome(fetched, fallback)
            manifest = self._install(fetched, staging / "test", outcome)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        self._record(outcome, manifest)

    def _install(self, fetched: Path, dest: Path, outcome: TestOutcome) -> Manifest:
        """Assemble what was fetched into the kept layout and install it as the test's output."""
        dest.mkdir()
        manifest = assemble(fetched, dest, outcome, self.namer, self.agent_dir_name, run_id=self.run_id)
        self.out.install(dest, outcome.test_id)
        return manifest

    def _record(self, outcome: TestOutcome, manifest: Manifest) -> None:
        self.gathered[outcome.test_id] = manifest
        self.manifests[outcome.test_id] = manifest
        self.out.write_summary(status_doc(self.manifests, kafka_dir=self.kafka_dir, last_run=self.run_id))
        note = "contributed nothing" if not manifest.contributed else ""
        killed = [p for p in manifest.processes if p.stale_lock]
        if any(p.write == "snapshot" for p in killed):
            note = ", ".join(filter(None, [note, "snapshot of a killed JVM kept"]))
        if any(p.write == "none" for p in killed):
            note = ", ".join(filter(None, [note, "a killed JVM wrote nothing"]))
        self.progress.finished(outcome.test_id, outcome.status, outcome.run_time_seconds, note)

    def gather_from_node(self, node: "Container", outcome: TestOutcome, log: str) -> None:
        """A step's output straight from a node's agent directory (the wrapper entry), kept like a test's."""
        from metadata_pipeline.containers import PathNotFound

        staging = self.out.new_staging(outcome.test_id)
        try:
            fetched = staging / "fetched"
            host_dir = fetched / "wrapper_entry" / (node.spec.hostname or node.spec.name)
            host_dir.mkdir(parents=True)
            try:
                copied = node.copy_out(self.namer_root, host_dir)
                if copied.name != self.agent_dir_name:
                    copied.rename(host_dir / self.agent_dir_name)
            except PathNotFound:
                pass  # nothing was written: the manifest says so
            (fetched / "wrapper-entry.log").write_text(log, encoding="utf-8")
            manifest = self._install(fetched, staging / "test", outcome)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        self._record(outcome, manifest)

    @staticmethod
    def _outcome(fetched: Path, fallback: TestOutcome) -> TestOutcome:
        report = fetched / "report.json"  # ducktape's own report of this one test
        if not report.is_file():
            return fallback
        try:
            return parse_result(json.loads(report.read_text(encoding="utf-8")), str(report))
        except (ValueError, InvalidReport):
            return fallback

    def finish(self, results_root: str) -> None:
        """Gather what the session's report.json lists that no event announced."""
        path = f"{self.session_dir}/report.json" if self.session_dir else f"{results_root}/latest/report.json"
        text = self.driver.read_text(path)
        if text is None:
            return
        try:
            outcomes = parse_report(json.loads(text), path)
        except (ValueError, InvalidReport) as exc:  # what was gathered stays; say why nothing more is
            self.progress.phase(f"warning: cannot read ducktape's session report: {exc}")
            return
        for outcome in outcomes:
            self.gather(outcome.results_dir, fallback=outcome)


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM (a CI job cancelled) cleans up like Ctrl-C does."""
    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_collect(plan: TestPlan, instr: Instrumentation, opts: RunOptions, progress: Progress,
                stdout: IO[str] = sys.stdout) -> int:
    """Run the plan (what is left of it in ``opts.output``); return the exit code."""
    out = OutputDir(opts.output)
    planned = planned_ids(plan, opts)

    def decision_now() -> tuple[ResumeDecision, dict[str, Manifest]]:
        manifests = out.manifests()
        return decide(planned, {t: m.status for t, m in manifests.items()}, rerun_failed=opts.rerun_failed,
                      force=opts.force), manifests

    out.check_usable()
    engine = None
    if opts.cluster_file is None and decision_now()[0].run:
        from metadata_pipeline.containers import Engine

        engine = Engine.connect()  # before anything is written: no engine, no change
    with out.locked(), _sigterm_interrupts():
        out.clear_staging()
        decision, manifests = decision_now()
        progress.phase(f"{len(planned)} planned: {decision.describe()}")
        if decision.run:
            try:
                _run(plan, instr, opts, progress, out, decision, manifests, engine)
            except KeyboardInterrupt:
                progress.close()
                done = len(out.manifests())
                print(f"collect: interrupted; {done} test output(s) kept in {out.root}. Run the same command again "
                      "to run the rest.", file=sys.stderr)
                raise
        progress.close()
        summary = summarize(out.root, planned, out.manifests(), decision.run, kafka_dir=plan.discovery.kafka_dir,
                            shard=plan.shard)
    stdout.write(summary.text)
    return summary.exit_code


def _run(plan: TestPlan, instr: Instrumentation, opts: RunOptions, progress: Progress, out: OutputDir,
         decision: ResumeDecision, manifests: dict[str, Manifest], engine: "Engine | None") -> dict[str, Manifest]:
    from metadata_pipeline.containers import new_run_id

    run_id = new_run_id()
    run_dir = out.run_dir(run_id)
    run_dir.mkdir(parents=True)
    staged = instrumentation.stage(instr, run_dir / "overrides", source=opts.overrides_source,
                                   selection=[t for t in decision.run if t != WRAPPER_ENTRY_ID])
    with open(run_dir / "ducktape.log", "w", encoding="utf-8") as log:
        if engine is None:
            return _run_on_cluster_file(plan, instr, opts, progress, out, decision, manifests, run_id, staged, log)
        return _run_in_containers(engine, plan, instr, opts, progress, out, decision, manifests, run_id, staged,
                                  log)


def planned_call(plan: TestPlan, instr: Instrumentation, opts: RunOptions, selection: Sequence[str],
                 run_dir: str) -> instrumentation.DucktapeInvocation:
    """The ducktape command a run executes (and ``--dry-run`` shows), in either mode.

    ``run_dir`` is the run's directory on this machine (``.collect/runs/<run id>``), which
    holds the staged overrides and, with ``--cluster-file``, ducktape's results.
    """
    common = dict(max_parallel=opts.parallel, selection=selection, events=True,
                  test_timeout_secs=opts.test_timeout, extra_args=opts.ducktape_args)
    if opts.cluster_file is None:
        return ducktape_invocation(plan, instr, cluster_file=CLUSTER_FILE, results_root=RESULTS_ROOT,
                                   python=DRIVER_PYTHON, workdir=DUCKTAPE_CWD, **common)
    return ducktape_invocation(plan, instr, cluster_file=str(opts.cluster_file.absolute()),
                               results_root=f"{run_dir}/results", python=opts.python or sys.executable,
                               workdir=f"{run_dir}/work", kafka_root=plan.discovery.kafka_dir,
                               overrides_dir=f"{run_dir}/overrides", **common)


def _run_ducktape(driver: Driver, call: instrumentation.DucktapeInvocation, gatherer: _Gatherer,
                  progress: Progress, total: int, results_root: str) -> None:
    progress.begin(total)
    exit_code = driver.run(call, gatherer.on_line)
    gatherer.finish(results_root)
    if not gatherer.gathered and exit_code != 0:
        last = " | ".join(line.strip() for line in list(gatherer.tail)[-4:] if line.strip())
        raise DucktapeFailed(f"ducktape exited {exit_code} without running a test: {last or '(no output)'}")


def _run_in_containers(engine: "Engine", plan: TestPlan, instr: Instrumentation, opts: RunOptions,
                       progress: Progress, out: OutputDir, decision: ResumeDecision, manifests: dict[str, Manifest],
                       run_id: str, staged: Path, log: IO[str]) -> dict[str, Manifest]:
    from metadata_pipeline.containers import LABEL_RUN, cleanup_leftovers

    nodes = opts.nodes or default_nodes(plan, decision.run)
    crashed = out.crashed_run()
    if crashed is not None:
        left = cleanup_leftovers(engine, crashed)
        if left.containers or left.networks:
            progress.phase(f"removed what the interrupted run {crashed} left: "
                           f"{len(left.containers)} container(s), {len(left.networks)} network(s)")
    out.begin_run(run_id)
    try:
        image = build_node_image(engine, opts.image, say=progress.phase, output=progress.output)
        spec = ClusterSpec(run_id=run_id, image=image, nodes=nodes, kafka_dir=Path(plan.discovery.kafka_dir),
                           overrides_dir=staged, overrides_mount=instr.mount, memory=opts.memory, fuse=opts.fuse)
        too_big = [t.test_id for t in plan.selected if t.test_id in decision.run and (t.nodes or 1) > nodes - 1]
        if too_big:
            progress.phase(f"warning: {len(too_big)} test(s) need more than the {nodes - 1} test nodes "
                           f"(e.g. {too_big[0]}); ducktape will fail them (raise --nodes)")
        progress.phase(f"starting {spec.describe()}")
        tests = [t for t in decision.run if t != WRAPPER_ENTRY_ID]
        call = planned_call(plan, instr, opts, tests, str(staged.parent))
        with LocalCluster(engine, spec, instr, say=progress.phase) as cluster:
            assert cluster.driver is not None
            gatherer = _Gatherer(out, ContainerDriver(cluster.driver), instr, run_id, progress, log, manifests,
                                 plan.discovery.kafka_dir)
            if tests:
                progress.phase(f"nodes ready; ducktape runs in {cluster.driver.name} (log: {log.name})")
                _run_ducktape(gatherer.driver, call, gatherer, progress, len(decision.run), RESULTS_ROOT)
            else:
                progress.begin(len(decision.run))
            if WRAPPER_ENTRY_ID in decision.run:
                _run_wrapper_entry(cluster.nodes[1], gatherer, instr, progress)
        return gatherer.gathered
    finally:
        # Forget the run only when nothing of it is left on the engine; otherwise the next
        # run into this directory removes it by its label.
        with contextlib.suppress(Exception):
            label = {"label": f"{LABEL_RUN}={run_id}"}
            if not engine.client.containers.list(all=True, filters=label) \
                    and not engine.client.networks.list(filters=label):
                out.end_run()


def _run_wrapper_entry(node: "Container", gatherer: _Gatherer, instr: Instrumentation, progress: Progress) -> None:
    """kafka.docker.KafkaDockerWrapper setup + start on a test node, kept as ``WRAPPER_ENTRY_ID``."""
    import time

    from metadata_pipeline.collect import wrapper_entry
    from metadata_pipeline.collect.cluster import SHIM_JAVA_HOME

    progress.started(WRAPPER_ENTRY_ID)
    started = time.monotonic()
    node.exec(["rm", "-rf", "--", instr.agent_root])
    result = node.exec(["bash", "-c", wrapper_entry.script()], env={"JAVA_HOME": SHIM_JAVA_HOME})
    seconds = round(time.monotonic() - started, 3)
    log = node.exec(["cat", wrapper_entry.STEP_LOG], max_output=200_000).output
    # The step's own verdict lines (wrapper_entry.script); the rest of the log is Kafka's.
    verdicts = [line for line in log.splitlines()
                if line.startswith(("the wrapper's broker", "setup failed", "no config/", "consumed "))]
    summary = "" if result.ok else f"exited {result.exit_code}: " + (
        verdicts[-1] if verdicts else "see .ducktape/wrapper-entry.log")
    outcome = TestOutcome(test_id=WRAPPER_ENTRY_ID, status="PASS" if result.ok else "FAIL",
                          run_time_seconds=seconds, summary=summary, results_dir=wrapper_entry.STEP_DIR)
    gatherer.gather_from_node(node, outcome, log)


def _run_on_cluster_file(plan: TestPlan, instr: Instrumentation, opts: RunOptions, progress: Progress,
                         out: OutputDir, decision: ResumeDecision, manifests: dict[str, Manifest], run_id: str,
                         staged: Path, log: IO[str]) -> dict[str, Manifest]:
    from metadata_pipeline.collect.remote import install_on_nodes

    assert opts.cluster_file is not None
    cluster_file = opts.cluster_file.resolve()
    hosts = install_on_nodes(cluster_file, staged, instr, say=progress.phase)
    progress.phase(f"{len(hosts)} node(s) ready: {', '.join(hosts)}; ducktape runs here (log: {log.name})")
    run_dir = staged.parent
    call = planned_call(plan, instr, opts, decision.run, str(run_dir))
    Path(call.cwd).mkdir()
    gatherer = _Gatherer(out, LocalDriver(run_dir / "stage"), instr, run_id, progress, log, manifests,
                         plan.discovery.kafka_dir)
    _run_ducktape(gatherer.driver, call, gatherer, progress, len(decision.run), str(run_dir / "results"))
    return gatherer.gathered

