#!/usr/bin/env python3
"""STAND-IN for a Kafka broker executable: NOT Kafka. The native-image stand-in writes this file
as its "executable", and the tests run it, so that build's smoke test can be exercised where
no GraalVM and no Kafka exist.

It speaks the command lines the smoke test uses, with Kafka's behaviour where the smoke test
depends on it:

  setup --default-configs-dir D --mounted-configs-dir M --final-configs-dir F [-Dk=v ...]
      KafkaDockerWrapper's setup: needs CLUSTER_ID in the environment; writes F/server.properties
      (M's, plus KAFKA_* variables as properties; D's when that leaves it empty), copies the
      log4j files, then formats storage.
  start --config FILE [-Dk=v ...]               KafkaDockerWrapper's start.
  storage format -t ID -c FILE                  what bin/kafka-storage.sh format does.
  server-start FILE                             what bin/kafka-server-start.sh does.

Formatting writes meta.properties into every log.dirs directory (refusing a bad cluster id or a
formatted directory, as Kafka does); starting refuses unformatted directories, then opens every
listener of `listeners` and accepts connections until SIGTERM, on which it closes them and
exits 143, as a JVM broker does. -Dk=v arguments are accepted and ignored (a native executable
reads them as system properties).

Knobs (environment), for tests:
  STANDIN_BROKER_READY_DELAY_MS  wait this long before listening (default 50)
  STANDIN_BROKER_HEAP_MB         touch this much memory before listening (default 0)
  STANDIN_BROKER_ON_SIGTERM      exit (default) | ignore | die (no handler: killed by the signal)
  STANDIN_BROKER_EXIT_EARLY      exit with this code instead of listening
  STANDIN_BROKER_RECORD          append one JSON line per invocation (mode, argv, cwd,
                                 CLUSTER_ID, names of KAFKA_* variables) to this file
"""

import base64
import binascii
import json
import os
import select
import shutil
import signal
import socket
import sys
import time
import uuid

EXCLUDED_ENV = {"KAFKA_VERSION", "KAFKA_HEAP_OPT", "KAFKA_LOG4J_OPTS", "KAFKA_OPTS", "KAFKA_JMX_OPTS",
                "KAFKA_JVM_PERFORMANCE_OPTS", "KAFKA_GC_LOG_OPTS", "KAFKA_LOG4J_ROOT_LOGLEVEL",
                "KAFKA_LOG4J_LOGGERS", "KAFKA_TOOLS_LOG4J_LOGLEVEL", "KAFKA_JMX_HOSTNAME"}
LOG4J_FILES = ("log4j.properties", "tools-log4j.properties", "log4j2.yaml", "tools-log4j2.yaml")


def fail(message, code=1):
    print(message, file=sys.stderr, flush=True)
    sys.exit(code)


def record(mode, argv):
    path = os.environ.get("STANDIN_BROKER_RECORD")
    if path:
        entry = {"mode": mode, "argv": argv, "cwd": os.getcwd(), "cluster_id": os.environ.get("CLUSTER_ID"),
                 "kafka_env": sorted(k for k in os.environ if k.startswith("KAFKA_")),
                 "log_dir": os.environ.get("LOG_DIR"), "pid": os.getpid()}
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry) + "\n")


def options(args, names):
    """Values of --long/-s options in args (flags with one value each); -D arguments dropped."""
    values, rest = {}, []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg.startswith("-D") and len(arg) > 2:  # a system property, not the short -D option
            i += 1
            continue
        key = next((name for name, spellings in names.items() if arg in spellings), None)
        if key is not None:
            if i + 1 >= len(args):
                fail(f"argument {arg}: expected one argument")
            values[key] = args[i + 1]
            i += 2
            continue
        if arg.startswith("--") and "=" in arg:
            flag, value = arg.split("=", 1)
            key = next((name for name, spellings in names.items() if flag in spellings), None)
            if key is not None:
                values[key] = value
                i += 1
                continue
        rest.append(arg)
        i += 1
    return values, rest


def read_properties(path):
    props = {}
    try:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                line = line.strip()
                if line and not line.startswith(("#", "!")) and "=" in line:
                    key, value = line.split("=", 1)
                    props[key.strip()] = value.strip()
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror}")
    return props


def log_dirs(props):
    dirs = props.get("log.dirs") or props.get("log.dir")
    if not dirs:
        fail("log.dirs is not set")
    return [d for d in dirs.split(",") if d]


def check_cluster_id(cluster_id):
    try:
        raw = base64.urlsafe_b64decode(cluster_id + "==")
    except (binascii.Error, ValueError):
        raw = b""
    if len(cluster_id) != 22 or len(raw) != 16:
        fail(f"Cluster ID string {cluster_id} does not appear to be a valid UUID")


