"""``collect --dry-run``: the whole run, described, with nothing started or written (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from metadata_pipeline.collect.instrumentation import (
    FILTERS_DIR,
    KAFKA_MOUNT,
    OVERRIDES_SOURCE,
    SELECTION_FILE,
    SHIM,
    DucktapeInvocation,
    Instrumentation,
    ducktape_invocation,
)
from metadata_pipeline.collect.plan import TestPlan
from metadata_pipeline.collect.resume import ResumeDecision

__all__ = ["ContainerLayout", "render_dry_run", "FROM_CONTAINERS_LAYER"]

FROM_CONTAINERS_LAYER = "<see containers layer>"


@dataclass(frozen=True)
class ContainerLayout:
    """What the containers layer decides; shown as-is by the dry run."""

    image: str = FROM_CONTAINERS_LAYER
    nodes: str = FROM_CONTAINERS_LAYER
    cluster_file: str = FROM_CONTAINERS_LAYER
    results_root: str = FROM_CONTAINERS_LAYER
    python: str = "python3"  # the driver node's Python, which has ducktape
    max_parallel: int | None = None
    mounts: bool = True  # False: --cluster-file nodes bring the checkout and get the overrides over SSH
    driver: str = "in the driver node"
    wrapper_entry: str = ""  # how the wrapper entry step runs; "" when it does not


def render_dry_run(plan: TestPlan, instr: Instrumentation, layout: ContainerLayout, *, output: str,
                   staged_overrides: str, call: DucktapeInvocation | None = None,
                   decision: ResumeDecision | None = None) -> str:
    """The run described; ``call`` is the ducktape command the run would execute, ``decision``
    what an existing output directory leaves to run."""
    d, t = plan.discovery, plan.totals()
    if call is None:
        call = ducktape_invocation(plan, instr, cluster_file=layout.cluster_file, results_root=layout.results_root,
                                   python=layout.python, max_parallel=layout.max_parallel)
    shard = f" in shard {plan.shard}, balanced by {'run time' if plan.timings else 'count'}" if plan.shard else ""
    estimate = f", about {t['estimated_seconds']:.0f} s by {plan.timings}" if t["estimated_seconds"] is not None else ""
    lines = [
        "collect dry run: nothing is started or written",
        "",
        "tests",
        f"  kafka checkout   {d.kafka_dir}",
        f"  discovered       {t['discovered']} by ducktape {d.ducktape_version} ({d.python}), "
        f"{t['ignored']} marked @ignore{' (run: --include-ignored)' if plan.include_ignored else ' (not run)'}",
        f"  to run           {t['selected']} of {t['runnable']} runnable{shard}{estimate}",
    ]
    if decision is not None and (decision.skipped or decision.failed or decision.forced):
        lines.append(f"  resume           {output} holds output already: {decision.describe()}")
    lines += [
        "image",
        f"  build            {layout.image}",
        "nodes",
        f"  nodes            {layout.nodes}",
        "mounts" if layout.mounts else "on every node (over SSH; the checkout must be there already)",
        f"  {d.kafka_dir} -> {KAFKA_MOUNT}" + (" (read-write, as ducker-ak: Kafka's scripts write logs/)"
                                               if layout.mounts else ""),
        f"  {staged_overrides} (staged from {OVERRIDES_SOURCE}) -> {instr.mount}" + (" (read-only)"
                                                                                      if layout.mounts else ""),
        "agent",
        f"  java shim        {instr.container_path(SHIM)} in front of {instr.real_java}",
        f"  instrumented     {' '.join(instr.instrumented)} (every other JVM runs untouched)",
        f"  jvm argument     {instr.options.jvm_argument()}",
        f"  per process      {instr.options.output_dir}",
    ]
    lines += [f"  filter file      {host} -> {instr.mount}/{FILTERS_DIR}/{name}" for host, name in instr.filter_files]
    lines += [
        f"ducktape ({layout.driver})",
        f"  {call.shell()}",
    ]
    if call.selection is not None:
        lines.append(f"  selection        {len(call.selection)} test ids in {instr.container_path(SELECTION_FILE)}")
    if layout.wrapper_entry:
        lines += ["wrapper entry (the native binary's entry point; kafkatest never runs it)",
                  f"  {layout.wrapper_entry}"]
    lines += [
        "output",
        f"  ducktape copies  {instr.agent_root} of every node after each test into",
        f"                   {layout.results_root}/<session>/<test class>/<method>/<args>/<index>/"
        f"<service id>/<node>/{instr.agent_root.rsplit('/', 1)[1]}/",
        f"  collected into   {output}/<test id>/<node>/<main class>-<pid>-<token>/ (+ manifest.json per test)",
        f"  then             metadata-pipeline merge {output} -o <kafka>/docker/native/native-image-configs",
    ]
    return "\n".join(lines) + "\n"
