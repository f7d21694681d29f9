"""Which planned tests a node image can host (pure, but for the probe command's text).

Kafka's node image (``tests/docker/Dockerfile``) holds what many tests need beyond the checkout:
old releases at ``/opt/kafka-<version>`` (every test with a version parameter runs one),
kibosh at ``/opt/kibosh`` (``kibosh_test``), ``ping``/``iperf`` (``network_degrade_test``).
collect's own default image (``docker/graalvm-jit``) has none of these. Rather than letting
such tests fail for an hour, the plan excludes the ones the chosen image cannot host and says
so in one line with the count. What an image has is probed by listing ``/opt`` and
``command -v`` in a throwaway container (``PROBE_SCRIPT``); the default image's facts come
from its recipe.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

from metadata_pipeline.collect.plan import PlannedTest

__all__ = ["ImageFacts", "Needs", "needs", "cannot_host", "split", "parse_probe", "PROBE_SCRIPT",
           "DEFAULT_IMAGE_FACTS", "summary_line"]

PROBED_COMMANDS = ("ping", "iperf", "tc", "iptables")
PROBE_SCRIPT = ('for d in /opt/kafka-*; do [ -d "$d" ] && echo "version ${d#/opt/kafka-}"; done; '
                '[ -e /opt/kibosh/build/kibosh ] && echo kibosh; '
                'for c in ' + " ".join(PROBED_COMMANDS) + '; do command -v "$c" >/dev/null 2>&1 && echo "command $c"; '
                'done; true')
_VERSION = re.compile(r"\d+(?:\.\d+)+")


@dataclass(frozen=True)
class ImageFacts:
    image: str
    versions: frozenset[str]  # X of every /opt/kafka-X
    kibosh: bool
    commands: frozenset[str]  # of PROBED_COMMANDS, those on PATH
    source: str  # "probed" or where the facts come from

    def describe(self) -> str:
        versions = f"{len(self.versions)} old release(s) under /opt" if self.versions else "no old releases under /opt"
        return (f"{self.image} ({self.source}): {versions}, {'kibosh' if self.kibosh else 'no kibosh'}, "
                f"commands: {', '.join(sorted(self.commands)) or 'none of ' + '/'.join(PROBED_COMMANDS)}")


# docker/graalvm-jit: Debian with iproute2 (tc) and iptables, no releases, no kibosh, no ping/iperf.
DEFAULT_IMAGE_FACTS = ImageFacts("docker/graalvm-jit", frozenset(), False, frozenset({"tc", "iptables"}),
                                 "its recipe")


@dataclass(frozen=True)
class Needs:
    versions: tuple[str, ...] = ()
    kibosh: bool = False
    commands: tuple[str, ...] = ()


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)


def needs(test: PlannedTest) -> Needs:
    """What the test needs on its nodes beyond the checkout (kafkatest's conventions at 1eb7644)."""
    args = test.args if isinstance(test.args, dict) else {}
    versions = sorted({v for key, value in args.items() if "version" in key.lower()
                       for v in _strings(value) if _VERSION.fullmatch(v)})
    name = test.file.rsplit("/", 1)[-1]
    kibosh = name == "kibosh_test.py"
    commands = ("ping", "iperf", "tc") if name == "network_degrade_test.py" else ()
    return Needs(tuple(versions), kibosh, commands)


def cannot_host(test: PlannedTest, facts: ImageFacts) -> str | None:
    """Why the image cannot host the test, or None."""
    need = needs(test)
    missing = [v for v in need.versions if v not in facts.versions]
    if missing:
        return f"needs /opt/kafka-{missing[0]}" + (f" (+{len(missing) - 1} more)" if len(missing) > 1 else "")
    if need.kibosh and not facts.kibosh:
        return "needs kibosh (/opt/kibosh)"
    absent = [c for c in need.commands if c not in facts.commands]
    if absent:
        return f"needs {'/'.join(absent)}"
    return None


def split(tests: Iterable[PlannedTest], facts: ImageFacts) -> tuple[list[PlannedTest], dict[str, str]]:
    """The tests the image hosts, and test id -> reason for the others."""
    hosted, excluded = [], {}
    for test in tests:
        reason = cannot_host(test, facts)
        if reason is None:
            hosted.append(test)
        else:
            excluded[test.test_id] = reason
    return hosted, excluded


def parse_probe(image: str, text: str) -> ImageFacts:
    versions, commands, kibosh = set(), set(), False
    for line in text.splitlines():
        kind, _, value = line.strip().partition(" ")
        if kind == "version" and value:
            versions.add(value)
        elif kind == "command" and value in PROBED_COMMANDS:
            commands.add(value)
        elif kind == "kibosh":
            kibosh = True
    return ImageFacts(image, frozenset(versions), kibosh, frozenset(commands), "probed")


def summary_line(excluded: dict[str, str], facts: ImageFacts) -> str:
    """One line: how many tests the image cannot host, by reason kind."""
    kinds: dict[str, int] = {}
    for reason in excluded.values():
        kind = reason.split(" (", 1)[0]
        kind = "needs an old release under /opt/kafka-<version>" if kind.startswith("needs /opt/kafka-") else kind
        kinds[kind] = kinds.get(kind, 0) + 1
    # "1 needs kibosh", "429 need an old release ...": the verb agrees with the count.
    detail = "; ".join(f"{n} {kind if n == 1 else kind.replace('needs ', 'need ', 1)}"
                       for kind, n in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0])))
    return (f"excluded {len(excluded)} test(s) the node image {facts.image} cannot host ({detail}); "
            "--node-image names one that can (e.g. Kafka's own, built FROM a GraalVM JDK)")
