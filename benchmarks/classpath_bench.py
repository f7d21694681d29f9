"""How fast the classpath index opens and answers, at the size of Kafka's libs/.

Builds 100 jars x 600 entries (classes in nested packages, directory entries as the jar
tool writes them, native libraries and service files) in a temporary directory, then
prints one ``name=value`` line per figure:

    open_seconds=              ClassPath.open of the 100 jars plus the (cached) JDK listing
    query_seconds=             1,000 mixed queries (classes, arrays, resources, simple
                               names, 50 class_members parses)
    jdk_listing_cold_seconds=  listing the JDK's module image with an empty cache
    jdk_listing_warm_seconds=  the same, read back from the cache

Run: ``python benchmarks/classpath_bench.py`` (needs a JDK: JAVA_HOME or java on PATH).
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from jarfactory import class_file  # noqa: E402  (a test helper: real, minimal class files)

from metadata_pipeline.classpath import ClassPath, find_jdk  # noqa: E402
from metadata_pipeline.classpath.jdk import Jdk  # noqa: E402

JARS = 100
ENTRIES_PER_JAR = 600


def build_libs(libs: Path) -> list[str]:
    """Write the jars; return the binary names of the classes written."""
    libs.mkdir()
    template = class_file("bench.Template", fields=[("value", "I")], methods=[("run", "([BLjava/lang/String;)V")])
    classes = []
    for jar_number in range(JARS):
        with zipfile.ZipFile(libs / f"lib{jar_number:03}-1.0.{jar_number}.jar", "w", zipfile.ZIP_DEFLATED) as jar:
            entries = 0
            for package_number in range(10):
                package = f"org/example/lib{jar_number:03}/pkg{package_number}"
                jar.writestr(package + "/", b"")
                entries += 1
                for class_number in range(50):
                    suffix = "$Inner" if class_number % 5 == 0 else ""
                    name = f"{package}/Type{class_number}{suffix}"
                    jar.writestr(name + ".class", template)
                    classes.append(name.replace("/", "."))
                    entries += 1
            jar.writestr(f"linux/amd64/liblib{jar_number:03}-1.0.{jar_number}.so", b"\x7fELF")
            jar.writestr(f"META-INF/services/org.example.Service{jar_number}", "org.example.Impl\n")
            entries += 2
            while entries < ENTRIES_PER_JAR:
                jar.writestr(f"org/example/lib{jar_number:03}/data/resource{entries}.properties", "k=v\n")
                entries += 1
    return classes


def run_queries(classpath: ClassPath, classes: list[str]) -> int:
    """Ask 1,001 questions; return how many were answered "yes" (or with a non-empty list)."""
    chooser = random.Random(974)
    answered = 0
    for _ in range(250):
        answered += classpath.has_class(chooser.choice(classes))
        answered += classpath.has_class(chooser.choice(classes) + "Gone")
    for _ in range(100):
        answered += classpath.has_class(chooser.choice(classes) + "[][]")
    for number in range(100):
        answered += classpath.has_resource(f"linux/amd64/liblib{number:03}-1.0.{number}.so")
        answered += classpath.has_resource(f"linux/amd64/liblib{number:03}-1.0.{number + 1}.so")
    for _ in range(100):
        answered += bool(classpath.classes_by_simple_name(chooser.choice(classes)))
    for _ in range(50):
        answered += classpath.class_members(chooser.choice(classes)) is not None
    answered += classpath.has_class("java.lang.Object")  # 1,001st: the JDK is in the index
    return answered


def main() -> None:
    home = find_jdk()
    with tempfile.TemporaryDirectory(prefix="classpath-bench-") as temporary:
        root = Path(temporary)
        classes = build_libs(root / "libs")
        cache = root / "cache"

        started = time.perf_counter()
        Jdk(home).listing(cache)
        cold = time.perf_counter() - started
        started = time.perf_counter()
        Jdk(home).listing(cache)
        warm = time.perf_counter() - started

        started = time.perf_counter()
        classpath = ClassPath.open([str(root / "libs")], jdk=home, cache_dir=cache)
        opened = time.perf_counter() - started
        with classpath:
            started = time.perf_counter()
            answered = run_queries(classpath, classes)
            queried = time.perf_counter() - started
        entries = sum(1 for origin, _ in classpath.resources() if origin.kind == "jar")

    print(f"jars={JARS} jar_entries={entries} queries=1001 positive_answers={answered}")
    print(f"open_seconds={opened:.3f}")
    print(f"query_seconds={queried:.3f}")
    print(f"jdk_listing_cold_seconds={cold:.3f}")
    print(f"jdk_listing_warm_seconds={warm:.3f}")


if __name__ == "__main__":
    main()
