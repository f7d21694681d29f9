#!/usr/bin/env bash
# Build the local base image metadata-pipeline/base:bookworm WITHOUT any container registry:
# mmdebstrap makes a Debian bookworm root file system from this machine's own apt sources and
# `docker import` turns it into an image. CI uses it as BASE_IMAGE for docker/graalvm-jit and as
# the base of the GraalVM stand-in (docker/agent-standin/Dockerfile.graalvm-standin).
#
#   docker/base-image.sh [--force] [--name IMAGE]
#
# Needs root, mmdebstrap, the docker CLI and a Docker engine (DOCKER_HOST is honoured;
# .ci/docker-engine.sh start provides all three). An existing image is reused unless --force.
# MP_APT_SOURCES overrides which host apt sources file is used.
#
# The host's extra CA certificates (/usr/local/share/ca-certificates/*.crt) are installed in the
# image so that pip and apt over HTTPS work behind an intercepting proxy. That is a property of
# the machine that builds the image, which is why only this local image gets them.
set -euo pipefail

name="metadata-pipeline/base:bookworm"
force=0
while [ $# -gt 0 ]; do
    case "$1" in
        --force) force=1 ;;
        --name) name="${2:?--name needs a value}"; shift ;;
        -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
        *) echo "base-image: unknown argument '$1'" >&2; exit 2 ;;
    esac
    shift
done

# Keep in step with docker/graalvm-jit/Dockerfile (NODE_PACKAGES): when the base already holds
# every package the node image needs, that build runs without apt and without network.
packages=(
    openjdk-17-jdk-headless
    python3 python3-venv python3-pip python3-dev
    openssh-server openssh-client
    gcc libc6-dev
    procps rsync ca-certificates iproute2
    sudo netcat-openbsd iptables
)

die() { echo "base-image: $*" >&2; exit 1; }

host_sources() {
    # The file is passed to mmdebstrap as the "mirror", so the image gets exactly the host's
    # (working) Debian sources and no mirror host name is written in this script.
    if [ -n "${MP_APT_SOURCES:-}" ]; then
        [ -f "$MP_APT_SOURCES" ] || die "MP_APT_SOURCES=$MP_APT_SOURCES is not a file"
        echo "$MP_APT_SOURCES"
        return
    fi
    local f
    for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list.d/*.sources; do
        if [ -f "$f" ] && grep -qE '^Suites:.*\bbookworm\b' "$f"; then echo "$f"; return; fi
    done
    f=/etc/apt/sources.list
    if [ -f "$f" ] && grep -qE '^deb .*\bbookworm\b' "$f"; then echo "$f"; return; fi
    die "no apt sources for bookworm found in /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list; set MP_APT_SOURCES"
}

command -v docker >/dev/null || die "the docker CLI is missing (run .ci/docker-engine.sh start)"
docker version >/dev/null 2>&1 || die "no Docker engine answers (DOCKER_HOST=${DOCKER_HOST:-unset}); run: eval \"\$(.ci/docker-engine.sh env)\""

if [ "$force" = 0 ] && docker image inspect "$name" >/dev/null 2>&1; then
    echo "base-image: $name exists; reusing it (--force rebuilds)" >&2
    exit 0
fi

[ "$(id -u)" = 0 ] || die "mmdebstrap needs root here (uid is $(id -u))"
command -v mmdebstrap >/dev/null || die "mmdebstrap is missing (apt-get install mmdebstrap)"
sources="$(host_sources)"

ca_hook=(--customize-hook='true')
if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
    ca_hook=(--customize-hook='cp /usr/local/share/ca-certificates/*.crt "$1/usr/local/share/ca-certificates/" && chroot "$1" update-ca-certificates >/dev/null 2>&1')
fi

started=$SECONDS
echo "base-image: building $name from $sources" >&2
# Docs, man pages and translations are never read in a test node, so they are left out; the
# JDK's postinst still needs /usr/share/man/man1 to exist (it registers java.1 as an alternative).
# The import goes to a temporary tag first: a failed mmdebstrap still feeds `docker import` an
# (empty) stream, which must never end up under the real name.
partial="${name%%:*}:partial-$$"
trap 'docker rmi -f "$partial" >/dev/null 2>&1 || true' EXIT
mmdebstrap --variant=apt --quiet \
    --include="$(IFS=,; echo "${packages[*]}")" \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --essential-hook='mkdir -p "$1/usr/share/man/man1"' \
    "${ca_hook[@]}" \
    bookworm - "$sources" \
| docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'LABEL metadata-pipeline.image=base' \
    --change 'CMD ["/bin/bash"]' \
    - "$partial" >/dev/null
docker tag "$partial" "$name"

size="$(docker image inspect --format '{{.Size}}' "$name")"
echo "base-image: built $name in $((SECONDS - started))s ($((size / 1000000)) MB)" >&2
