"""GraalVM's own configuration code (svm-configure from Maven Central) as a test oracle.

``Oracle`` keeps one JVM running ``tests/oracle/Oracle.java`` for a whole test session and
talks to it line by line, so a few hundred cases cost one JVM startup. It needs JDK 21+
(``MP_ORACLE_JAVA_HOME``, else Temurin 25 under /usr/lib/jvm, else ``JAVA_HOME``) and ``mvn``
(the class path is resolved from ``tests/oracle/pom.xml`` into the local Maven repository).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HARNESS = ROOT / "tests" / "oracle"
# JVMCI's metadata classes, which GraalVM's configure code touches (type descriptors).
JVM_FLAGS = ["--add-modules", "jdk.internal.vm.ci", "--add-exports", "jdk.internal.vm.ci/jdk.vm.ci.meta=ALL-UNNAMED"]


class OracleUnavailable(RuntimeError):
    pass


def _java_version(java_home: Path) -> int:
    release = java_home / "release"
    if not (java_home / "bin" / "javac").exists() or not release.is_file():
        return 0
    m = re.search(r'JAVA_VERSION="(\d+)', release.read_text())
    return int(m.group(1)) if m else 0


def find_java_home() -> Path:
    candidates = [os.environ.get("MP_ORACLE_JAVA_HOME"), "/usr/lib/jvm/temurin-25-jdk-amd64", os.environ.get("JAVA_HOME")]
    candidates += sorted(str(p) for p in Path("/usr/lib/jvm").glob("*") if p.is_dir()) if Path("/usr/lib/jvm").is_dir() else []
    for c in candidates:
        if c and _java_version(Path(c)) >= 21:
            return Path(c)
    raise OracleUnavailable("no JDK 21+ found (set MP_ORACLE_JAVA_HOME; CI installs Temurin 25)")


def build(work: Path) -> tuple[Path, str]:
    """(java home, class path): resolve svm-configure with Maven and compile the harness into ``work``."""
    java_home = find_java_home()
    mvn = shutil.which("mvn")
    if mvn is None:
        raise OracleUnavailable("mvn not found on PATH")
    cp_file = work / "classpath.txt"
    env = {**os.environ, "JAVA_HOME": str(java_home)}
    proc = subprocess.run([mvn, "-q", "-B", "-f", str(HARNESS / "pom.xml"), "dependency:build-classpath",
                           f"-Dmdep.outputFile={cp_file}"], capture_output=True, text=True, env=env, timeout=900)
    if proc.returncode != 0:
        raise OracleUnavailable(f"mvn could not resolve svm-configure: {proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    classpath = cp_file.read_text().strip()
    classes = work / "classes"
    proc = subprocess.run([str(java_home / "bin" / "javac"), "-d", str(classes), "-cp", classpath,
                           str(HARNESS / "Oracle.java")], capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise OracleUnavailable(f"javac failed: {proc.stderr}")
    return java_home, f"{classes}{os.pathsep}{classpath}"


class Oracle:
    """One running harness JVM; ``parse`` and ``generate`` return GraalVM's errors and output."""

    def __init__(self, java_home: Path, classpath: str, scratch: Path) -> None:
        # Scratch files (class data the predefined-classes parser copies) go under ``scratch``.
        self._proc = subprocess.Popen([str(java_home / "bin" / "java"), *JVM_FLAGS, f"-Djava.io.tmpdir={scratch}",
                                       "-cp", classpath, "Oracle"],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, encoding="utf-8")

    def run(self, jobs: list[list[str]]) -> list[dict]:
        """Send every job first, then read the answers: one JVM round trip for a whole batch."""
        assert self._proc.stdin and self._proc.stdout
        for job in jobs:
            assert not any("\t" in part or "\n" in part for part in job), job
            self._proc.stdin.write("\t".join(job) + "\n")
        self._proc.stdin.flush()
        answers = []
        for _ in jobs:
            line = self._proc.stdout.readline()
            if not line:
                raise RuntimeError("the oracle JVM died")
            answers.append(json.loads(line))
        return answers

    def parse(self, dirs: list[Path]) -> list[list[str]]:
        """GraalVM's strict parsers over each dir: every error and every printed warning, per dir."""
        return [a["errors"] + ([a["output"].strip()] if a["output"].strip() else [])
                for a in self.run([["parse", str(d)] for d in dirs])]

    def generate(self, inputs: list[list[Path]], outputs: list[Path]) -> list[list[str]]:
        """``native-image-configure generate --input-dir=... --output-dir=OUT`` for each pair."""
        jobs = [["generate", *(f"--input-dir={d}" for d in ins), f"--output-dir={out}"] for ins, out in zip(inputs, outputs)]
        return [a["errors"] + ([a["output"].strip()] if a["output"].strip() else []) for a in self.run(jobs)]

    def close(self) -> None:
        if self._proc.stdin:
            self._proc.stdin.close()
        self._proc.wait(timeout=60)