def format_storage(config, cluster_id):
    check_cluster_id(cluster_id)
    props = read_properties(config)
    for directory in log_dirs(props):
        meta = os.path.join(directory, "meta.properties")
        if os.path.exists(meta):
            fail(f"Log directory {directory} is already formatted. Use --ignore-formatted to ignore this "
                 "directory and format the others.")
    for directory in log_dirs(props):
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, "meta.properties"), "w", encoding="utf-8") as fh:
            fh.write(f"#\n#{time.ctime()}\nnode.id={props.get('node.id', '1')}\n"
                     f"directory.id={base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip('=')}\n"
                     f"version=1\ncluster.id={cluster_id}\n")
        print(f"Formatting {directory} with metadata.version 3.8-IV0.", flush=True)


def setup(args):
    values, _ = options(args, {"default": ("--default-configs-dir", "-D"),
                               "mounted": ("--mounted-configs-dir", "-M"),
                               "final": ("--final-configs-dir", "-F")})
    for key in ("default", "mounted", "final"):
        if key not in values:
            fail(f"argument --{key}-configs-dir is required")
    cluster_id = os.environ.get("CLUSTER_ID")
    if cluster_id is None:
        fail("CLUSTER_ID environment variable is not set.")
    default, mounted, final = values["default"], values["mounted"], values["final"]
    from_env = [f"{k[len('KAFKA_'):].lower().replace('_', '.')}={v}" for k, v in sorted(os.environ.items())
                if k.startswith("KAFKA_") and k not in EXCLUDED_ENV]
    target = os.path.join(final, "server.properties")
    mounted_file = os.path.join(mounted, "server.properties")
    if os.path.exists(mounted_file):
        shutil.copyfile(mounted_file, target)
        with open(target, "a", encoding="utf-8") as fh:
            fh.write("".join("\n" + line for line in from_env))
    else:
        with open(target, "w", encoding="utf-8") as fh:
            fh.write("\n".join(from_env))
    with open(target, encoding="utf-8") as fh:
        if not fh.read().strip():
            shutil.copyfile(os.path.join(default, "server.properties"), target)
    for name in LOG4J_FILES:
        for source in (os.path.join(default, name), os.path.join(mounted, name)):
            if os.path.exists(source):
                shutil.copyfile(source, os.path.join(final, name))
    format_storage(target, cluster_id)


stopping = False


def on_sigterm(signum, frame):
    global stopping
    stopping = True


def serve(config):
    props = read_properties(config)
    for directory in log_dirs(props):
        if not os.path.exists(os.path.join(directory, "meta.properties")):
            fail(f"No `meta.properties` found in {directory} (have you run `kafka-storage.sh` to format the directory?)")
    behaviour = os.environ.get("STANDIN_BROKER_ON_SIGTERM", "exit")
    if behaviour == "exit":
        signal.signal(signal.SIGTERM, on_sigterm)
    elif behaviour == "ignore":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    time.sleep(int(os.environ.get("STANDIN_BROKER_READY_DELAY_MS", "50")) / 1000)
    heap = bytearray(b"\x01") * (int(os.environ.get("STANDIN_BROKER_HEAP_MB", "0")) << 20)  # pages touched
    early = os.environ.get("STANDIN_BROKER_EXIT_EARLY")
    if early:
        fail("stand-in broker: exiting early as STANDIN_BROKER_EXIT_EARLY asks", int(early))
    listeners = []
    for listener in props.get("listeners", "").split(","):
        if "://" not in listener:
            continue
        host, _, port = listener.split("://", 1)[1].rpartition(":")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host or "0.0.0.0", int(port)))
        sock.listen(50)
        listeners.append(sock)
    if not listeners:
        fail("listeners is not set")
    print(f"[KafkaRaftServer nodeId={props.get('node.id', '1')}] Kafka Server started (stand-in, {len(heap) >> 20} MB held)",
          flush=True)
    while not stopping:
        try:
            ready, _, _ = select.select(listeners, [], [], 0.1)
        except InterruptedError:
            continue
        for sock in ready:
            connection, _ = sock.accept()
            connection.close()
    for sock in listeners:
        sock.close()
    print("[KafkaRaftServer nodeId=1] shut down completed (stand-in)", flush=True)
    sys.exit(143)


def main(argv):
    if not argv:
        fail("Error: No operation input provided. Please provide a valid operation: 'setup'.")
    mode, args = argv[0], argv[1:]
    record(mode, argv)
    if mode == "setup":
        setup(args)
    elif mode == "start":
        values, _ = options(args, {"config": ("--config", "-C")})
        if "config" not in values:
            fail("argument --config/-C is required")
        serve(values["config"])
    elif mode == "storage":
        if not args or args[0] != "format":
            fail("stand-in storage tool: only 'format' is supported")
        values, _ = options(args[1:], {"cluster": ("-t", "--cluster-id"), "config": ("-c", "--config")})
        if "cluster" not in values or "config" not in values:
            fail("format needs -t CLUSTER_ID and -c FILE")
        format_storage(values["config"], values["cluster"])
    elif mode == "server-start":
        if len(args) != 1:
            fail("USAGE: kafka-server-start.sh server.properties")
        serve(args[0])
    else:
        fail(f"Unknown operation {mode}. Please provide a valid operation: 'setup'.")


if __name__ == "__main__":
    main(sys.argv[1:])
