"""``build``'s pure parts: the options file, config flags per format, the command line, versions."""

from __future__ import annotations

import shlex

import pytest

from metadata_pipeline.nativebuild.graalvm import check_supported, parse_version
from metadata_pipeline.nativebuild.options import (
    DEFAULT_OPTIONS_FILE, ConfigSet, Invocation, config_flags, parse_options, read_options,
)
from metadata_pipeline.core.kinds import FileKind
from metadata_pipeline.errors import InputError

# apache/kafka docker/native/native_command.sh, in its order, without what build adds itself.
KAFKA_OPTIONS = (
    "--no-fallback", "--enable-http", "--enable-https", "--allow-incomplete-classpath",
    "--report-unsupported-elements-at-runtime", "--install-exit-handlers",
    "--enable-monitoring=jmxserver,jmxclient,heapdump,jvmstat", "-H:+ReportExceptionStackTraces",
    "-H:+EnableAllSecurityServices", "-H:EnableURLProtocols=http,https",
    "-H:AdditionalSecurityProviders=sun.security.jgss.SunProvider", "--verbose", "-march=compatibility",
)
ALL_LEGACY = tuple(kind for kind in FileKind if kind.is_legacy)


def test_the_repository_options_file_holds_kafkas_options() -> None:
    assert read_options(DEFAULT_OPTIONS_FILE) == KAFKA_OPTIONS


def test_options_file_one_argument_per_line_comments_and_blank_lines_skipped() -> None:
    text = "# a comment\n\n  --no-fallback  \n-J-Dkey=a value with spaces\n   # indented comment\n-Ob\n"
    assert parse_options(text, "opts.txt") == ("--no-fallback", "-J-Dkey=a value with spaces", "-Ob")


@pytest.mark.parametrize(("line", "why"), [
    ("-cp", "class path"),
    ("--class-path=libs/*", "class path"),
    ("-o", "output"),
    ("-H:ReflectionConfigurationFiles=other/reflect-config.json", "config flags"),
    ("-H:ConfigurationFileDirectories=other", "config flags"),
    ("kafka.Kafka", "--entry-point"),
])
def test_options_file_may_not_set_what_build_sets(line: str, why: str) -> None:
    with pytest.raises(InputError) as info:
        parse_options(f"--no-fallback\n# comment\n{line}\n", "my-options.txt")
    assert info.value.message.startswith(f"my-options.txt:3: {line!r} may not be in an options file")
    assert why in info.value.message


def test_all_six_legacy_files_give_kafkas_six_flags_in_kafkas_order() -> None:
    assert config_flags(ConfigSet("/app/native-image-configs", ALL_LEGACY)) == (
        "-H:ReflectionConfigurationFiles=/app/native-image-configs/reflect-config.json",
        "-H:JNIConfigurationFiles=/app/native-image-configs/jni-config.json",
        "-H:ResourceConfigurationFiles=/app/native-image-configs/resource-config.json",
        "-H:SerializationConfigurationFiles=/app/native-image-configs/serialization-config.json",
        "-H:PredefinedClassesConfigurationFiles=/app/native-image-configs/predefined-classes-config.json",
        "-H:DynamicProxyConfigurationFiles=/app/native-image-configs/proxy-config.json",
    )


def test_legacy_flags_only_for_the_files_present_whatever_their_order() -> None:
    configs = ConfigSet("/c", (FileKind.PROXY, FileKind.REFLECT, FileKind.RESOURCE))
    assert configs.format == "legacy"
    assert config_flags(configs) == ("-H:ReflectionConfigurationFiles=/c/reflect-config.json",
                                     "-H:ResourceConfigurationFiles=/c/resource-config.json",
                                     "-H:DynamicProxyConfigurationFiles=/c/proxy-config.json")


@pytest.mark.parametrize("kinds", [(FileKind.UNIFIED,), (FileKind.REFLECT, FileKind.RESOURCE, FileKind.UNIFIED)])
def test_unified_or_mixed_directory_is_passed_whole(kinds: tuple[FileKind, ...]) -> None:
    configs = ConfigSet("/mp/configs", kinds)
    assert configs.format == "unified"
    assert config_flags(configs) == ("-H:ConfigurationFileDirectories=/mp/configs",)


def test_invocation_is_options_then_config_flags_then_classpath_entry_point_output() -> None:
    invocation = Invocation("/opt/graalvm/bin/native-image", ("--no-fallback", "-J-Dx=a b"),
                            ConfigSet("/c d", (FileKind.REFLECT,)), "/dist/libs", "kafka.docker.KafkaDockerWrapper",
                            "/out/kafka.Kafka")
    assert invocation.argv() == (
        "/opt/graalvm/bin/native-image", "--no-fallback", "-J-Dx=a b",
        "-H:ReflectionConfigurationFiles=/c d/reflect-config.json",
        "-cp", "/dist/libs/*", "kafka.docker.KafkaDockerWrapper", "-o", "/out/kafka.Kafka")
    # What --dry-run prints is the same argv, quoted for a shell (the wildcard is not expanded).
    assert tuple(shlex.split(invocation.shell())) == invocation.argv()
    assert "'/dist/libs/*'" in invocation.shell()


@pytest.mark.parametrize(("output", "jdk"), [
    ("native-image 21.0.2 2024-01-16\nGraalVM Runtime Environment GraalVM CE 21.0.2+13.1 (build 21.0.2+13-jvmci-23.1-b30)\n"
     "Substrate VM GraalVM CE 21.0.2+13.1 (build 21.0.2+13, serial gc)\n", 21),
    ("native-image 23.0.1 2024-10-15\nGraalVM Runtime Environment Oracle GraalVM 23.0.1+11.1\n", 23),
    ("native-image 17.0.9 2023-10-17\nGraalVM Runtime Environment GraalVM CE 17.0.9+9.1\n", 17),
    ("GraalVM 22.3.0 Java 17 CE (Java Version 17.0.5+8-jvmci-22.3-b08)\n", 17),
    ("GraalVM 22.3.1 Java 11 EE (Java Version 11.0.18+9-LTS-jvmci-22.3-b11)\n", 11),
])
def test_version_from_both_output_shapes(output: str, jdk: int) -> None:
    version = parse_version(output, "native-image")
    assert version.jdk == jdk
    assert version.text.startswith(output.splitlines()[0])


def test_an_output_without_a_version_is_refused_with_its_first_line() -> None:
    with pytest.raises(InputError, match=r"/x/native-image: cannot tell the GraalVM version .*'openjdk 21.0.1 2023-10-17'"):
        parse_version("openjdk 21.0.1 2023-10-17\nOpenJDK Runtime Environment\n", "/x/native-image")


def test_graalvm_21_builds_legacy_configs_only_23_reads_unified() -> None:
    v17, v21, v23 = (parse_version(f"native-image {n}.0.1 2024-01-16\n", "ni") for n in (17, 21, 23))
    with pytest.raises(InputError, match="needs GraalVM for JDK 21 or newer"):
        check_supported(v17, "legacy", "ni")
    check_supported(v21, "legacy", "ni")
    with pytest.raises(InputError, match="cannot read the unified reachability-metadata.json"):
        check_supported(v21, "unified", "ni")
    check_supported(v23, "unified", "ni")
