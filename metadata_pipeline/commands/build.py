"""``build``: Kafka's native broker executable from a distribution and the configs, smoke-tested."""

from __future__ import annotations

import argparse

HELP = "build the native broker executable (native-image) and smoke-test it"
DESCRIPTION = """\
Build Kafka's native broker executable OUT/kafka.Kafka from the distribution at --kafka-dist
(a release .tgz or an unpacked release: every jar in its libs/ goes on the class path) and the
configs directory, with the options Kafka's own native image uses
(metadata_pipeline/nativebuild/native-image-options.txt, or --options-file). Legacy configs give one
-H:<Kind>ConfigurationFiles= flag per file present; a unified reachability-metadata.json gives
-H:ConfigurationFileDirectories=.

Checked before native-image runs (exit 2): the configs pass `validate` and hold no agent .lock;
the distribution has libs/ with jars; the entry point class and its main(String[]) are in them;
there is a GraalVM for JDK 21+ (23+ for unified configs).

native-image runs locally ($GRAALVM_HOME/bin/native-image, else $JAVA_HOME/bin/native-image) or
in a container of --graalvm-image through Docker (DOCKER_HOST); --runner auto prefers a local
GraalVM. Its output is streamed; the size of the executable and the build time are reported.

Then the smoke test (--no-smoke skips it): the executable formats storage with a fresh cluster
id (`setup`, as Kafka's native image does) and starts a broker on a loopback port; reported are
the time until it accepts connections, its peak RSS and a clean stop on SIGTERM. When the
distribution has bin/kafka-server-start.sh and there is a java, the JVM broker is measured the
same way, for the ratio (KIP-974: ~130 ms native vs ~1150 ms JVM).

Exit codes: 0 built (and smoke passed), 1 native-image or the smoke test failed, 2 refused.

examples:
  metadata-pipeline build --kafka-dist kafka_2.13-3.8.0.tgz --dry-run
  metadata-pipeline build --kafka-dist kafka_2.13-3.8.0.tgz --configs native-image-configs -o out/native
  metadata-pipeline build --kafka-dist ../kafka/core/build/distributions/kafka_2.13-3.9.0.tgz --runner docker
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("build", help=HELP, description=DESCRIPTION,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kafka-dist", required=True, metavar="PATH", help="Kafka release .tgz or unpacked release (with libs/)")
    p.add_argument("--configs", default="native-image-configs", metavar="DIR",
                   help="configs directory to build with (default: native-image-configs)")
    p.add_argument("-o", "--output", default="out/native", metavar="OUT",
                   help="directory for the executable kafka.Kafka (default: out/native)")
    p.add_argument("--entry-point", default="kafka.docker.KafkaDockerWrapper", metavar="CLASS",
                   help="main class of the executable (default: kafka.docker.KafkaDockerWrapper, KIP-974's wrapper; "
                        "the smoke test speaks that wrapper's setup/start, so use --no-smoke with another class)")
    p.add_argument("--runner", choices=("auto", "docker", "local"), default="auto",
                   help="where native-image runs (default auto: a local GraalVM if there is one, else Docker)")
    p.add_argument("--graalvm-image", metavar="IMAGE",
                   help="GraalVM image for the docker runner, which it selects under --runner auto "
                        "(default: ghcr.io/graalvm/native-image-community:21)")
    p.add_argument("--options-file", metavar="FILE",
                   help="native-image options, one per line, instead of the repository's native-image-options.txt")
    p.add_argument("--dry-run", action="store_true",
                   help="check the inputs, print the native-image command line and container spec, and stop")
    p.add_argument("--smoke", action=argparse.BooleanOptionalAction, default=True,
                   help="smoke-test the executable after the build (default: on)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import os
    import sys
    from pathlib import Path

    from metadata_pipeline.nativebuild.configs import check_configs
    from metadata_pipeline.nativebuild.distribution import find_entry_point, open_distribution
    from metadata_pipeline.nativebuild.options import DEFAULT_OPTIONS_FILE, read_options
    from metadata_pipeline.nativebuild.runner import BuildRequest, choose_runner
    from metadata_pipeline.errors import InputError, UsageError

    if args.runner == "local" and args.graalvm_image:
        raise UsageError("--graalvm-image goes with --runner docker (or auto), not --runner local")
    options_file = Path(args.options_file) if args.options_file else DEFAULT_OPTIONS_FILE
    options = read_options(options_file)
    configs = check_configs(Path(args.configs))
    out = Path(args.output).absolute()
    if out.exists() and not out.is_dir():
        raise InputError(f"{args.output}: exists and is not a directory (-o names the output directory)")

    def say(line: str) -> None:
        print(line, flush=True)

    with open_distribution(Path(args.kafka_dist)) as dist:
        entry = find_entry_point(dist, args.entry_point)
        runner = choose_runner(args.runner, args.graalvm_image, os.environ, connect=not args.dry_run)
        request = BuildRequest(dist.libs, configs, options, entry.class_name, out)
        if args.dry_run:
            from metadata_pipeline.nativebuild.dry_run import render_dry_run
            from metadata_pipeline.nativebuild.smoke import jvm_unavailable
            from metadata_pipeline.containers import new_run_id

            sys.stdout.write(render_dry_run(
                dist=dist, entry=entry, configs=configs, options_file=options_file, request=request,
                runner=runner, smoke=args.smoke, jvm_note=jvm_unavailable(dist.root, os.environ),
                run_id=new_run_id()))
            return 0
        say(f"building {request.binary} from {dist.source} ({len(dist.jars)} jars, entry point {entry.class_name} "
            f"in {entry.jar.name}) with {configs.directory} ({configs.describe()}), runner {runner.kind} ({runner.reason})")
        result = runner.run(request, say)
        say(f"built {result.binary}: {_size(result.size_bytes)} in {_duration(result.seconds)} "
            f"({result.version.text})")
        if not args.smoke:
            return 0
        from metadata_pipeline.nativebuild.smoke import report_lines, run_smoke

        report = run_smoke(result.binary, dist.root, os.environ, progress=say)
        for line in report_lines(report):
            say(line)
    return 0


def _size(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size} bytes"


def _duration(seconds: float) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}m {rest:04.1f}s" if minutes else f"{rest:.1f}s"
