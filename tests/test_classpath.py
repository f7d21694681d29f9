"""The classpath index against real jars (built by ``jarfactory``) and the running JDK."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import struct
from pathlib import Path

import pytest

from conftest import reference
from jarfactory import class_file, compile_java, entry_of, write_jar
from metadata_pipeline.classpath import (
    ClassMembers, ClassPath, ClassPathError, MethodSignature, Origin, element_type, find_jdk, short_name,
)
from metadata_pipeline.classpath.classfile import ClassFormatError, parameter_types, read_members
from metadata_pipeline.classpath.jdk import Jdk, cache_directory, list_with_jimage_tool
from metadata_pipeline.classpath.jimage import JImageFormatError, read_image_index, read_image_resource

SOURCES = {
    "kafka/tools/ConsoleProducer.java": """
        package kafka.tools;
        public class ConsoleProducer {
            public static void main(String[] args) {
                Runnable task = new Runnable() { public void run() {} };
                task.run();
            }
            public static class LineMessageReader {
                private String topic;
                private java.io.InputStream inputStream;
                public LineMessageReader() {}
                public void configure(java.util.Map<String, ?> props) {}
                public Object readRecords(java.io.InputStream in, int limit) { return null; }
            }
        }
    """,
    "org/apache/kafka/tools/LineMessageReader.java": """
        package org.apache.kafka.tools;
        public class LineMessageReader {
            private String topic;
            private java.io.InputStream inputStream;
            public LineMessageReader() {}
            public void configure(java.util.Map<String, ?> props) {}
            public Object readRecords(java.io.InputStream in, int limit) { return null; }
        }
    """,
    "demo/Overloads.java": """
        package demo;
        import java.util.*;
        public class Overloads {
            public static final String NAME = "overloads";
            static List<String> CACHE = new ArrayList<>();
            int count;
            byte[][] grid;
            Inner inner;
            public Overloads() {}
            Overloads(int count, String name) { this.count = count; }
            void put(int value) {}
            void put(long value) {}
            void put(String value) {}
            void put(byte[] value) {}
            void put(String[][] value) {}
            void put(Map.Entry<String, Integer> value) {}
            void put(Inner value) {}
            void put(int first, Object... rest) {}
            <T extends Number> T pick(List<T> values) { return values.get(0); }
            double[] doubles(boolean a, char b, short c, float d) { return null; }
            public static class Inner {}
            enum Kind { ALPHA, BETA }
        }
    """,
    "demo/Unicode.java": "package demo;\npublic class Unicode { int gr\u00fc\u00dfe; void \U0001d49c(int x) {} }\n",
}


@pytest.fixture(scope="session")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    return compile_java(SOURCES, tmp_path_factory.mktemp("javac"))


@pytest.fixture(autouse=True)
def jdk_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    # One cache per session: the first test lists the JDK, the rest read the cache.
    root = tmp_path_factory.getbasetemp() / "xdg-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(root))
    return root / "metadata_pipeline"


def pick(compiled: dict[str, bytes], *prefixes: str) -> dict[str, bytes]:
    return {name: data for name, data in compiled.items() if name.startswith(prefixes)}


@pytest.fixture
def libs(tmp_path: Path, compiled: dict[str, bytes]) -> Path:
    """A small Kafka-like libs/ directory (plus a file that is not a jar)."""
    libs = tmp_path / "libs"
    write_jar(libs / "kafka-tools-3.9.0.jar", {
        **pick(compiled, "org/apache/kafka/tools/"),
        "kafka/kafka-version.properties": "version=3.9.0\n",
        "META-INF/services/org.apache.kafka.common.config.provider.ConfigProvider":
            "org.apache.kafka.common.config.provider.FileConfigProvider\n",
    }, manifest={"Implementation-Version": "3.9.0"})
    write_jar(libs / "zstd-jni-1.5.6-6.jar", {
        entry_of("com.github.luben.zstd.ZstdInputStreamNoFinalizer"): class_file(
            "com.github.luben.zstd.ZstdInputStreamNoFinalizer", fields=[("dstPos", "J"), ("srcPos", "J")]),
        "linux/amd64/libzstd-jni-1.5.6-6.so": b"\x7fELF",
        "linux/aarch64/libzstd-jni-1.5.6-6.so": b"\x7fELF",
        "darwin/x86_64/libzstd-jni-1.5.6-6.dylib": b"\xcf\xfa",
    }, directories=False)
    write_jar(libs / "demo.JAR", pick(compiled, "demo/"))
    (libs / "README.txt").write_text("not a jar\n")
    return libs


@pytest.fixture
def old_kafka_jar(tmp_path: Path, compiled: dict[str, bytes]) -> Path:
    return write_jar(tmp_path / "old" / "kafka_2.13-3.8.0.jar", pick(compiled, "kafka/tools/"))


# -- path forms --------------------------------------------------------------------------

def test_a_single_jar(libs: Path) -> None:
    jar = libs / "zstd-jni-1.5.6-6.jar"
    with ClassPath.open([str(jar)], include_jdk=False) as classpath:
        assert classpath.has_class("com.github.luben.zstd.ZstdInputStreamNoFinalizer")
        assert not classpath.has_class("org.apache.kafka.tools.LineMessageReader")
        assert classpath.has_resource("linux/amd64/libzstd-jni-1.5.6-6.so")
        assert classpath.origins == [Origin("jar", str(jar))]
        assert classpath.jdk is None
    with ClassPath.open(str(jar), include_jdk=False) as classpath:  # a lone string is one path
        assert classpath.origins == [Origin("jar", str(jar))]


def test_a_directory_of_jars_is_its_wildcard(libs: Path) -> None:
    with ClassPath.open([str(libs)], include_jdk=False) as by_dir, \
            ClassPath.open([f"{libs}/*"], include_jdk=False) as by_wildcard:
        expected = [Origin("jar", str(libs / name))
                    for name in ("demo.JAR", "kafka-tools-3.9.0.jar", "zstd-jni-1.5.6-6.jar")]
        assert by_dir.origins == expected  # sorted, README.txt ignored, *.JAR taken
        assert by_wildcard.origins == expected
        assert by_dir.has_class("demo.Overloads") and by_wildcard.has_class("demo.Overloads")


def test_a_colon_separated_list(libs: Path, old_kafka_jar: Path) -> None:
    tools = libs / "kafka-tools-3.9.0.jar"
    with ClassPath.open([f"{old_kafka_jar}::{tools}:"], include_jdk=False) as classpath:
        assert classpath.origins == [Origin("jar", str(old_kafka_jar)), Origin("jar", str(tools))]
        assert classpath.has_class("kafka.tools.ConsoleProducer")
        assert classpath.has_class("org.apache.kafka.tools.LineMessageReader")


def test_an_exploded_classes_directory(tmp_path: Path, compiled: dict[str, bytes]) -> None:
    classes = tmp_path / "build" / "classes"
    for name, data in pick(compiled, "demo/").items():
        (classes / name).parent.mkdir(parents=True, exist_ok=True)
        (classes / name).write_bytes(data)
    (classes / "kafka").mkdir()
    (classes / "kafka" / "kafka-version.properties").write_text("version=4.0.0\n")
    with ClassPath.open([str(classes)], include_jdk=False) as classpath:
        assert classpath.origins == [Origin("directory", str(classes))]
        assert classpath.has_class("demo.Overloads$Inner")
        assert classpath.has_resource("kafka/kafka-version.properties")
        assert classpath.has_resource("demo/Overloads.class")
        assert not classpath.has_resource("kafka")  # directories are not resources
        members = classpath.class_members("demo.Overloads")
        assert members is not None and "grid" in members.fields


def test_a_directory_with_jars_at_its_top_is_read_as_a_directory_of_jars(tmp_path: Path, libs: Path) -> None:
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    shutil.copy(libs / "zstd-jni-1.5.6-6.jar", mixed / "zstd.jar")
    (mixed / "demo").mkdir()
    (mixed / "demo" / "Loose.class").write_bytes(class_file("demo.Loose"))
    with ClassPath.open([str(mixed)], include_jdk=False) as classpath:
        assert classpath.origins == [Origin("jar", str(mixed / "zstd.jar"))]
        assert not classpath.has_class("demo.Loose")


def test_the_first_place_that_has_a_name_is_its_origin(tmp_path: Path) -> None:
    first = write_jar(tmp_path / "a.jar", {entry_of("p.Same"): class_file("p.Same", fields=[("a", "I")])})
    second = write_jar(tmp_path / "b.jar", {entry_of("p.Same"): class_file("p.Same", fields=[("b", "I")])})
    with ClassPath.open([str(first), str(second)], include_jdk=False) as classpath:
        assert classpath.origin_of("p.Same") == Origin("jar", str(first))
        assert classpath.class_members("p.Same") == ClassMembers(frozenset(), frozenset({"a"}))
        assert {origin.path for origin, name in classpath.resources() if name == "p/Same.class"} == {
            str(first), str(second)}
    with ClassPath.open([str(second), str(first)], include_jdk=False) as classpath:
        assert classpath.origin_of("p.Same") == Origin("jar", str(second))
    # The same jar named twice (directly and through a wildcard) is indexed once.
    with ClassPath.open([str(first), f"{tmp_path}/*"], include_jdk=False) as classpath:
        assert [origin.path for origin in classpath.origins] == [str(first), str(second)]


# -- user mistakes ------------------------------------------------------------------------

def test_a_missing_path_is_named(tmp_path: Path, libs: Path) -> None:
    missing = tmp_path / "no-such.jar"
    with pytest.raises(ClassPathError, match=f"^classpath entry not found: {re.escape(str(missing))}$"):
        ClassPath.open([f"{libs}:{missing}"], include_jdk=False)
    with pytest.raises(ClassPathError, match=re.escape(f"no such directory {tmp_path / 'gone'}")):
        ClassPath.open([f"{tmp_path}/gone/*"], include_jdk=False)


@pytest.mark.parametrize("content", [b"this is not a zip file\n", b""])
def test_a_file_that_is_not_a_zip_is_named(tmp_path: Path, libs: Path, content: bytes) -> None:
    bad = tmp_path / "broken.jar"
    bad.write_bytes(content)
    with pytest.raises(ClassPathError, match=f"^{re.escape(str(bad))}: not a readable jar"):
        ClassPath.open([str(libs), str(bad)], include_jdk=False)


def test_a_truncated_jar_is_named(tmp_path: Path, libs: Path) -> None:
    whole = (libs / "kafka-tools-3.9.0.jar").read_bytes()
    cut = tmp_path / "cut.jar"
    cut.write_bytes(whole[: len(whole) // 2])  # the central directory is gone
    with pytest.raises(ClassPathError, match=f"^{re.escape(str(cut))}: not a readable jar") as raised:
        ClassPath.open([str(cut)], include_jdk=False)
    assert "\n" not in str(raised.value)


def test_a_class_file_that_cannot_be_parsed_is_named(tmp_path: Path) -> None:
    jar = write_jar(tmp_path / "odd.jar", {"p/Bad.class": b"\xca\xfe\xba\xbe\x00"})
    with ClassPath.open([str(jar)], include_jdk=False) as classpath:
        assert classpath.has_class("p.Bad")  # existence needs no parsing
        with pytest.raises(ClassPathError, match=f"^{re.escape(str(jar))}: p/Bad.class: truncated"):
            classpath.class_members("p.Bad")


@pytest.mark.parametrize("layout", ["empty dir", "wildcard without jars", "resources only", "nothing"])
def test_an_empty_classpath(tmp_path: Path, layout: str) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    paths = {"empty dir": [str(folder)], "wildcard without jars": [f"{folder}/*"],
             "resources only": [str(folder)], "nothing": []}[layout]
    if layout == "resources only":
        (folder / "kafka").mkdir()
        (folder / "kafka" / "kafka-version.properties").write_text("version=1\n")
    with pytest.raises(ClassPathError, match="^empty classpath: no jar and no class file found in"):
        ClassPath.open(paths, include_jdk=False)


def test_no_jdk_says_how_to_point_at_one(tmp_path: Path, libs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no java here
    with pytest.raises(ClassPathError, match="^no JDK found: set JAVA_HOME or pass --jdk PATH"):
        ClassPath.open([str(libs)])
    with ClassPath.open([str(libs)], include_jdk=False) as classpath:  # no JDK needed
        assert classpath.has_class("demo.Overloads") and not classpath.has_class("java.lang.Object")

    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "nowhere"))
    with pytest.raises(ClassPathError, match=f"^JAVA_HOME={re.escape(str(tmp_path / 'nowhere'))}: no such"):
        ClassPath.open([str(libs)])
    with pytest.raises(ClassPathError, match=f"^--jdk={re.escape(str(tmp_path))}: not a JDK 9\\+ home"):
        ClassPath.open([str(libs)], jdk=tmp_path)


def test_the_jdk_is_found_through_the_java_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = find_jdk()
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "java").symlink_to(home / "bin" / "java")
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    assert find_jdk() == Path(os.path.realpath(home))


# -- classes ------------------------------------------------------------------------------

def test_nested_classes_and_arrays(libs: Path, old_kafka_jar: Path) -> None:
    with ClassPath.open([str(libs), str(old_kafka_jar)], include_jdk=False) as classpath:
        present = [
            "kafka.tools.ConsoleProducer$LineMessageReader", "kafka.tools.ConsoleProducer$1",
            "demo.Overloads$Kind", "demo.Overloads[]", "demo.Overloads$Inner[][]",
            "[Ldemo.Overloads;", "[[Lkafka.tools.ConsoleProducer$LineMessageReader;",
            "int", "void", "byte[]", "[B", "[[J", "boolean[][]",
        ]
        absent = [
            "kafka.tools.ConsoleProducer.LineMessageReader",  # canonical, not binary, name
            "kafka.tools.ConsoleProducer$2", "demo.Missing[]", "[Ldemo.Missing;", "[Q", "[L;",
            "kafka/tools/ConsoleProducer", "", "java.lang.String",  # no JDK in this one
        ]
        assert [name for name in present if not classpath.has_class(name)] == []
        assert [name for name in absent if classpath.has_class(name)] == []


def test_names() -> None:
    assert element_type("[[Ljava.lang.String;") == "java.lang.String"
    assert element_type("java.lang.String[][]") == "java.lang.String"
    assert element_type("[I") == "int"
    assert element_type("[Q") == "[Q"
    assert short_name("kafka.tools.ConsoleProducer$LineMessageReader") == "LineMessageReader"
    assert short_name("kafka.Kafka$") == "Kafka"
    assert short_name("a.b.C[]") == "C"


def test_a_moved_class_is_found_by_simple_name_with_the_same_members(libs: Path, old_kafka_jar: Path) -> None:
    old_name = "kafka.tools.ConsoleProducer$LineMessageReader"
    new_name = "org.apache.kafka.tools.LineMessageReader"
    with ClassPath.open([str(libs)], include_jdk=False) as classpath:
        assert not classpath.has_class(old_name)
        assert classpath.classes_by_simple_name(old_name) == [new_name]
        assert classpath.classes_by_simple_name("LineMessageReader") == [new_name]
        assert classpath.classes_by_simple_name("NoSuchThing") == []
        moved = classpath.class_members(new_name)
    with ClassPath.open([str(old_kafka_jar)], include_jdk=False) as classpath:
        original = classpath.class_members(old_name)
    assert original is not None and original == moved
    assert original.fields == {"topic", "inputStream"}
    assert original.methods == {
        MethodSignature("<init>", ()),
        MethodSignature("configure", ("java.util.Map",)),
        MethodSignature("readRecords", ("java.io.InputStream", "int")),
    }


def test_class_members_of_a_compiled_class(libs: Path, compiled: dict[str, bytes]) -> None:
    assert b"<clinit>" in compiled["demo/Overloads.class"]  # there, but not reflectable
    with ClassPath.open([str(libs)], include_jdk=False) as classpath:
        members = classpath.class_members("demo.Overloads")
        assert members is not None
        assert members.fields == {"NAME", "CACHE", "count", "grid", "inner"}
        assert members.methods == {
            MethodSignature("<init>", ()),
            MethodSignature("<init>", ("int", "java.lang.String")),
            MethodSignature("put", ("int",)),
            MethodSignature("put", ("long",)),
            MethodSignature("put", ("java.lang.String",)),
            MethodSignature("put", ("byte[]",)),
            MethodSignature("put", ("java.lang.String[][]",)),
            MethodSignature("put", ("java.util.Map$Entry",)),
            MethodSignature("put", ("demo.Overloads$Inner",)),
            MethodSignature("put", ("int", "java.lang.Object[]")),
            MethodSignature("pick", ("java.util.List",)),
            MethodSignature("doubles", ("boolean", "char", "short", "float")),
        }
        assert members.method_names == {"<init>", "put", "pick", "doubles"}
        assert classpath.class_members("demo.Overloads") is members  # parsed once
        kind = classpath.class_members("demo.Overloads$Kind")
        assert kind is not None and {"ALPHA", "BETA", "$VALUES"} <= kind.fields
        assert MethodSignature("valueOf", ("java.lang.String",)) in kind.methods
        unicode = classpath.class_members("demo.Unicode")  # modified UTF-8, surrogate pairs
        assert unicode is not None and unicode.fields == {"gr\u00fc\u00dfe"}
        assert MethodSignature("\U0001d49c", ("int",)) in unicode.methods
        assert classpath.class_members("demo.Missing") is None
        assert classpath.class_members("demo.Overloads[]") is None
        assert classpath.class_members("int") is None


def test_the_minimal_class_file_parses() -> None:
    data = class_file("p.Q", fields=[("x", "[[Lp/Q;")], methods=[("m", "(JDLjava/util/List;[Z)V")])
    assert read_members(data) == ClassMembers(
        frozenset({MethodSignature("m", ("long", "double", "java.util.List", "boolean[]"))}), frozenset({"x"}))
    with pytest.raises(ClassFormatError, match="bad magic"):
        read_members(b"\x00" * 16)
    with pytest.raises(ClassFormatError, match="truncated"):
        read_members(data[:-9])


@pytest.mark.parametrize("descriptor", ["V", "(", "([)V", "(Ljava/lang/String)V", "(Q)V", "(V)V"])
def test_malformed_method_descriptors(descriptor: str) -> None:
    with pytest.raises(ClassFormatError, match="malformed method descriptor"):
        parameter_types(descriptor)


def test_a_multi_release_jar(tmp_path: Path, compiled: dict[str, bytes]) -> None:
    jar = write_jar(tmp_path / "mr.jar", {
        "META-INF/versions/11/demo/Overloads.class": compiled["demo/Overloads.class"],
        "p/Both.class": class_file("p.Both", fields=[("base", "I")]),
        "META-INF/versions/17/p/Both.class": class_file("p.Both", fields=[("newer", "I")]),
        "META-INF/versions/11/p/data.txt": "only for 11+\n",
        "META-INF/versions/beta/p/NotVersioned.class": class_file("p.NotVersioned"),
        "module-info.class": class_file("module-info"),
        "META-INF/versions/9/module-info.class": class_file("module-info"),
    }, manifest={"Multi-Release": "true"})
    with ClassPath.open([str(jar)], include_jdk=False) as classpath:
        assert classpath.has_class("demo.Overloads")
        assert classpath.has_resource("demo/Overloads.class")
        assert classpath.has_resource("META-INF/versions/11/demo/Overloads.class")
        assert classpath.has_resource("p/data.txt")
        members = classpath.class_members("demo.Overloads")  # read from the versioned entry
        assert members is not None and MethodSignature("put", ("byte[]",)) in members.methods
        assert classpath.class_members("p.Both") == ClassMembers(frozenset(), frozenset({"base"}))
        assert not classpath.has_class("p.NotVersioned")
        assert not classpath.has_class("module-info")
        names = [name for _, name in classpath.resources()]
        assert names.count("demo/Overloads.class") == 1 and names.count("p/Both.class") == 1


# -- resources ----------------------------------------------------------------------------

def test_resources_in_jars(libs: Path) -> None:
    with ClassPath.open([str(libs)], include_jdk=False) as classpath:
        for name in ("linux/amd64/libzstd-jni-1.5.6-6.so", "kafka/kafka-version.properties",
                     "META-INF/services/org.apache.kafka.common.config.provider.ConfigProvider",
                     "org/apache/kafka/tools/LineMessageReader.class", "META-INF/MANIFEST.MF"):
            assert classpath.has_resource(name), name
        for name in ("linux/amd64/libzstd-jni-1.5.6-5.so", "/kafka/kafka-version.properties",
                     "linux/amd64/", "linux/amd64", "kafka", "kafka-version.properties"):
            assert not classpath.has_resource(name), name
        assert not classpath.has_resource("kafka/kafka-version.properties", module="java.base")
        zstd = Origin("jar", str(libs / "zstd-jni-1.5.6-6.jar"))
        assert classpath.origin_of("linux/aarch64/libzstd-jni-1.5.6-6.so") == zstd
        assert classpath.origin_of("linux/aarch64/libzstd-jni-1.5.6-7.so") is None
        everything = list(classpath.resources())
        assert (zstd, "linux/amd64/libzstd-jni-1.5.6-6.so") in everything
        assert sorted(name for _, name in everything if fnmatch.fnmatchcase(name, "linux/*/libzstd-jni-*.so")) == [
            "linux/aarch64/libzstd-jni-1.5.6-6.so", "linux/amd64/libzstd-jni-1.5.6-6.so"]
        assert not any(name.endswith("/") for _, name in everything)


# -- the JDK ------------------------------------------------------------------------------

def test_jdk_classes_and_module_resources(tmp_path: Path, libs: Path) -> None:
    shadow = write_jar(tmp_path / "shadow.jar", {"java/lang/Object.class": class_file("java.lang.Object")})
    with ClassPath.open([str(shadow), str(libs)]) as classpath:
        home = find_jdk()
        assert classpath.jdk == Jdk(home)
        base = Origin("jdk", str(home), "java.base")
        for name in ("java.lang.Object", "java.lang.String[]", "[Ljava.lang.String;", "java.util.Map$Entry",
                     "jdk.internal.misc.Unsafe", "demo.Overloads"):
            assert classpath.has_class(name), name
        assert not classpath.has_class("java.lang.NoSuchClass")
        assert classpath.origin_of("java.lang.Object") == base  # the boot loader answers first
        assert classpath.origin_of("java/lang/Object.class") == base
        assert classpath.has_resource("java/lang/Object.class")
        assert classpath.has_resource("java/lang/Object.class", module="java.base")
        assert not classpath.has_resource("java/lang/Object.class", module="java.sql")
        assert not classpath.has_resource("java/lang/Object.class", module="no.such.module")
        assert classpath.has_resource("java/sql/Driver.class", module="java.sql")
        assert classpath.origin_of("java/sql/Driver.class", module="java.sql") == Origin("jdk", str(home), "java.sql")
        assert {"java.base", "java.sql", "java.management"} <= classpath.jdk_modules
        assert "java.lang.Object" in classpath.classes_by_simple_name("Object")
        # ICU data sits in java.base under a version-named folder (icudt67b in JDK 17).
        icu = [(origin, name) for origin, name in classpath.resources()
               if fnmatch.fnmatchcase(name, "jdk/internal/icu/impl/data/icudt*b/nfkc.nrm")]
        assert len(icu) == 1 and icu[0][0] == base
        assert classpath.has_resource(icu[0][1], module="java.base")
        assert not classpath.has_resource(icu[0][1], module="jdk.jfr")
        arrays = classpath.class_members("java.util.Arrays")  # read from the module image
        assert arrays is not None and MethodSignature("asList", ("java.lang.Object[]",)) in arrays.methods


def test_the_image_reader_agrees_with_the_jimage_tool() -> None:
    home = find_jdk()
    listing = Jdk(home).list_uncached()
    by_tool = list_with_jimage_tool(home)
    assert listing == {module: sorted(names) for module, names in by_tool.items()}
    assert list(listing) == sorted(by_tool)
    assert "java/lang/Object.class" in listing["java.base"]
    assert not {"", "modules", "packages"} & set(listing)  # the image's own directory tree


def test_the_listing_is_cached_per_jdk(tmp_path: Path, libs: Path, jdk_cache: Path) -> None:
    real = find_jdk()
    home = tmp_path / "jdk"
    (home / "lib").mkdir(parents=True)
    (home / "lib" / "modules").symlink_to(real / "lib" / "modules")
    (home / "release").write_text('JAVA_VERSION="17"\n')
    jdk = Jdk(home)
    cache = jdk.cache_file()
    assert cache.parent == jdk_cache == cache_directory()
    assert not cache.exists()
    with ClassPath.open([str(libs)], jdk=home) as classpath:  # cold: lists and writes
        assert classpath.has_class("java.lang.Object")
    lines = cache.read_text().split("\n")
    assert "java.base\tjava/lang/Object.class" in lines

    # Warm: the cache is what is read (a planted name shows up).
    cache.write_text("\n".join([lines[0], "java.base\tplanted/Cached.class", lines[-1]]))
    with ClassPath.open([str(libs)], jdk=home) as classpath:
        assert classpath.has_class("planted.Cached") and not classpath.has_class("java.lang.Object")

    # A changed release file is another JDK: a new key, listed afresh.
    os.utime(home / "release", ns=(1, 1))
    assert jdk.cache_file() != cache
    with ClassPath.open([str(libs)], jdk=home) as classpath:
        assert classpath.has_class("java.lang.Object") and not classpath.has_class("planted.Cached")

    # A torn file (no end marker) is rebuilt.
    torn = jdk.cache_file()
    torn.write_text(lines[0] + "\njava.base\tplanted/Torn.class\n")
    with ClassPath.open([str(libs)], jdk=home) as classpath:
        assert classpath.has_class("java.lang.Object") and not classpath.has_class("planted.Torn")
    assert torn.read_text().split("\n") == lines


def test_an_unwritable_cache_only_costs_speed(tmp_path: Path, libs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    with ClassPath.open([str(libs)]) as classpath:
        assert classpath.has_class("java.lang.Object")


def test_an_unknown_image_format_falls_back_to_the_jimage_tool(tmp_path: Path, libs: Path) -> None:
    home = tmp_path / "future-jdk"
    (home / "lib").mkdir(parents=True)
    (home / "bin").mkdir()
    (home / "lib" / "modules").write_bytes(b"\x00" * 64)
    with pytest.raises(ClassPathError, match=r"modules: not a module image \(bad magic number\); \S*bin/jimage is missing"):
        ClassPath.open([str(libs)], jdk=home)
    tool = home / "bin" / "jimage"
    tool.write_text("#!/bin/sh\nprintf 'jimage: %s\\n\\nModule: java.base\\n    java/lang/Future.class\\n' \"$2\"\n")
    tool.chmod(0o755)
    with ClassPath.open([str(libs)], jdk=home) as classpath:
        assert classpath.has_class("java.lang.Future")
        assert classpath.class_members("java.lang.Future") is None  # no offsets without the index


# -- the module image format, on images written here --------------------------------------

def write_image(path: Path, resources: list[tuple[str, str, bytes, int]], order: str = "<",
                version: int = 0x00010000) -> None:
    """A module image with (module, path, bytes, compressed size) resources, plus the
    image's own /modules and /packages directory entries."""
    strings = bytearray(b"\0")
    offsets_of: dict[str, int] = {}

    def string(text: str) -> int:
        if text not in offsets_of:
            offsets_of[text] = len(strings)
            strings.extend(text.encode() + b"\0")
        return offsets_of[text]

    def attribute(kind: int, value: int) -> bytes:
        size = max(1, (value.bit_length() + 7) // 8)
        return bytes([kind << 3 | (size - 1)]) + value.to_bytes(size, "big")

    locations = bytearray()
    offsets = []
    content = bytearray()
    entries = [*resources, ("packages", "java.lang", b"", 0), ("", "/modules", b"", 0)]
    for module, name, data, compressed in entries:
        parent, _, leaf = name.rpartition("/")
        base, dot, extension = leaf.rpartition(".") if "." in leaf else (leaf, "", "")
        offsets.append(len(locations))
        for kind, value in ((1, string(module)), (2, string(parent)), (3, string(base)),
                            (4, string(extension)), (5, len(content)), (6, compressed), (7, len(data))):
            if value:
                locations.extend(attribute(kind, value))
        locations.append(0)
        content.extend(data)
    count = len(entries)
    header = struct.pack(order + "7I", 0xCAFEDADA, version, 0, count, count, len(locations), len(strings))
    path.write_bytes(header + struct.pack(f"{order}{count}i", *([-1] * count))
                     + struct.pack(f"{order}{count}I", *offsets) + locations + strings + content)


@pytest.mark.parametrize("order", ["<", ">"])
def test_module_images_in_either_byte_order(tmp_path: Path, order: str) -> None:
    image = tmp_path / "modules"
    object_class = class_file("java.lang.Object", fields=[("tiny", "I")])
    write_image(image, [
        ("java.base", "java/lang/Object.class", object_class, 0),
        ("java.base", "jdk/internal/icu/impl/data/icudt72b/nfkc.nrm", b"nrm", 0),
        ("jdk.jfr", "jdk/jfr/internal/query/view.ini", b"zipped", 3),
        ("java.base", "META-INF/LICENSE", b"license", 0),
    ], order)
    index = read_image_index(image)
    assert [(entry.module, entry.name) for entry in index.entries] == [
        ("java.base", "java/lang/Object.class"), ("java.base", "jdk/internal/icu/impl/data/icudt72b/nfkc.nrm"),
        ("jdk.jfr", "jdk/jfr/internal/query/view.ini"), ("java.base", "META-INF/LICENSE")]
    assert read_image_resource(index, index.entries[0]) == object_class
    assert read_image_resource(index, index.entries[3]) == b"license"
    assert read_image_resource(index, index.entries[2]) is None  # compressed


def test_a_jdk_built_from_a_written_image(tmp_path: Path, libs: Path) -> None:
    home = tmp_path / "tiny-jdk"
    (home / "lib").mkdir(parents=True)
    write_image(home / "lib" / "modules", [
        ("java.base", "java/lang/Object.class", class_file("java.lang.Object", fields=[("tiny", "I")]), 0),
        ("jdk.jfr", "jdk/jfr/internal/query/view.ini", b"[views]", 0),
    ])
    with ClassPath.open([str(libs)], jdk=home) as classpath:
        assert classpath.jdk_modules == {"java.base", "jdk.jfr"}
        assert classpath.has_resource("jdk/jfr/internal/query/view.ini", module="jdk.jfr")
        assert not classpath.has_class("java.lang.String")
        assert classpath.class_members("java.lang.Object") == ClassMembers(frozenset(), frozenset({"tiny"}))


@pytest.mark.parametrize("damage", ["version 2", "truncated", "too short"])
def test_images_this_reader_refuses(tmp_path: Path, damage: str) -> None:
    image = tmp_path / "modules"
    write_image(image, [("java.base", "java/lang/Object.class", b"x", 0)],
                version=0x00020000 if damage == "version 2" else 0x00010000)
    data = image.read_bytes()
    if damage == "truncated":
        image.write_bytes(data[:40])
    elif damage == "too short":
        image.write_bytes(data[:10])
    message = {"version 2": "version 2.0 is not supported", "truncated": "truncated", "too short": "too short"}
    with pytest.raises(JImageFormatError, match=message[damage]):
        read_image_index(image)


# -- real names from Kafka's committed metadata --------------------------------------------

@pytest.mark.reference
def test_jdk_names_in_kafkas_metadata_exist_in_this_jdk(tmp_path: Path, libs: Path) -> None:
    configs = sorted(reference("kafka-native-image-configs").glob("07-*"))
    assert configs, "the reference set lost Kafka's 07 configs"
    jni = json.loads((configs[0] / "jni-config.json").read_text())
    resources = json.loads((configs[0] / "resource-config.json").read_text())
    jdk_prefixes = ("java.", "javax.", "sun.", "com.sun.", "jdk.", "[Ljava.", "[Lcom.sun.", "[Lsun.")
    with ClassPath.open([str(libs)]) as classpath:
        jdk_types = [entry["name"] for entry in jni if entry["name"].startswith(jdk_prefixes)]
        assert len(jdk_types) >= 5
        assert [name for name in jdk_types if not classpath.has_class(name)] == []
        # zstd-jni's class is on the test's classpath, with the fields JNI reads.
        zstd = next(entry for entry in jni if entry["name"].startswith("com.github.luben"))
        members = classpath.class_members(zstd["name"])
        assert members is not None and {field["name"] for field in zstd["fields"]} <= members.fields
        for entry in jni:
            if entry["name"] in ("java.util.Arrays", "java.lang.Boolean"):
                found = classpath.class_members(entry["name"])
                assert found is not None
                for method in entry["methods"]:
                    assert MethodSignature(method["name"], tuple(method["parameterTypes"])) in found.methods
        # Module-qualified literal patterns: module exists here; uidna.spp is in every JDK 9+.
        qualified = [re.fullmatch(r"([\w.]+):\\Q(.*)\\E", include["pattern"])
                     for include in resources["resources"]["includes"]]
        pairs = [(match.group(1), match.group(2)) for match in qualified if match]
        assert ("java.base", "sun/net/idn/uidna.spp") in pairs
        assert classpath.has_resource("sun/net/idn/uidna.spp", module="java.base")
        assert {module for module, _ in pairs} <= classpath.jdk_modules
        plain = [include["pattern"][2:-2] for include in resources["resources"]["includes"]
                 if include["pattern"].startswith("\\Q")]
        assert "linux/amd64/libzstd-jni-1.5.6-6.so" in plain
        assert classpath.has_resource("linux/amd64/libzstd-jni-1.5.6-6.so")
