"""Distributions (directories and tarballs with real jars), the entry-point check, the configs check."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

import pytest

from build_helpers import WRAPPER, kafka_dist, legacy_configs, tarball, unified_configs
from jarfactory import class_file, entry_of, write_jar
from metadata_pipeline.nativebuild.configs import check_configs
from metadata_pipeline.nativebuild.distribution import find_entry_point, open_distribution
from metadata_pipeline.core.kinds import FileKind
from metadata_pipeline.errors import InputError


def test_directory_distribution_and_entry_point_in_the_second_jar(tmp_path: Path) -> None:
    dist_dir = kafka_dist(tmp_path / "kafka")
    with open_distribution(dist_dir) as dist:
        assert not dist.packed and dist.root == dist_dir
        assert [jar.name for jar in dist.jars] == ["kafka-clients-3.8.0.jar", "kafka_2.13-3.8.0.jar"]
        assert dist.script("kafka-server-start.sh") == dist_dir / "bin" / "kafka-server-start.sh"
        assert dist.script("kafka-nope.sh") is None
        entry = find_entry_point(dist, WRAPPER)
    assert entry.jar == dist_dir / "libs" / "kafka_2.13-3.8.0.jar"
    assert dist_dir.is_dir()  # a directory is used in place, never removed


def test_the_entry_point_in_kafkas_real_jars(tmp_path: Path) -> None:
    """kafka.docker.KafkaDockerWrapper where Kafka 4.0.0 ships it (tests/pom.xml's jars)."""
    import shutil

    from docker_fixtures import kafka_libs

    libs = tmp_path / "kafka_2.13-4.0.0" / "libs"
    libs.mkdir(parents=True)
    for name in ("kafka-clients-4.0.0.jar", "kafka_2.13-4.0.0.jar", "zstd-jni-1.5.6-6.jar"):
        shutil.copyfile(kafka_libs() / name, libs / name)
    with open_distribution(libs.parent) as dist:
        assert find_entry_point(dist, WRAPPER).jar == libs / "kafka_2.13-4.0.0.jar"
        with pytest.raises(InputError, match="kafka.docker.NoSuchWrapper: no such class in the 3 jars"):
            find_entry_point(dist, "kafka.docker.NoSuchWrapper")


@pytest.mark.parametrize("top", ["kafka_2.13-3.8.0", None])
def test_tarball_is_unpacked_for_the_block_and_removed_after(tmp_path: Path,
                                                             top: str | None) -> None:
    archive = tarball(kafka_dist(tmp_path / "kafka"), tmp_path / "kafka.tgz", top)
    with open_distribution(archive) as dist:
        assert dist.packed and dist.source == archive
        assert dist.root.name == (top or dist.root.name) and (dist.libs / "kafka_2.13-3.8.0.jar").is_file()
        assert (dist.config_dir / "log4j.properties").is_file()
        assert find_entry_point(dist, WRAPPER).jar.name == "kafka_2.13-3.8.0.jar"
        unpacked = dist.root
    assert not unpacked.exists()


def test_a_directory_without_libs_or_without_jars_is_no_distribution(tmp_path: Path) -> None:
    (tmp_path / "checkout" / "core").mkdir(parents=True)
    with pytest.raises(InputError, match=r"checkout: no libs/ directory: not a Kafka distribution"):
        with open_distribution(tmp_path / "checkout"):
            pass
    (tmp_path / "checkout" / "libs").mkdir()
    (tmp_path / "checkout" / "libs" / "README").write_text("no jars")
    with pytest.raises(InputError, match=r"libs: no jars in it"):
        with open_distribution(tmp_path / "checkout"):
            pass
    with pytest.raises(InputError, match="no such file or directory"):
        with open_distribution(tmp_path / "missing.tgz"):
            pass


def test_a_tarball_without_libs_is_refused(tmp_path: Path) -> None:
    (tmp_path / "src" / "bin").mkdir(parents=True)
    (tmp_path / "src" / "bin" / "kafka-server-start.sh").write_text("#!/bin/sh\n")
    archive = tarball(tmp_path / "src", tmp_path / "nolibs.tgz")
    with pytest.raises(InputError, match=r"nolibs.tgz: no libs/ directory in the tarball"):
        with open_distribution(archive):
            pass


def test_corrupt_and_truncated_tarballs_are_refused(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.tgz"
    garbage.write_bytes(b"this is not a tarball at all\n" * 100)
    whole = tarball(kafka_dist(tmp_path / "kafka"), tmp_path / "whole.tgz").read_bytes()
    truncated = tmp_path / "truncated.tgz"
    truncated.write_bytes(whole[: len(whole) // 2])
    for archive in (garbage, truncated):
        with pytest.raises(InputError) as info:
            with open_distribution(archive):
                pass
        assert info.value.message.startswith(f"{archive}: not a readable Kafka release tarball (corrupt or truncated?)")


def test_a_tarball_member_escaping_the_destination_is_refused(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name in ("kafka/libs/a.jar", "../../escaped.txt"):
            info = tarfile.TarInfo(name)
            info.size = 2
            tar.addfile(info, io.BytesIO(b"x\n"))
    archive = tmp_path / "evil.tgz"
    archive.write_bytes(gzip.compress(buffer.getvalue()))
    with pytest.raises(InputError, match=r"evil.tgz: refusing to unpack: .*escaped.txt"):
        with open_distribution(archive):
            pass
    assert not Path("/escaped.txt").exists()  # where ../../ from the unpack directory in /tmp leads


def test_entry_point_missing_or_without_main_is_refused_before_any_build(tmp_path: Path) -> None:
    with open_distribution(kafka_dist(tmp_path / "old", wrapper=False)) as dist:
        with pytest.raises(InputError) as info:
            find_entry_point(dist, WRAPPER)
    assert info.value.message.startswith(f"{WRAPPER}: no such class in the 2 jars of {tmp_path / 'old'}")
    assert "Kafka 3.8 and later" in info.value.message

    dist_dir = kafka_dist(tmp_path / "kafka")
    with open_distribution(dist_dir) as dist:
        # kafka.Kafka$ style: a class that exists but declares no main(String[]).
        with pytest.raises(InputError, match=r"kafka.Kafka \(in kafka_2.13-3.8.0.jar\): has no main\(String\[\]\)"):
            find_entry_point(dist, "kafka.Kafka")
    write_jar(dist_dir / "libs" / "kafka-zzz.jar", {entry_of("a.Main"): class_file("a.Main", methods=[("main", "(I)V")])})
    with open_distribution(dist_dir) as dist:
        with pytest.raises(InputError, match="a.Main .*has no main"):  # main(int) is no entry point
            find_entry_point(dist, "a.Main")
    (dist_dir / "libs" / "broken.jar").write_bytes(b"not a zip")
    with open_distribution(dist_dir) as dist:
        with pytest.raises(InputError, match=r"broken.jar: not a readable jar"):
            find_entry_point(dist, WRAPPER)


def test_configs_format_and_files_present(tmp_path: Path) -> None:
    legacy = check_configs(legacy_configs(tmp_path / "legacy"))
    assert legacy.kinds == (FileKind.REFLECT, FileKind.PROXY, FileKind.RESOURCE) and legacy.format == "legacy"
    assert legacy.at("/mp/configs").directory == "/mp/configs"
    unified = check_configs(unified_configs(tmp_path / "unified"))
    assert unified.kinds == (FileKind.UNIFIED,) and unified.format == "unified"


def test_configs_with_a_lock_no_files_or_validate_findings_are_refused(tmp_path: Path) -> None:
    locked = legacy_configs(tmp_path / "locked")
    (locked / ".lock").write_text("4242")
    with pytest.raises(InputError, match=r"locked/.lock: the configs directory holds an agent lock file"):
        check_configs(locked)
    (tmp_path / "empty" / "nested").mkdir(parents=True)
    legacy_configs(tmp_path / "empty" / "nested" / "deeper")  # only directly inside counts
    with pytest.raises(InputError, match=r"empty: no metadata files directly inside"):
        check_configs(tmp_path / "empty")
    bad = legacy_configs(tmp_path / "bad")
    (bad / "reflect-config.json").write_text('[{"name": "a.B"}, {"name": "a.B"}, {"nmae": "x"}]')
    with pytest.raises(InputError) as info:
        check_configs(bad)
    assert info.value.message.startswith(f"{bad}: fails validate with ")
    assert f"{bad / 'reflect-config.json'}: /2" in info.value.message
    assert f"(see all: metadata-pipeline validate {bad})" in info.value.message
    with pytest.raises(InputError, match="no such configs directory"):
        check_configs(tmp_path / "nope")
