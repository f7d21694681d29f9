"""The container layer without an engine: safe extraction of hand-made (and hostile) tar
archives, the container spec, and the errors a user sees."""

from __future__ import annotations

import io
import os
import stat
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metadata_pipeline.containers import (
    ContainerError, ContainerSpec, DockerUnavailable, Engine, Mount, UnsafeArchive, extract_archive,
    new_run_id, run_labels, LABEL_RUN,
)
from metadata_pipeline.errors import EXIT_INPUT, FatalError


@dataclass(frozen=True)
class Entry:
    name: str
    kind: str = "file"  # file | dir | sym | hard | fifo | chr
    data: bytes = b""
    link: str = ""
    mode: int = 0o644


def archive(*entries: Entry) -> io.BytesIO:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for e in entries:
            info = tarfile.TarInfo(e.name)
            info.mode, info.mtime = e.mode, 1_700_000_000
            info.type = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "sym": tarfile.SYMTYPE,
                         "hard": tarfile.LNKTYPE, "fifo": tarfile.FIFOTYPE, "chr": tarfile.CHRTYPE}[e.kind]
            info.linkname = e.link
            info.size = len(e.data) if e.kind == "file" else 0
            tar.addfile(info, io.BytesIO(e.data) if e.kind == "file" else None)
    buffer.seek(0)
    return buffer


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret").write_text("keep me")
    return tmp_path / "dest"


def assert_refused(dest: Path, member: str, *entries: Entry) -> UnsafeArchive:
    with pytest.raises(UnsafeArchive) as info:
        extract_archive(archive(*entries), dest, "node1:/mnt/out")
    assert info.value.member == member
    assert repr(member) in str(info.value) and "node1:/mnt/out" in str(info.value)
    assert "\n" not in str(info.value)
    # Checks run before any write: not even the harmless members got out.
    assert not dest.exists() or list(dest.iterdir()) == []
    assert (dest.parent / "outside" / "secret").read_text() == "keep me"
    assert sorted(p.name for p in dest.parent.iterdir()) == sorted(["outside"] + (["dest"] if dest.exists() else []))
    return info.value


# --- what a real agent output directory looks like comes out intact ----------------------------

def test_files_dirs_internal_links_and_hard_links_are_extracted(dest: Path) -> None:
    written = extract_archive(archive(
        Entry("out", "dir", mode=0o755),
        Entry("out/session-1", "dir", mode=0o700),
        Entry("out/session-1/reflect-config.json", data=b"[]", mode=0o640),
        Entry("out/session-1/run.sh", data=b"#!/bin/sh\n", mode=0o4755),  # setuid must go
        Entry("out/latest", "sym", link="session-1"),
        # One inode: tarfile sets its mode from the link member too (as GNU tar does).
        Entry("out/session-1/again.json", "hard", link="out/session-1/reflect-config.json", mode=0o640),
        Entry("out/empty", "dir"),
        Entry("out/up", "sym", link="session-1/../empty"),
    ), dest, "test")
    assert written == ["out", "out/session-1", "out/session-1/reflect-config.json", "out/session-1/run.sh",
                       "out/latest", "out/session-1/again.json", "out/empty", "out/up"]
    session = dest / "out" / "session-1"
    assert (session / "reflect-config.json").read_bytes() == b"[]"
    assert stat.S_IMODE((session / "reflect-config.json").stat().st_mode) == 0o640
    assert stat.S_IMODE((session / "run.sh").stat().st_mode) == 0o755
    assert (session / "reflect-config.json").stat().st_mtime == 1_700_000_000
    assert os.readlink(dest / "out" / "latest") == "session-1"
    assert (dest / "out" / "latest" / "reflect-config.json").read_bytes() == b"[]"
    assert (session / "again.json").stat().st_ino == (session / "reflect-config.json").stat().st_ino
    assert (dest / "out" / "up").resolve() == (dest / "out" / "empty").resolve()


