"""Output safety and disk edge cases (issue 15): what a hostile tree or an unlucky machine does.

Each test names the issue item it guards. Permission tests run the CLI as a user without
root's power to read everything: as root, the subprocess drops CAP_DAC_OVERRIDE and
CAP_DAC_READ_SEARCH from its bounding set before exec (so it really gets EACCES).
"""

from __future__ import annotations

import ctypes
import fcntl
import json
import os
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from cli_helpers import Result, assert_one_line_error, run_cli, write_dir

GOOD = {"reflect-config.json": [{"name": "a.Good"}], "proxy-config.json": [{"interfaces": ["a.I"]}]}


def snapshot(path: Path) -> dict[str, bytes] | None:
    if not path.is_dir():
        return None
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if ".new-" in p.name or ".old-" in p.name)


def _drop_root_read_powers() -> None:
    os.umask(0o022)
    if os.geteuid() == 0:
        libc = ctypes.CDLL(None, use_errno=True)
        for cap in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
            if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
                raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def run(*args: str | Path, cwd: Path | None = None, timeout: float = 60, stdin: str | None = None) -> Result:
    """The CLI in a subprocess, umask 022, without root's read powers; a hang fails the test."""
    proc = subprocess.run([sys.executable, "-m", "metadata_pipeline", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd or tempfile.gettempdir(), timeout=timeout, preexec_fn=_drop_root_read_powers,
                          input=stdin)
    return Result(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def good_out(tmp_path: Path) -> Path:
    src = write_dir(tmp_path / "good" / "T.t" / "n" / "p", GOOD)
    out = tmp_path / "out"
    assert run("merge", src, "-o", out).code == 0
    (out / "README.md").write_text("mine\n")
    return out


# --- item 2: a merge that merged nothing replaces nothing ---------------------------------------

def test_skip_invalid_that_skipped_everything_exits_2_and_replaces_nothing(tmp_path: Path, good_out: Path) -> None:
    bad = tmp_path / "bad"
    write_dir(bad / "T.a" / "n" / "p", {"reflect-config.json": '[{"name": "x.Y"}, {"na'})
    locked = write_dir(bad / "T.b" / "n" / "p", {"reflect-config.json": [{"name": "k.Snap"}]})
    (locked / ".lock").write_text("999999999")
    before = snapshot(good_out)
    result = run("merge", bad, "-o", good_out, "--skip-invalid")
    assert_one_line_error(result, "nothing merged", "2 input(s) skipped")
    assert result.err.count("warning: skipped:") == 2
    assert snapshot(good_out) == before
    assert leftovers(tmp_path) == []


# --- item 3: an unreadable subdirectory is an error, or a counted warning -----------------------

def test_unreadable_subdirectory_fails_merge_and_validate_or_is_a_counted_skip(tmp_path: Path) -> None:
    root = tmp_path / "collected"
    write_dir(root / "A.test" / "n" / "p", GOOD)
    hidden = write_dir(root / "B.test" / "n" / "p", {"reflect-config.json": [{"name": "b.Hidden"}]}).parent
    hidden.chmod(0)
    try:
        out = tmp_path / "out"
        assert_one_line_error(run("merge", root, "-o", out), "B.test/n", "cannot read directory", "Permission denied")
        assert not out.exists()
        assert_one_line_error(run("validate", root), "B.test/n", "cannot read directory")
        result = run("merge", root, "-o", out, "--skip-invalid")
        assert result.code == 0, result.err
        assert "warning: skipped: " in result.err and "B.test/n: cannot read directory" in result.err
        assert "skipped 1 invalid input(s)" in result.err
        assert "a.Good" in (out / "reflect-config.json").read_text()
    finally:
        hidden.chmod(0o755)


def test_unreadable_file_fails_merge_or_is_a_counted_skip(tmp_path: Path) -> None:
    root = tmp_path / "collected"
    write_dir(root / "A.test" / "n" / "p", GOOD)
    secret = write_dir(root / "B.test" / "n" / "p", {"jni-config.json": [{"name": "b.Hidden"}]}) / "jni-config.json"
    secret.chmod(0)
    try:
        assert_one_line_error(run("merge", root, "-o", tmp_path / "out"), "jni-config.json", "cannot read", "Permission denied")
        result = run("merge", root, "-o", tmp_path / "out", "--skip-invalid")
        assert result.code == 0, result.err
        assert "warning: skipped: " in result.err and "skipped 1 invalid input(s)" in result.err
    finally:
        secret.chmod(0o644)


# --- item 4: provenance is part of the commit, and never overwrites an input -----------------

def test_provenance_at_an_input_or_inside_the_output_is_refused_before_anything(tmp_path: Path, good_out: Path) -> None:
    src = write_dir(tmp_path / "in" / "T.t" / "n" / "p", {"reflect-config.json": [{"name": "b.New"}]})
    inputs_before, out_before = snapshot(tmp_path / "in"), snapshot(good_out)
    tree, file = tmp_path / "in", src / "reflect-config.json"
    for source, prov, needle in [(file, file, "is an input"), (tree, src / "provenance.json", "inside input"),
                                 (tree, good_out / "provenance.json", "inside the output"),
                                 (tree, good_out, "is the output")]:
        result = run("merge", source, "-o", good_out, "--provenance", prov)
        assert_one_line_error(result, "--provenance", needle)
        assert snapshot(tmp_path / "in") == inputs_before and snapshot(good_out) == out_before


def test_provenance_that_cannot_be_written_leaves_the_old_output(tmp_path: Path, good_out: Path) -> None:
    src = write_dir(tmp_path / "in" / "T.t" / "n" / "p", {"reflect-config.json": [{"name": "b.New"}]})
    (tmp_path / "a-file").write_text("not a directory")
    before = snapshot(good_out)
    result = run("merge", src, "-o", good_out, "--provenance", tmp_path / "a-file" / "provenance.json")
    assert_one_line_error(result, "a-file")
    assert snapshot(good_out) == before
    assert leftovers(tmp_path) == [] and leftovers(good_out) == []


def test_provenance_is_written_with_the_umask_mode(tmp_path: Path) -> None:
    src = write_dir(tmp_path / "in" / "T.t" / "n" / "p", GOOD)
    assert run("merge", src, "-o", tmp_path / "out", "--provenance", tmp_path / "prov.json").code == 0
    assert stat.S_IMODE((tmp_path / "prov.json").stat().st_mode) == 0o644


# --- item 5: paths that would destroy inputs or the working directory -------------------------

@pytest.mark.parametrize("case", ["dot", "empty", "equal", "inside", "containing", "cwd-parent", "root"])
def test_outputs_that_would_destroy_inputs_or_the_cwd_are_refused(tmp_path: Path, case: str) -> None:
    work = tmp_path / "work"
    src = write_dir(work / "collected" / "T.t" / "n" / "p", GOOD)
    out, cwd, needle = {
        "dot": (".", work / "collected", "working directory"),
        "empty": ("", work, "empty"),
        "equal": (work / "collected", work, "is an input"),
        "inside": (work / "collected" / "T.t" / "configs", work, "inside input"),
        "containing": (work, tmp_path, "contains input"),
        "cwd-parent": ("..", work / "collected", "working directory"),
        "root": ("/", work, "filesystem root"),
    }[case]
    filter_file = write_filter(tmp_path)
    before = snapshot(tmp_path)
    result = run("merge", work / "collected", "-o", out, "--filter", filter_file, cwd=cwd)
    assert_one_line_error(result, needle)
    assert snapshot(tmp_path) == before
    assert src.is_dir()


def write_filter(tmp_path: Path) -> Path:
    path = tmp_path / "filter.json"
    if not path.exists():
        path.write_text(json.dumps({"rules": [{"excludeClasses": "a.**"}]}))
    return path


def test_output_directory_keeps_its_mode_or_gets_the_umask_default(tmp_path: Path) -> None:
    src = write_dir(tmp_path / "in" / "T.t" / "n" / "p", GOOD)
    fresh = tmp_path / "fresh"
    assert run("merge", src, "-o", fresh).code == 0
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o755  # 0o777 & ~umask 022
    assert stat.S_IMODE((fresh / "reflect-config.json").stat().st_mode) == 0o644
    fresh.chmod(0o750)
    assert run("merge", src, "-o", fresh).code == 0
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o750


def test_output_that_is_a_symlink_is_followed_and_its_target_replaced(tmp_path: Path) -> None:
    src = write_dir(tmp_path / "in" / "T.t" / "n" / "p", GOOD)
    real = write_dir(tmp_path / "real-configs", {"reflect-config.json": [{"name": "old.Gone"}], "NOTICE": "x"})
    link = tmp_path / "configs"
    link.symlink_to(real.name)
    assert run("merge", src, "-o", link).code == 0
    assert link.is_symlink() and os.readlink(link) == real.name
    assert "a.Good" in (real / "reflect-config.json").read_text() and (real / "NOTICE").read_text() == "x"
    assert leftovers(tmp_path) == []


# --- item 6: concurrent writers are serialised ---------------------------------------------------

def test_a_merge_waits_for_another_writer_of_the_same_output(tmp_path: Path, good_out: Path) -> None:
    src = write_dir(tmp_path / "in" / "T.t" / "n" / "p", {"reflect-config.json": [{"name": "b.New"}]})
    before = snapshot(good_out)
    fd = os.open(good_out.parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # as a writer in the middle of its commit holds it
        proc = subprocess.Popen([sys.executable, "-m", "metadata_pipeline", "merge", str(src), "-o", str(good_out)],
                                cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(3)
        assert proc.poll() is None, proc.communicate()
        assert snapshot(good_out) == before
    finally:
        os.close(fd)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "waiting: another process is writing" in err
    assert "b.New" in (good_out / "reflect-config.json").read_text()


def test_concurrent_merges_into_one_output_each_land_whole(tmp_path: Path, good_out: Path) -> None:
    sources = [write_dir(tmp_path / f"in{i}" / "T.t" / "n" / "p",
                         {"reflect-config.json": [{"name": f"c{i}.K{j}"} for j in range(3000)]}) for i in range(2)]
    results = []
    for src in sources:
        ref = tmp_path / f"ref-{src.parents[2].name}"
        assert run("merge", src, "-o", ref).code == 0
        results.append((ref / "reflect-config.json").read_bytes())
    for _ in range(6):
        procs = [subprocess.Popen([sys.executable, "-m", "metadata_pipeline", "merge", str(src), "-o", str(good_out)],
                                  cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for src in sources]
        for proc in procs:
            _, err = proc.communicate(timeout=120)
            assert proc.returncode == 0 and "Traceback" not in err, err
        assert (good_out / "reflect-config.json").read_bytes() in results
        assert (good_out / "README.md").read_text() == "mine\n"
        assert leftovers(tmp_path) == []


# --- item 10 and file types: only regular files are read; text is UTF-8 ------------------------

@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
def test_metadata_file_that_is_not_a_regular_file_is_refused_not_read(tmp_path: Path, kind: str) -> None:
    d = write_dir(tmp_path / "in" / "T.t" / "n" / "p", {"proxy-config.json": "[]"})
    if kind == "fifo":
        os.mkfifo(d / "reflect-config.json")
    else:
        (d / "reflect-config.json").symlink_to("/dev/zero")
    needle = "a FIFO" if kind == "fifo" else "a character device"
    assert_one_line_error(run("merge", tmp_path / "in", "-o", tmp_path / "out", timeout=30),
                          "reflect-config.json", f"not a regular file ({needle})")
    assert_one_line_error(run("validate", tmp_path / "in", timeout=30), "reflect-config.json", "not a regular file")
    result = run("merge", tmp_path / "in", "-o", tmp_path / "out", "--skip-invalid", timeout=30)
    assert result.code == 0 and "not a regular file" in result.err, result.err


def test_a_regular_file_is_read_whole_whatever_size_it_claims(tmp_path: Path) -> None:
    from metadata_pipeline.files.fsio import read_regular_file

    # Read in one piece when the size is right; in more when it is not: /proc's files are
    # regular files that claim 0 bytes.
    for size in (0, 1, (1 << 16) + 1, 3 << 20):
        data = os.urandom(size)
        (tmp_path / f"f{size}").write_bytes(data)
        assert read_regular_file(tmp_path / f"f{size}") == data
    status = read_regular_file(Path("/proc/self/status"))
    assert os.stat("/proc/self/status").st_size == 0 and b"\nPid:" in status


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "directory"])
def test_settings_and_filter_files_must_be_regular_files(tmp_path: Path, kind: str) -> None:
    src = write_dir(tmp_path / "in" / "T.t" / "n" / "p", GOOD)
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".git").mkdir()
    for target in (repo / "metadata-pipeline.toml", tmp_path / "filter.json"):
        if kind == "fifo":
            os.mkfifo(target)
        elif kind == "dev-zero":
            target.symlink_to("/dev/zero")
        else:
            target.mkdir()
    assert_one_line_error(run("merge", src, "-o", tmp_path / "o1", cwd=repo, timeout=30),
                          "metadata-pipeline.toml", "not a regular file")
    assert_one_line_error(run("merge", src, "-o", tmp_path / "o2", "--no-config", "--filter", tmp_path / "filter.json",
                              timeout=30), "filter.json", "not a regular file")
    assert not (tmp_path / "o1").exists() and not (tmp_path / "o2").exists()


def test_invalid_utf8_in_settings_or_a_filter_file_is_one_line(tmp_path: Path) -> None:
    src = write_dir(tmp_path / "in" / "T.t" / "n" / "p", GOOD)
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "metadata-pipeline.toml").write_bytes(b'[metadata_pipeline]\nformat = "leg\xffacy"\n')
    assert_one_line_error(run("merge", src, "-o", tmp_path / "o", cwd=repo), "metadata-pipeline.toml", "line 2",
                          "not UTF-8")
    (tmp_path / "filter.json").write_bytes(b'{"rules": [{"excludeClasses": "caf\xe9.**"}]}')
    assert_one_line_error(run("merge", src, "-o", tmp_path / "o", "--filter", tmp_path / "filter.json"),
                          "filter.json", "not UTF-8")
    assert not (tmp_path / "o").exists()


# --- item 12: agent .lock files are read, and seen whatever they are ---------------------------

def test_lock_of_a_running_agent_is_refused_even_with_allow_stale_locks(tmp_path: Path) -> None:
    d = write_dir(tmp_path / "in" / "T.t" / "n" / "p", GOOD)
    # A stand-in for a JVM running the agent (no GraalVM here): a live process whose command
    # line carries the agent option, as `java -agentlib:native-image-agent=...` does.
    agent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)",
                              f"-agentlib:native-image-agent=config-output-dir={d}"])
    try:
        (d / ".lock").write_text(str(agent.pid))
        result = run("merge", tmp_path / "in", "-o", tmp_path / "out", "--allow-stale-locks")
        assert_one_line_error(result, ".lock", f"process {agent.pid}", "still running")
    finally:
        agent.kill()
        agent.wait()
    # The same PID once the process is gone, or a live process that is no agent: stale.
    assert run("merge", tmp_path / "in", "-o", tmp_path / "out", "--allow-stale-locks").code == 0
    (d / ".lock").write_text(str(os.getpid()))
    assert run("merge", tmp_path / "in", "-o", tmp_path / "out", "--allow-stale-locks").code == 0
    assert_one_line_error(run("merge", tmp_path / "in", "-o", tmp_path / "out"), ".lock", "--allow-stale-locks")


def test_lock_that_is_a_directory_is_still_a_lock(tmp_path: Path) -> None:
    d = write_dir(tmp_path / "in" / "T.t" / "n" / "p", GOOD)
    (d / ".lock").mkdir()
    assert_one_line_error(run("merge", tmp_path / "in", "-o", tmp_path / "out"), ".lock", "--allow-stale-locks")
    result = run("validate", tmp_path / "in")
    assert result.code == 1 and ".lock: agent lock file left behind" in result.out


# --- item 12: "cannot write: None" ---------------------------------------------------------------

def test_a_write_failure_names_its_reason(tmp_path: Path, good_out: Path) -> None:
    notes = write_dir(good_out / "notes", {"private.txt": "x"})
    (notes / "private.txt").chmod(0)  # a file of the user's that merge must copy along but cannot read
    src = write_dir(tmp_path / "in" / "T.t" / "n" / "p", {"reflect-config.json": [{"name": "b.New"}]})
    before = snapshot(good_out)
    try:
        result = run("merge", src, "-o", good_out)
    finally:
        (notes / "private.txt").chmod(0o644)
    assert_one_line_error(result, "cannot write", "Permission denied")
    assert "None" not in result.err
    assert snapshot(good_out) == before and leftovers(tmp_path) == []
