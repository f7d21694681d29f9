"""Signals at every step of a commit, sent to a real ``python -m metadata_pipeline merge``.

The promise (issue 15, item 1): at every instant the output path holds the complete old or the
complete new result; exit 130 means nothing was replaced, exit 0 that all of it was; no
traceback; whatever a killed run leaves behind, the next run removes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cli_helpers import run_cli, write_dir

HARNESS = Path(__file__).with_name("fault_harness.py")


def snapshot(path: Path) -> dict[str, bytes] | None:
    if not path.is_dir():
        return None
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def run_harness(*args: str | Path, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(HARNESS), *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, **env}, timeout=120)


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if ".new-" in p.name or ".old-" in p.name)


@pytest.fixture
def scene(tmp_path: Path):
    """An old output (with a README of the user's) and its provenance; inputs for a new one."""
    old_in = write_dir(tmp_path / "old-in" / "T.test" / "n1" / "p",
                       {"reflect-config.json": [{"name": "old.Kept"}], "proxy-config.json": [{"interfaces": ["a.I"]}]})
    new_in = write_dir(tmp_path / "new-in" / "T.test" / "n1" / "p",
                       {"reflect-config.json": [{"name": "new.One", "allDeclaredFields": True}, {"name": "[B"}],
                        "resource-config.json": {"resources": {"includes": [{"pattern": "\\Qa/b.txt\\E"}]}}})
    work = tmp_path / "work"
    work.mkdir()
    out, prov = work / "configs", work / "provenance.json"
    assert run_cli("merge", old_in, "-o", out, "--provenance", prov).code == 0
    (out / "README.md").write_text("kept across merges\n")
    old = (snapshot(out), prov.read_bytes())
    # What the new merge writes, taken from an undisturbed run on a copy.
    ref = tmp_path / "ref"
    ref.mkdir()
    write_dir(ref / "configs", {}).joinpath("README.md").write_text("kept across merges\n")
    for f in out.iterdir():
        (ref / "configs" / f.name).write_bytes(f.read_bytes())
    assert run_cli("merge", new_in.parents[2], "-o", ref / "configs", "--provenance", ref / "provenance.json").code == 0
    new = (snapshot(ref / "configs"), (ref / "provenance.json").read_bytes())
    assert new != old
    args = ("merge", new_in.parents[2], "-o", out, "--provenance", prov)

    def state():
        return snapshot(out), prov.read_bytes() if prov.is_file() else None

    def reset():
        import shutil
        shutil.rmtree(work)
        work.mkdir()
        out.mkdir()
        for name, data in old[0].items():
            (out / name).write_bytes(data)
        prov.write_bytes(old[1])

    return {"args": args, "work": work, "old": old, "new": new, "state": state, "reset": reset}


def _steps(scene, **env: str) -> list[str]:
    count_file = scene["work"].parent / "steps.txt"
    done = run_harness(*scene["args"], cwd=scene["work"], FAULT_AT="0", FAULT_COUNT_FILE=str(count_file), **env)
    assert done.returncode == 0, done.stderr
    assert scene["state"]() == scene["new"]
    steps = count_file.read_text().splitlines()
    scene["reset"]()
    return steps


@pytest.mark.parametrize("fallback", [False, True], ids=["exchange", "two-renames"])
def test_sigkill_at_every_step_leaves_old_or_new_and_the_next_run_cleans_up(scene, fallback: bool) -> None:
    env = {"METADATA_PIPELINE_NO_RENAME_EXCHANGE": "1"} if fallback else {}
    steps = _steps(scene, **env)
    assert len(steps) >= 10, steps
    assert any("_exchange" in s for s in steps)
    # Where no exchange exists (the fallback), only the renames can open a window: kill around those.
    points = [at for at, s in enumerate(steps, 1) if not fallback or any(w in s for w in ("rename", "replace", "rmtree"))]
    outcomes = set()
    for at in points:
        where = f"after SIGKILL at {steps[at - 1]!r}"
        killed = run_harness(*scene["args"], cwd=scene["work"], FAULT_AT=str(at), FAULT_SIGNAL="KILL", **env)
        assert killed.returncode == -signal.SIGKILL, (where, killed.stderr)
        out_state, prov_state = scene["state"]()
        if fallback and out_state is None:
            # Killed between the two renames: the complete old copy waits beside it...
            hidden = [p for p in scene["work"].iterdir() if p.name.startswith(".configs.old-")]
            assert [snapshot(p) for p in hidden] == [scene["old"][0]], where
            from metadata_pipeline.files.fsio import _recover

            _recover(scene["work"], "configs")  # ...and the next run puts it back first
            out_state = snapshot(scene["work"] / "configs")
            assert out_state == scene["old"][0], where
        # The output path: never partial (and with the exchange never absent).
        assert out_state in (scene["old"][0], scene["new"][0]), f"{where}: {out_state}"
        assert prov_state in (scene["old"][1], scene["new"][1]), where
        outcomes.add(out_state == scene["new"][0])
        again = run_harness(*scene["args"], cwd=scene["work"], **env)
        assert again.returncode == 0, again.stderr
        assert scene["state"]() == scene["new"]
        assert leftovers(scene["work"]) == [], where
        scene["reset"]()
    assert outcomes == {False, True}  # the kills did land on both sides of the commit


@pytest.mark.parametrize("sig", ["INT", "TERM"])
def test_ctrl_c_and_sigterm_at_every_step_exit_130_with_old_or_exit_0_with_new(scene, sig: str) -> None:
    steps = _steps(scene)
    codes = set()
    # Ctrl-C at every step; SIGTERM, which takes the same path, at the staging's mkdirs and around
    # the commit's renames.
    points = [at for at, s in enumerate(steps, 1)
              if sig == "INT" or any(w in s for w in ("mkdir", "rename", "replace", "_exchange", "rmtree"))]
    for at in points:
        done = run_harness(*scene["args"], cwd=scene["work"], FAULT_AT=str(at), FAULT_SIGNAL=sig)
        where = f"SIG{sig} at {steps[at - 1]!r}"
        assert "Traceback" not in done.stderr, (where, done.stderr)
        assert done.returncode in (0, 130), (where, done.returncode, done.stderr)
        # Exit 130: nothing replaced; exit 0: all of it; nothing left behind either way.
        expected = scene["new"] if done.returncode == 0 else scene["old"]
        assert scene["state"]() == expected, where
        assert leftovers(scene["work"]) == [], where
        if done.returncode == 130:
            assert done.stderr.strip().splitlines()[-1].startswith("interrupted"), done.stderr
        codes.add(done.returncode)
        scene["reset"]()
    assert codes == {0, 130}


@pytest.mark.parametrize("sig, line", [("INT", "interrupted"), ("TERM", "interrupted (SIGTERM)")])
def test_ctrl_c_or_sigterm_during_start_up_is_one_line_not_a_traceback(tmp_path: Path, sig: str, line: str) -> None:
    done = run_harness("merge", tmp_path, "-o", tmp_path / "out", cwd=tmp_path, FAULT_ON="startup", FAULT_SIGNAL=sig)
    assert done.returncode == 130, done.stderr
    assert done.stderr.strip() == line
    assert not (tmp_path / "out").exists()


def test_ctrl_c_just_after_the_merge_finished_changes_nothing(scene) -> None:
    done = run_harness(*scene["args"], cwd=scene["work"], FAULT_ON="exit")
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 0, done.stderr
    assert scene["state"]() == scene["new"]


def test_real_ctrl_c_while_a_large_output_is_being_written(tmp_path: Path) -> None:
    """No hook: SIGINT from outside as soon as the staging directory shows up."""
    entries = [{"name": f"org.example.pkg{i % 97}.Class{i}", "allDeclaredMethods": True,
                "fields": [{"name": f"f{j}"} for j in range(8)]} for i in range(40_000)]
    src = write_dir(tmp_path / "in" / "t", {"reflect-config.json": entries})
    out = write_dir(tmp_path / "out", {"reflect-config.json": [{"name": "old.One"}]})
    before = snapshot(out)
    proc = subprocess.Popen([sys.executable, "-m", "metadata_pipeline", "merge", str(src.parent), "-o", str(out)],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not any(p.name.startswith(".out.new-") for p in tmp_path.iterdir()):
        assert proc.poll() is None and time.monotonic() < deadline, "the merge ended before it staged its output"
        time.sleep(0.001)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert "Traceback" not in err, err
    assert proc.returncode in (0, 130), err
    assert snapshot(out) == before if proc.returncode == 130 else "old.One" not in (out / "reflect-config.json").read_text()
    assert leftovers(tmp_path) == []