def test_dot_slash_names_and_the_root_entry_are_normal(dest: Path) -> None:
    assert extract_archive(archive(Entry(".", "dir"), Entry("./a.json", data=b"{}")), dest, "t") == ["a.json"]
    assert (dest / "a.json").read_bytes() == b"{}"


def test_existing_files_are_replaced_and_a_symlink_in_the_way_is_not_followed(dest: Path) -> None:
    dest.mkdir()
    (dest / "reflect-config.json").write_text("old")
    os.symlink(dest.parent / "outside" / "secret", dest / "jni-config.json")
    extract_archive(archive(Entry("reflect-config.json", data=b"new"), Entry("jni-config.json", data=b"[]")),
                    dest, "t")
    assert (dest / "reflect-config.json").read_text() == "new"
    assert not (dest / "jni-config.json").is_symlink()
    assert (dest / "jni-config.json").read_text() == "[]"
    assert (dest.parent / "outside" / "secret").read_text() == "keep me"


# --- hostile archives -----------------------------------------------------------------------

def test_absolute_member_names_are_refused(dest: Path) -> None:
    err = assert_refused(dest, "/etc/cron.d/evil", Entry("ok.json", data=b"[]"), Entry("/etc/cron.d/evil", data=b"x"))
    assert "absolute" in str(err)


@pytest.mark.parametrize("name", ["../evil", "a/../../evil", "a/b/../../../evil", ".."])
def test_dot_dot_in_member_names_is_refused(dest: Path, name: str) -> None:
    assert "'..'" in str(assert_refused(dest, name, Entry("ok.json", data=b"[]"), Entry(name, data=b"x")))


@pytest.mark.parametrize("target", ["/etc/passwd", "../outside/secret", "a/../../outside", "../../../../.."])
def test_symlinks_leaving_the_destination_are_refused(dest: Path, target: str) -> None:
    assert_refused(dest, "link", Entry("a", "dir"), Entry("link", "sym", link=target))


def test_a_nested_symlink_may_not_climb_above_the_root(dest: Path) -> None:
    assert_refused(dest, "d/e/link", Entry("d/e", "dir"), Entry("d/e/link", "sym", link="../../../outside/secret"))


def test_writing_through_a_symlink_in_the_archive_is_refused(dest: Path) -> None:
    # The link itself points inside, but a later member would be written through it.
    err = assert_refused(dest, "here/x", Entry("here", "sym", link="."), Entry("here/x", data=b"x"))
    assert "below the symlink 'here'" in str(err)


def test_writing_through_a_symlink_defined_after_the_member_is_refused(dest: Path) -> None:
    assert_refused(dest, "p/x", Entry("p/x", data=b"x"), Entry("p", "sym", link="."))


def test_dot_dot_through_another_symlink_is_refused(dest: Path) -> None:
    # Lexically "b/.." is ".", but b -> "." makes it the destination's parent.
    err = assert_refused(dest, "a", Entry("b", "sym", link="."), Entry("a", "sym", link="b/.."))
    assert "through the symlink 'b'" in str(err)


def test_a_symlink_already_on_disk_is_no_way_out(dest: Path) -> None:
    dest.mkdir()
    os.symlink(dest.parent / "outside", dest / "pre")
    with pytest.raises(UnsafeArchive) as info:
        extract_archive(archive(Entry("pre/secret", data=b"overwritten")), dest, "t")
    assert info.value.member == "pre/secret"
    assert (dest.parent / "outside" / "secret").read_text() == "keep me"


@pytest.mark.parametrize("link", ["/etc/passwd", "../outside/secret", "missing", "dir"])
def test_hard_links_only_to_earlier_regular_files(dest: Path, link: str) -> None:
    assert_refused(dest, "h", Entry("dir", "dir"), Entry("h", "hard", link=link))


