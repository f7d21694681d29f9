"""Is the Kafka checkout built? The class path ``bin/kafka-run-class.sh`` would give a broker.

Kafka's script (apache/kafka 1eb7644) puts on its class path, among others,
``core/build/dependant-libs-${SCALA_VERSION}*/*``, the modules' ``*/build/libs/<module>*.jar``
(clients, streams, tools, trogdor, shell, connect/*), ``libs/*`` (how a release tarball runs)
and ``core/build/libs/kafka_${SCALA_BINARY_VERSION}*.jar``; with nothing there it exits
"Classpath is empty". ducker-ak runs ``./gradlew systemTestLibs`` before each run, which fills
the ``build/libs`` and ``dependant-libs`` directories. Without the broker's jar every test fails
after a minute of waiting, so collect checks before any container starts.
"""

from __future__ import annotations

import ast
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from metadata_pipeline.errors import InputError

__all__ = ["CheckoutCheck", "check_built", "require_built", "build_checkout", "BUILD_COMMAND",
           "CheckoutNotBuilt", "pinned_ducktape", "driver_requirements"]

BUILD_COMMAND = ("./gradlew", "systemTestLibs")
DEFAULT_SCALA_VERSION = "2.13.15"  # kafka-run-class.sh's own default


class CheckoutNotBuilt(InputError):
    """The checkout has no jars where kafka-run-class.sh looks (exit 2)."""


@dataclass(frozen=True)
class CheckoutCheck:
    kafka_dir: Path
    scala_version: str
    broker_jars: tuple[str, ...]  # relative to the checkout
    dependency_dirs: tuple[str, ...]
    release_libs: int  # files in libs/

    @property
    def built(self) -> bool:
        # The broker's main class must be on the class path, with its dependencies: a
        # systemTestLibs build (core/build/libs + core/build/dependant-libs-*) or a release libs/.
        in_libs = any(j.startswith("libs/") for j in self.broker_jars)
        return in_libs or bool(self.broker_jars and self.dependency_dirs)

    def describe(self) -> str:
        if not self.built:
            return (f"{self.kafka_dir}: not built: kafka-run-class.sh finds no broker jar "
                    f"(core/build/libs/kafka_{self.scala_binary}*.jar with core/build/dependant-libs-"
                    f"{self.scala_version}*, or libs/kafka_*.jar); run {' '.join(BUILD_COMMAND)} in it "
                    "(or collect --build)")
        where = ", ".join(self.broker_jars[:2])
        deps = f" + {', '.join(self.dependency_dirs)}" if self.dependency_dirs else f" ({self.release_libs} in libs/)"
        return f"built: {where}{deps} (the class path of kafka-run-class.sh, Scala {self.scala_version})"

    @property
    def scala_binary(self) -> str:
        return ".".join(self.scala_version.split(".")[:2])

    def as_json(self) -> dict[str, object]:
        return {"built": self.built, "broker_jars": list(self.broker_jars),
                "dependency_dirs": list(self.dependency_dirs), "scala_version": self.scala_version,
                "message": self.describe()}


def _scala_version(kafka_dir: Path) -> str:
    try:
        text = (kafka_dir / "gradle.properties").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return DEFAULT_SCALA_VERSION
    match = re.search(r"^scalaVersion=(\S+)", text, re.M)
    return match.group(1) if match else DEFAULT_SCALA_VERSION


def check_built(kafka_dir: str | Path) -> CheckoutCheck:
    root = Path(kafka_dir)
    scala = _scala_version(root)
    binary = ".".join(scala.split(".")[:2])

    def rel(paths) -> tuple[str, ...]:
        return tuple(sorted(str(p.relative_to(root)) for p in paths))

    jars = rel(p for p in root.glob(f"core/build/libs/kafka_{binary}*.jar") if p.is_file())
    jars += rel(p for p in root.glob("libs/kafka_*.jar") if p.is_file())
    deps = rel(p for p in root.glob(f"core/build/dependant-libs-{scala}*") if p.is_dir() and any(p.glob("*.jar")))
    libs = root / "libs"
    release = sum(1 for p in libs.iterdir() if p.is_file()) if libs.is_dir() else 0
    return CheckoutCheck(root, scala, jars, deps, release)


def require_built(kafka_dir: str | Path) -> CheckoutCheck:
    check = check_built(kafka_dir)
    if not check.built:
        raise CheckoutNotBuilt(check.describe())
    return check


def build_checkout(kafka_dir: str | Path, output: Callable[[str], None]) -> None:
    """``./gradlew systemTestLibs`` in the checkout, with its own Gradle wrapper, as ducker-ak does."""
    root = Path(kafka_dir)
    if not (root / "gradlew").is_file():
        raise InputError(f"{root}: --build needs the checkout's Gradle wrapper (no ./gradlew)")
    try:
        proc = subprocess.Popen(list(BUILD_COMMAND), cwd=root, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, errors="replace")
    except OSError as exc:
        raise InputError(f"{root}: cannot run {' '.join(BUILD_COMMAND)}: {exc.strerror}") from None
    tail: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        tail = (tail + [line.rstrip()])[-3:]
        output(line.rstrip())
    if proc.wait() != 0:
        raise InputError(f"{root}: {' '.join(BUILD_COMMAND)} exited {proc.returncode}: "
                         f"{' | '.join(t for t in tail if t.strip())}")


_DUCKTAPE_PIN = re.compile(r"""["']ducktape\s*==\s*([A-Za-z0-9_.+-]+)["']""")


def pinned_ducktape(kafka_dir: str | Path) -> str | None:
    """The ducktape version the checkout's ``tests/setup.py`` pins (Kafka's driver runs that one)."""
    try:
        text = (Path(kafka_dir) / "tests" / "setup.py").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    match = _DUCKTAPE_PIN.search(text)
    return match.group(1) if match else None


_INSTALL_REQUIRES = re.compile(r"install_requires\s*=\s*(\[[^\]]*\])", re.S)


def driver_requirements(kafka_dir: str | Path) -> tuple[str, ...]:
    """What kafkatest needs beside ducktape in the driver: the rest of ``tests/setup.py``'s
    ``install_requires`` (1eb7644: ``requests==2.31.0``, ``psutil==5.7.2``; ducktape 0.12.0
    imports psutil without declaring it, so a driver with ducktape alone cannot start)."""
    try:
        text = (Path(kafka_dir) / "tests" / "setup.py").read_text(encoding="utf-8", errors="replace")
        match = _INSTALL_REQUIRES.search(text)
        listed = ast.literal_eval(match.group(1)) if match else []
    except (OSError, ValueError, SyntaxError):
        return ()
    return tuple(r for r in listed if isinstance(r, str) and not re.match(r"\s*ducktape\b", r)
                 and re.fullmatch(r"[A-Za-z0-9_.\-\[\],]+\s*([<>=!~]=?\s*[A-Za-z0-9_.*+!-]+)?", r))
