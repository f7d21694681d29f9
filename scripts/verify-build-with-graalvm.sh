#!/usr/bin/env bash
# What the test suite cannot verify without GraalVM, in one command, on a machine that has it:
# that native-image accepts the command `metadata-pipeline build` assembles, that the executable
# it writes formats storage and starts a real Kafka broker that stops cleanly on SIGTERM, and
# the real figures (time to ready, peak RSS, against the JVM broker of the same release).
#
#   scripts/verify-build-with-graalvm.sh [KAFKA_TGZ [CONFIGS_DIR]]
#
# Needs GraalVM for JDK 21+ in GRAALVM_HOME (or JAVA_HOME), or a Docker engine that can pull
# ghcr.io/graalvm/native-image-community:21 (RUNNER=docker forces it; GRAALVM_IMAGE picks another
# image). About 10 minutes and 8+ GB of memory for native-image.
#
# Without arguments it downloads the Kafka ${KAFKA_VERSION:-3.8.0} release (Scala ${SCALA_VERSION:-2.13})
# from archive.apache.org and, as CONFIGS_DIR, the native-image-configs Apache Kafka committed for
# that release (docker/native/native-image-configs), so that a failure points at this tool, not
# at the configs. Pass CONFIGS_DIR (e.g. native-image-configs) to verify configs this pipeline made.
#
# Output: out/verify-graalvm/ (kafka.Kafka and build.log). Exit 0 only when the build and the
# smoke test passed and kafka.Kafka is an ELF executable (not a stand-in's script).
set -euo pipefail
cd "$(dirname "$0")/.."

kafka_version="${KAFKA_VERSION:-3.8.0}"
scala_version="${SCALA_VERSION:-2.13}"
work="out/verify-graalvm"
mkdir -p "$work/downloads"

die() { echo "verify-build-with-graalvm: $*" >&2; exit 1; }
fetch() { curl --fail --location --silent --show-error --retry 3 -o "$2" "$1" || die "cannot download $1"; }

dist="${1:-}"
if [ -z "$dist" ]; then
    dist="$work/downloads/kafka_${scala_version}-${kafka_version}.tgz"
    [ -f "$dist" ] || fetch "https://archive.apache.org/dist/kafka/${kafka_version}/kafka_${scala_version}-${kafka_version}.tgz" "$dist"
fi
configs="${2:-}"
if [ -z "$configs" ]; then
    configs="$work/downloads/kafka-${kafka_version}-native-image-configs"
    mkdir -p "$configs"
    for kind in jni predefined-classes proxy reflect resource serialization; do
        [ -f "$configs/$kind-config.json" ] || fetch \
            "https://raw.githubusercontent.com/apache/kafka/${kafka_version}/docker/native/native-image-configs/$kind-config.json" \
            "$configs/$kind-config.json"
    done
fi

python=.venv/bin/python
if [ ! -x "$python" ]; then
    python3 -m venv .venv
    .venv/bin/pip install -q --disable-pip-version-check -e .
fi

args=(build --kafka-dist "$dist" --configs "$configs" -o "$work" --runner "${RUNNER:-auto}")
[ -n "${GRAALVM_IMAGE:-}" ] && args+=(--graalvm-image "$GRAALVM_IMAGE")
echo "verify-build-with-graalvm: metadata-pipeline ${args[*]}" >&2
"$python" -m metadata_pipeline "${args[@]}" 2>&1 | tee "$work/build.log"

binary="$work/kafka.Kafka"
[ "$(head -c 4 "$binary" | od -An -c | tr -d ' ')" = "177ELF" ] \
    || die "$binary is not an ELF executable: this was no GraalVM (a stand-in?)"
grep -q '^  native kafka.Kafka ' "$work/build.log" || die "no smoke test figures in $work/build.log"
echo "verify-build-with-graalvm: OK: $binary ($(wc -c < "$binary") bytes) built with $configs and smoke-tested" >&2