def test_a_hard_link_to_a_path_that_became_a_symlink_is_refused(dest: Path) -> None:
    # f is first a file, then a symlink resolving fine from d/; a hard link at the top would
    # copy that symlink to a place where "../x" leaves the destination.
    assert_refused(dest, "h", Entry("d", "dir"), Entry("d/f", data=b"x"), Entry("d/f", "sym", link="../x"),
                   Entry("h", "hard", link="d/f"))


@pytest.mark.parametrize("kind", ["fifo", "chr"])
def test_special_files_are_refused(dest: Path, kind: str) -> None:
    assert "special" in str(assert_refused(dest, "dev", Entry("dev", kind)))


def test_unsafe_archive_is_a_one_line_input_error() -> None:
    err = UnsafeArchive("n1:/x", "../a", "contains '..'")
    assert isinstance(err, ContainerError) and isinstance(err, FatalError)
    assert err.exit_code == EXIT_INPUT
    assert str(err) == "refusing archive from n1:/x: member '../a' contains '..'"


# A tiny universe so that names collide and links chain: that is where extraction goes wrong.
# Hard links name members (anything else refuses the whole archive and tests nothing).
member_names = st.sampled_from(["a", "b", "a/b"])
link_targets = st.sampled_from([".", "..", "a", "b", "a/b", "a/..", "b/..", "../a", "/a"])
entry = st.one_of(
    st.builds(Entry, name=member_names, kind=st.sampled_from(["file", "dir"]), data=st.just(b"payload")),
    st.builds(Entry, name=member_names, kind=st.just("sym"), link=link_targets),
    st.builds(Entry, name=member_names, kind=st.just("hard"), link=member_names),
)
entries = st.lists(entry, min_size=1, max_size=5)


@settings(max_examples=500, deadline=None)
@given(entries)
def test_no_archive_writes_or_points_outside_the_destination(tmp_path_factory: pytest.TempPathFactory,
                                                             members: list[Entry]) -> None:
    base = tmp_path_factory.mktemp("x")
    (base / "outside").mkdir()
    (base / "outside" / "secret").write_text("keep me")
    dest = base / "dest"
    try:
        extract_archive(archive(*members), dest, "t")
    except (UnsafeArchive, ContainerError):
        pass
    assert sorted(p.name for p in base.iterdir()) == ["dest", "outside"]
    assert [p.name for p in (base / "outside").iterdir()] == ["secret"]
    assert (base / "outside" / "secret").read_text() == "keep me"
    root = os.path.realpath(dest)
    secret_inode = (base / "outside" / "secret").stat().st_ino
    for directory, dirs, files in os.walk(dest):
        for name in dirs + files:
            path = os.path.join(directory, name)
            real = os.path.realpath(path)  # realpath, not Path.resolve: links may loop
            assert real == root or real.startswith(root + os.sep), (path, os.path.islink(path) and os.readlink(path))
            assert os.lstat(path).st_ino != secret_inode


# --- spec, labels, engine errors --------------------------------------------------------------

def test_container_spec_describes_what_will_run(tmp_path: Path) -> None:
    spec = ContainerSpec(image="metadata-pipeline/graalvm-jit", name="mp-node1", network="mp-net",
                         aliases=("node1",), mounts=(Mount(tmp_path, "/opt/kafka-dev", read_only=True),),
                         env={"KAFKA_OPTS": "-agentlib:native-image-agent=config-output-dir=/mnt/a"},
                         memory="2g")
    described = spec.describe()
    assert described["hostname"] == "mp-node1"
    assert described["mounts"] == [f"{tmp_path} -> /opt/kafka-dev (ro)"]
    assert described["cap_add"] == [] and described["devices"] == []  # the engine's defaults, nothing more
    assert described["env"]["KAFKA_OPTS"].startswith("-agentlib:native-image-agent=")


def test_run_ids_are_unique_and_label_everything() -> None:
    ids = {new_run_id() for _ in range(50)}
    assert len(ids) == 50
    run_id = ids.pop()
    assert run_labels(run_id) == {"metadata-pipeline": "true", LABEL_RUN: run_id}


