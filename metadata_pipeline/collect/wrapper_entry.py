"""The native binary's own entry point under the agent: ``kafka.docker.KafkaDockerWrapper``.

kafkatest never launches the wrapper (it starts ``kafka.Kafka`` through kafka-server-start.sh),
so what the wrapper's own code needs (``setup`` prepares the configs and formats storage,
``start`` runs the broker) is never collected by the system tests. This step runs it on a test
node the way Kafka's ``docker/native/launch`` does: ``setup --default-configs-dir D
--mounted-configs-dir M --final-configs-dir F`` with ``CLUSTER_ID`` set, then ``start --config
F/server.properties``, with Kafka's console producer and consumer against it; then a SIGTERM,
so the agent's final write happens. The defaults directory holds the checkout's own config
files, as Kafka's native image holds its distribution's (``config/kraft/server.properties``
or ``config/server.properties``, and the log4j files of that version). The JVMs start through
the checkout's ``bin/kafka-run-class.sh`` with ``JAVA_HOME`` on the shim, so the agent attaches
as to any instrumented main class. The step's output is kept like a test's, under
``WRAPPER_ENTRY_ID``, with the step's own log in ``.ducktape/``.
"""

from __future__ import annotations

from metadata_pipeline.collect.instrumentation import KAFKA_MOUNT
from metadata_pipeline.kraft import new_cluster_id

__all__ = ["WRAPPER_ENTRY_ID", "WRAPPER_MAIN", "STEP_DIR", "STEP_LOG", "READY", "script"]

WRAPPER_ENTRY_ID = "metadata_pipeline.wrapper_entry.KafkaDockerWrapper.setup_then_start"
WRAPPER_MAIN = "kafka.docker.KafkaDockerWrapper"
STEP_DIR = "/mnt/metadata-pipeline-wrapper"
STEP_LOG = STEP_DIR + "/wrapper-entry.log"


# The broker's defaults as docker/native/Dockerfile copies them: config/kraft/server.properties
# where it exists (in 3.x/4.0-SNAPSHOT checkouts config/server.properties is ZooKeeper's, which
# lacks process.roles), else config/server.properties (4.x, KRaft only); and the log4j files.
DEFAULT_CONFIGS = r"""if [ -f "$kafka/config/kraft/server.properties" ]; then
    cp "$kafka/config/kraft/server.properties" "$dir/default/"
elif [ -f "$kafka/config/server.properties" ]; then
    cp "$kafka/config/server.properties" "$dir/default/"
fi
for f in config/log4j.properties config/tools-log4j.properties config/log4j2.yaml config/tools-log4j2.yaml; do
    if [ -f "$kafka/$f" ]; then cp "$kafka/$f" "$dir/default/"; fi
done
"""


# Ready when the broker says so or when its listener accepts: the wrapper's setup writes the
# final log4j config from the defaults, and where they hold no log4j2.yaml for its log4j 2
# (a 3.x-era config/ beside 4.x jars) it writes root ERROR with no appender: no "started" line.
READY = r"""grep -q "Kafka Server started" "$dir/start.log" || (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null"""


def script(*, ready_timeout: int = 180, messages: int = 3) -> str:
    """The step, for ``bash -c`` on a node; exits 0 when the produced messages were consumed."""
    return rf"""set -u
kafka={KAFKA_MOUNT} dir={STEP_DIR} port=9092
rm -rf "$dir" /tmp/kraft-combined-logs
mkdir -p "$dir/default" "$dir/mounted" "$dir/final"
exec > "{STEP_LOG}" 2>&1
# The defaults, as Kafka's native image holds them: the distribution's (here: checkout's) configs.
{DEFAULT_CONFIGS}[ -f "$dir/default/server.properties" ] || {{ echo "no config/kraft/server.properties or config/server.properties in $kafka"; exit 3; }}
export CLUSTER_ID={new_cluster_id()}
# file: URLs, as Kafka's launch and kafkatest give them: log4j 2 also looks a bare path up as a
# class-path resource while setup has not written it yet, and the agent keeps that name.
export KAFKA_LOG4J_OPTS="-Dlog4j2.configurationFile=file:$dir/final/log4j2.yaml -Dlog4j.configuration=file:$dir/final/log4j.properties"
echo "== {WRAPPER_MAIN} setup"
"$kafka/bin/kafka-run-class.sh" {WRAPPER_MAIN} setup --default-configs-dir "$dir/default" \
    --mounted-configs-dir "$dir/mounted" --final-configs-dir "$dir/final" || {{ echo "setup failed"; exit 4; }}
echo "== {WRAPPER_MAIN} start"
"$kafka/bin/kafka-run-class.sh" {WRAPPER_MAIN} start --config "$dir/final/server.properties" > "$dir/start.log" 2>&1 &
pid=$!
stop() {{ kill -TERM "$pid" 2>/dev/null; for _ in $(seq 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done; cat "$dir/start.log"; }}
ready=0
for _ in $(seq {ready_timeout * 2}); do
    if {READY}; then ready=1; break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
done
if [ "$ready" != 1 ]; then echo "the wrapper's broker did not start"; stop; exit 5; fi
unset KAFKA_LOG4J_OPTS
echo "== produce and consume"
seq 1 {messages} | sed 's/^/wrapper-entry-/' | "$kafka/bin/kafka-console-producer.sh" \
    --bootstrap-server "localhost:$port" --topic wrapper-entry
got=$("$kafka/bin/kafka-console-consumer.sh" --bootstrap-server "localhost:$port" --topic wrapper-entry \
      --from-beginning --max-messages {messages} --timeout-ms 60000 2>/dev/null | grep -c '^wrapper-entry-')
echo "consumed $got of {messages}"
stop
rm -rf /tmp/kraft-combined-logs
[ "$got" = {messages} ] || exit 6
"""
