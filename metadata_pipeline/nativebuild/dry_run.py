"""What ``build --dry-run`` prints: every input as resolved, the exact native-image command line
and, for the docker runner, the container spec. Nothing is built, started or contacted."""

from __future__ import annotations

import json
from pathlib import Path

from metadata_pipeline.nativebuild.configs import CheckedConfigs
from metadata_pipeline.nativebuild.distribution import Distribution, EntryPoint
from metadata_pipeline.nativebuild.runner import BuildRequest, DockerRunner, Runner

__all__ = ["render_dry_run"]


def render_dry_run(*, dist: Distribution, entry: EntryPoint, configs: CheckedConfigs, options_file: Path,
                   request: BuildRequest, runner: Runner, smoke: bool, jvm_note: str | None,
                   run_id: str) -> str:
    unpacked = " (a tarball: unpacked into a temporary directory for the run)" if dist.packed else ""
    lines = [
        "build dry run: nothing is built, started or contacted",
        "",
        f"distribution     {dist.source}{unpacked}",
        f"libs             {dist.libs} ({len(dist.jars)} jars)",
        f"entry point      {entry.class_name}, in {entry.jar.name}",
        f"configs          {configs.directory} ({configs.describe()}; validated)",
        f"options          {options_file} ({len(request.options)} options)",
        f"output           {request.binary}",
        f"runner           {runner.kind} ({runner.reason})",
        *runner.describe(request),
    ]
    if smoke:
        jvm = "then the JVM broker via bin/kafka-server-start.sh" if jvm_note is None else f"no JVM comparison: {jvm_note}"
        lines.append(f"smoke            setup + start of {request.binary.name} on a loopback port, {jvm}")
    else:
        lines.append("smoke            off (--no-smoke)")
    lines += ["", "native-image command line", runner.invocation(request).shell()]
    if isinstance(runner, DockerRunner):
        lines += ["", "container spec", json.dumps(runner.container_spec(request, run_id).describe(), indent=2)]
    return "\n".join(lines) + "\n"
