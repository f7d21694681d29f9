#!/usr/bin/env bash
# A private Docker engine for tests and CI: dockerd as root on its own socket, data and pidfile,
# so it never touches (or depends on) a system-wide engine.
#
#   .ci/docker-engine.sh start   install docker.io/mmdebstrap if absent, start dockerd, wait for it
#   .ci/docker-engine.sh env     print `export DOCKER_HOST=unix://...` (eval it)
#   .ci/docker-engine.sh status  exit 0 when the engine answers, 1 otherwise
#   .ci/docker-engine.sh stop    stop the dockerd started by `start` (by its pidfile)
#
# Every subcommand is idempotent. MP_DOCKER_DIR (default /tmp/mp-docker) holds socket, data,
# exec root, pidfile and the daemon log.
set -euo pipefail

dir="${MP_DOCKER_DIR:-/tmp/mp-docker}"
sock="$dir/docker.sock"
pidfile="$dir/dockerd.pid"
log="$dir/dockerd.log"
start_timeout="${MP_DOCKER_START_TIMEOUT:-60}"

die() { echo "docker-engine: $*" >&2; exit 1; }
say() { echo "docker-engine: $*" >&2; }

answers() {
    # _ping is the cheapest request that proves the API is up.
    [ -S "$sock" ] && curl -sf --max-time 3 --unix-socket "$sock" http://localhost/_ping >/dev/null 2>&1
}

running_pid() {
    [ -f "$pidfile" ] || return 1
    local pid
    pid="$(cat "$pidfile" 2>/dev/null)" || return 1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

apt_updated=0
apt_install() {
    [ "$(id -u)" = 0 ] || die "installing $* needs root"
    if [ "$apt_updated" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

ensure_installed() {
    local missing=()
    command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
    command -v mmdebstrap >/dev/null 2>&1 || missing+=(mmdebstrap)
    command -v curl >/dev/null 2>&1 || missing+=(curl)
    if [ "${#missing[@]}" -gt 0 ]; then
        say "installing ${missing[*]} with apt-get"
        apt_install "${missing[@]}"
    fi
}

start() {
    if answers; then
        say "already running on $sock"
        return 0
    fi
    [ "$(id -u)" = 0 ] || die "dockerd must run as root (uid is $(id -u))"
    ensure_installed
    mkdir -p "$dir/data" "$dir/exec"
    if pid="$(running_pid)"; then
        die "dockerd (pid $pid) runs but does not answer on $sock; see $log or run '$0 stop'"
    fi
    rm -f "$pidfile" "$sock"
    local started=$SECONDS
    # setsid: the daemon must outlive the shell (or pytest process) that started it.
    setsid dockerd \
        --host "unix://$sock" \
        --data-root "$dir/data" \
        --exec-root "$dir/exec" \
        --pidfile "$pidfile" \
        >"$log" 2>&1 </dev/null &
    local child=$!
    until answers; do
        if ! kill -0 "$child" 2>/dev/null; then
            tail -n 20 "$log" >&2 || true
            die "dockerd exited during start-up; full log: $log"
        fi
        if [ $((SECONDS - started)) -ge "$start_timeout" ]; then
            tail -n 20 "$log" >&2 || true
            die "dockerd did not answer on $sock within ${start_timeout}s; full log: $log"
        fi
        sleep 0.2
    done
    say "dockerd (pid $child) answers on $sock after $((SECONDS - started))s"
}

stop() {
    local pid
    if ! pid="$(running_pid)"; then
        rm -f "$pidfile"
        say "not running"
        return 0
    fi
    kill -TERM "$pid"
    # dockerd stops its containers (10 s grace each) and its containerd before it exits.
    for _ in $(seq 1 150); do
        kill -0 "$pid" 2>/dev/null || { say "stopped (pid $pid)"; rm -f "$pidfile"; return 0; }
        sleep 0.2
    done
    say "dockerd (pid $pid) ignored SIGTERM for 30s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$pidfile"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    env) echo "export DOCKER_HOST=unix://$sock" ;;
    status) answers ;;
    *) echo "usage: $0 start|stop|env|status   (MP_DOCKER_DIR=$dir)" >&2; exit 2 ;;
esac