def test_no_engine_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "no-such.sock"
    monkeypatch.setenv("DOCKER_HOST", f"unix://{missing}")
    with pytest.raises(DockerUnavailable) as info:
        Engine.connect(timeout=5)
    message = str(info.value)
    assert message.startswith(f"no Docker engine answers at unix://{missing}: ")
    assert "DOCKER_HOST" in message and "\n" not in message
    assert info.value.exit_code == EXIT_INPUT


def test_glob_patterns_cannot_smuggle_shell() -> None:
    from metadata_pipeline.containers import Container

    node = Container(engine=None, spec=ContainerSpec(image="i", name="n"), run_id="r")  # type: ignore[arg-type]
    for pattern in ["/mnt/$(reboot)", "/mnt/a;b", "/mnt/`x`", "/mnt/a b", "/mnt/'"]:
        with pytest.raises(ValueError):
            node.glob(pattern)


# --- least privilege ---------------------------------------------------------------------------

def test_no_container_gets_all_capabilities() -> None:
    with pytest.raises(ValueError, match="cap_add=ALL is refused"):
        ContainerSpec(image="i", name="n", cap_add=("ALL",))


def test_nodes_get_net_admin_and_fuse_only_with_kibosh(tmp_path: Path) -> None:
    from metadata_pipeline.collect.cluster import ClusterSpec

    spec = ClusterSpec(run_id="r", image="i", nodes=3, kafka_dir=tmp_path, overrides_dir=tmp_path,
                       overrides_mount="/opt/metadata-pipeline/overrides")
    for node in spec.container_specs():
        assert (node.cap_add, node.devices) == (("NET_ADMIN",), ())
        # Read-write, as ducker-ak mounts it: kafka-run-class.sh writes logs/ there.
        assert [(m.target, m.read_only) for m in node.mounts] == [
            ("/opt/kafka-dev", False), ("/opt/metadata-pipeline/overrides", True)]
    with_kibosh = ClusterSpec(run_id="r", image="i", nodes=2, kafka_dir=tmp_path, overrides_dir=tmp_path,
                              overrides_mount="/o/p", fuse=True)
    for node in with_kibosh.container_specs():
        assert (node.cap_add, node.devices) == (("NET_ADMIN", "SYS_ADMIN"), ("/dev/fuse",))


def test_the_native_image_container_gets_no_extra_capabilities(tmp_path: Path) -> None:
    from metadata_pipeline.nativebuild.configs import CheckedConfigs
    from metadata_pipeline.nativebuild.runner import BuildRequest, DockerRunner

    request = BuildRequest(libs=tmp_path, configs=CheckedConfigs(tmp_path, ()), options=(),
                           entry_point="kafka.docker.KafkaDockerWrapper", output_dir=tmp_path)
    spec = DockerRunner("graalvm:21", None, "test").container_spec(request, "r").describe()
    assert (spec["cap_add"], spec["devices"]) == ([], [])


def test_run_ssh_keys_are_fresh_and_never_printed() -> None:
    from metadata_pipeline.collect import sshkeys

    one, two = sshkeys.generate("a"), sshkeys.generate("b")
    assert one.private_openssh != two.private_openssh
    assert one.private_openssh.startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    assert one.public_openssh.startswith("ssh-ed25519 ") and one.public_openssh.endswith(" a")
    assert "PRIVATE" not in repr(one)
    files = sshkeys.files(one)
    assert files["id_ed25519"][1] == 0o600 and files["authorized_keys"][0].decode().strip() == one.public_openssh


def test_the_node_image_bakes_no_key() -> None:
    dockerfile = (Path(__file__).resolve().parents[1] / "docker" / "graalvm-jit" / "Dockerfile").read_text()
    run_lines = [line for line in dockerfile.splitlines() if not line.lstrip().startswith("#")]
    assert not any("ssh-keygen" in line and "id_" in line for line in run_lines)
    assert "rm -f /etc/ssh/ssh_host_*" in dockerfile
