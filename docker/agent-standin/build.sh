#!/bin/sh
# Builds libnative-image-agent.so, the stand-in for GraalVM's native-image tracing agent,
# into OUTPUT_DIR. Needs gcc (or $CC) and a JDK: $JAVA_HOME, else the JDK that owns javac.
# Usage: build.sh OUTPUT_DIR
set -eu

if [ "$#" -ne 1 ] || [ -z "$1" ]; then
    echo "usage: $0 OUTPUT_DIR" >&2
    exit 2
fi
out=$1
src="$(cd "$(dirname "$0")" && pwd)/native_image_agent_standin.c"

if [ -z "${JAVA_HOME:-}" ]; then
    javac_path=$(command -v javac || true)
    if [ -z "$javac_path" ]; then
        echo "$0: JAVA_HOME is not set and javac is not on PATH: install a JDK (e.g. openjdk-17-jdk-headless)" >&2
        exit 2
    fi
    # .../bin/javac -> the JDK directory
    JAVA_HOME=$(dirname "$(dirname "$(readlink -f "$javac_path")")")
fi
if [ ! -f "$JAVA_HOME/include/jvmti.h" ]; then
    echo "$0: $JAVA_HOME/include/jvmti.h not found: JAVA_HOME must be a JDK, not a JRE" >&2
    exit 2
fi
platform=$(uname -s | tr '[:upper:]' '[:lower:]')

mkdir -p "$out"
${CC:-gcc} -std=gnu11 -O2 -g -Wall -Wextra -Werror=implicit-function-declaration \
    -fPIC -shared -fvisibility=hidden \
    -I"$JAVA_HOME/include" -I"$JAVA_HOME/include/$platform" \
    -o "$out/libnative-image-agent.so" "$src"
echo "$out/libnative-image-agent.so"
