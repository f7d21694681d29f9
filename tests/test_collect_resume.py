"""Resuming a collect output directory: which tests run again, the directory's own state, the
summary at the end (no Docker: what needs an engine is in test_collect_docker.py)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from metadata_pipeline.collect.layout import OutputBusy, OutputDir, test_dir_name
from metadata_pipeline.collect.manifest import Manifest, ProcessRecord
from metadata_pipeline.collect.plan import Discovery, PlannedTest, build_plan
from metadata_pipeline.collect.progress import PlainProgress
from metadata_pipeline.collect.resume import decide
from metadata_pipeline.collect.run import RunOptions, default_nodes, run_collect
from metadata_pipeline.collect.shard import Shard
from metadata_pipeline.collect.summary import merge_command, summarize
from metadata_pipeline.containers import DockerUnavailable
from metadata_pipeline.errors import InputError

REFLECT = '[{"name": "kafka.plugins.%s", "allDeclaredMethods": true}]'


# --- what runs ---------------------------------------------------------------------------------


@pytest.mark.parametrize("rerun_failed, force, run, skipped", [
    (False, False, ["new"], ["ok", "flaky", "bad", "ignored"]),
    (True, False, ["bad", "ignored", "new"], ["ok", "flaky"]),
    (False, True, ["ok", "flaky", "bad", "ignored", "new"], []),
    (True, True, ["ok", "flaky", "bad", "ignored", "new"], []),
])
def test_missing_tests_always_run_failed_ones_with_rerun_failed_all_with_force(rerun_failed, force, run, skipped):
    planned = ["ok", "flaky", "bad", "ignored", "new"]
    done = {"ok": "PASS", "flaky": "FLAKY", "bad": "FAIL", "ignored": "IGNORE", "other-shard": "PASS"}
    d = decide(planned, done, rerun_failed=rerun_failed, force=force)
    assert list(d.run) == [t for t in planned if t in run]  # plan order
    assert list(d.skipped) == skipped
    assert d.missing == ("new",) and d.not_planned == ("other-shard",)
    assert set(d.failed) == ({"bad", "ignored"} if (rerun_failed or force) else set())
    assert set(d.forced) == ({"ok", "flaky"} if force else set())


def test_describe_says_what_is_skipped_and_why():
    assert decide(["a", "b", "c"], {"a": "PASS", "b": "FAIL"}, rerun_failed=True).describe() == \
        "2 to run, 1 already collected (skipped), 1 failed before, run again"
    assert decide(["a"], {"a": "PASS"}).describe() == "0 to run, 1 already collected (skipped)"


# --- the output directory ------------------------------------------------------------------------


def manifest(test_id: str, status: str = "PASS", reflected: int = 1, stale: bool = False,
             run_id: str = "r1") -> Manifest:
    processes = (ProcessRecord("ducker02", "ducker02/kafka.Kafka-1-t", "kafka.Kafka",
                               "snapshot" if stale else "final", stale, ("reflect-config.json",)),) if reflected else ()
    summary = "AssertionError: no" if status == "FAIL" else "Test Passed"
    return Manifest(test_id=test_id, status=status, run_time_seconds=2.0, summary=summary, nodes=("ducker02",),
                    processes=processes, entries={"reflection": reflected} if reflected else {}, run_id=run_id,
                    collected_at="t")


def install(out: OutputDir, m: Manifest, plugin: str = "P") -> Path:
    staged = out.new_staging(m.test_id)
    if m.processes:
        proc = staged / m.processes[0].path
        proc.mkdir(parents=True)
        (proc / "reflect-config.json").write_text(REFLECT % plugin)
    (staged / "manifest.json").write_text(m.dumps())
    return out.install(staged, m.test_id)


def test_install_replaces_a_test_directory_whole(tmp_path):
    out = OutputDir(tmp_path / "collected")
    first = install(out, manifest("t.A.test_a", status="FAIL"), plugin="Old")
    assert first == out.root / "t.A.test_a" and out.manifests()["t.A.test_a"].status == "FAIL"
    install(out, manifest("t.A.test_a", run_id="r2"), plugin="New")
    assert out.manifests()["t.A.test_a"].run_id == "r2"
    assert "New" in (first / "ducker02" / "kafka.Kafka-1-t" / "reflect-config.json").read_text()
    with pytest.raises(ValueError, match="only complete outputs"):
        out.install(out.new_staging("x"), "x")
    out.clear_staging()
    assert not (out.state / "staging").exists()


def test_manifests_are_read_by_test_id_and_must_sit_in_their_own_directory(tmp_path):
    out = OutputDir(tmp_path)
    install(out, manifest("a/b.C.test"))
    assert list(out.manifests()) == ["a/b.C.test"] and (tmp_path / test_dir_name("a/b.C.test")).is_dir()
    (tmp_path / "moved").mkdir()
    (tmp_path / "moved" / "manifest.json").write_text(manifest("x.Y.test").dumps())
    with pytest.raises(InputError, match="does not belong in moved"):
        out.manifests()


def test_one_collect_at_a_time_per_output_directory(tmp_path):
    out = OutputDir(tmp_path / "collected")
    with out.locked():
        with pytest.raises(OutputBusy, match=rf"another collect \(pid {os.getpid()}\) is writing here"):
            with OutputDir(tmp_path / "collected").locked():
                pass
        code = "import sys; from pathlib import Path; from metadata_pipeline.collect.layout import OutputDir\n" \
               "with OutputDir(Path(sys.argv[1])).locked(): pass"
        other = subprocess.run([sys.executable, "-c", code, str(out.root)], capture_output=True, text=True)
        assert other.returncode != 0 and "OutputBusy" in other.stderr
    with out.locked():  # released on exit
        pass


def test_a_directory_collect_did_not_write_is_refused(tmp_path):
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "reflect-config.json").write_text("[]")
    with pytest.raises(InputError, match="is not a collect output; choose another -o"):
        with OutputDir(tmp_path / "configs").locked():
            pass
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="exists and is not a directory"):
        OutputDir(tmp_path / "file").check_usable()
    OutputDir(tmp_path / "new").check_usable()


def test_a_crashed_run_is_remembered_until_it_ends(tmp_path):
    out = OutputDir(tmp_path)
    assert out.crashed_run() is None
    out.begin_run("20261121T000000Z-abcdef")
    assert OutputDir(tmp_path).crashed_run() == "20261121T000000Z-abcdef"
    out.end_run()
    assert out.crashed_run() is None
    (out.state / "active-run").write_text("garbage")
    assert out.crashed_run() is None


# --- a run with nothing left to do, and one without an engine ------------------------------------


def tiny_plan(tmp_path: Path, shard: Shard | None = None):
    tests = tuple(PlannedTest(test_id=f"kafkatest.tests.t.T.test_{c}", file="tests/kafkatest/tests/t.py", cls="T",
                              method=f"test_{c}", injected_args=None, ignored=False, nodes=n)
                  for c, n in (("a", 1), ("b", 3), ("c", None)))
    discovery = Discovery(kafka_dir=str(tmp_path / "kafka"), symbols=("tests/kafkatest/tests",), exclude=(),
                          python=sys.executable, ducktape_version="0.17.0", tests=tests)
    return build_plan(discovery, shard=shard)


def test_default_nodes_fit_the_largest_test_to_run(tmp_path):
    plan = tiny_plan(tmp_path)
    assert default_nodes(plan) == 4
    assert default_nodes(plan, ["kafkatest.tests.t.T.test_a", "kafkatest.tests.t.T.test_c"]) == 2
    assert default_nodes(plan, []) == 2


def test_nothing_to_run_needs_no_engine_and_ends_with_the_summary(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    out = OutputDir(tmp_path / "collected")
    plan = tiny_plan(tmp_path)
    for test in plan.selected:
        install(out, manifest(test.test_id, status="FAIL" if test.method == "test_b" else "PASS"), plugin=test.method)
    stdout, stderr = io.StringIO(), io.StringIO()
    code = run_collect(plan, None, RunOptions(output=out.root, wrapper_entry=False), PlainProgress(stderr), stdout=stdout)
    assert code == 1  # a planned test failed
    assert stderr.getvalue() == "collect: 3 planned: 0 to run, 3 already collected (skipped)\n"
    text = stdout.getvalue()
    assert text.startswith("3 planned tests: 2 passed, 1 failed, 0 without output (nothing to run)\n")
    assert "  kafkatest.tests.t.T.test_b: AssertionError: no\n" in text
    assert f"metadata in {out.root}: 3 reflection types\n" in text
    assert text.endswith(
        f"next: metadata-pipeline merge {out.root} -o {tmp_path}/kafka/docker/native/native-image-configs\n")


def test_without_an_engine_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    with pytest.raises(DockerUnavailable, match=rf"^no Docker engine answers at unix://{tmp_path}/no-engine.sock: "):
        run_collect(tiny_plan(tmp_path), None, RunOptions(output=tmp_path / "collected"), PlainProgress(io.StringIO()))
    assert not (tmp_path / "collected").exists()


# --- the summary ---------------------------------------------------------------------------------


def test_summary_counts_tests_names_silent_and_missing_ones_and_gives_the_merge(tmp_path):
    out = OutputDir(tmp_path / "c")
    done = {"t.a": manifest("t.a"), "t.b": manifest("t.b", status="FAIL", reflected=0),
            "t.c": manifest("t.c", stale=True), "old.x": manifest("old.x")}
    for m in done.values():
        install(out, m, plugin=m.test_id.replace(".", "_"))
    s = summarize(out.root, ["t.a", "t.b", "t.c", "t.d"], out.manifests(), ["t.b", "t.c", "t.d"], kafka_dir="/k",
                  shard=Shard(2, 3))
    assert s.exit_code == 1
    assert s.text.splitlines() == [
        "4 planned tests: 2 passed, 1 failed, 1 without output (ran now: 2 of 3)",
        "2 tests contributed metadata; 1 contributed nothing:",
        "  t.b (FAIL)",
        "failed (their JVMs' output is kept and merged; --rerun-failed runs them again):",
        "  t.b: AssertionError: no",
        "without output (run the same command again to run them):",
        "  t.d",
        "1 JVM in 1 test left a stale .lock (killed), snapshot kept: their last periodic snapshot is merged "
        "(manifest: write=snapshot)",
        f"1 more test output in {out.root} from earlier runs (not in this plan) will be merged too",
        f"metadata in {out.root}: 3 reflection types",
        f"next: metadata-pipeline merge {out.root} -o /k/docker/native/native-image-configs",
        "this is shard 2/3; once all 3 are done, merge their outputs together: metadata-pipeline merge SHARD1_OUTPUT "
        "SHARD2_OUTPUT SHARD3_OUTPUT -o /k/docker/native/native-image-configs",
    ]
    ok = summarize(out.root, ["t.a"], out.manifests(), [], kafka_dir="/k")
    assert ok.exit_code == 0
    assert ok.text.startswith("1 planned test: 1 passed, 0 failed, 0 without output (nothing to run)")


def test_summary_tells_a_kept_snapshot_from_nothing_written(tmp_path):
    out = OutputDir(tmp_path / "c")
    kept = manifest("t.kept", stale=True)
    empty = Manifest(test_id="t.empty", status="PASS", run_time_seconds=1.0, summary="", nodes=("ducker02",),
                     processes=(ProcessRecord("ducker02", "ducker02/kafka.Kafka-2-u", "kafka.Kafka", "none", True),),
                     run_id="r1", collected_at="t")
    install(out, kept)
    staged = out.new_staging(empty.test_id)
    (staged / "manifest.json").write_text(empty.dumps())
    out.install(staged, empty.test_id)
    lines = summarize(out.root, ["t.kept", "t.empty"], out.manifests(), [], kafka_dir="/k").text.splitlines()
    assert "1 JVM in 1 test left a stale .lock (killed), snapshot kept: their last periodic snapshot is merged " \
           "(manifest: write=snapshot)" in lines
    assert "1 JVM in 1 test left a stale .lock (killed), nothing written: killed before the agent's first snapshot " \
           "(manifest: write=none; lower --write-initial-delay)" in lines


def test_merge_command_quotes_paths():
    assert merge_command([Path("my out")], "/src/kafka", skip_invalid=True) == \
        "metadata-pipeline merge 'my out' -o /src/kafka/docker/native/native-image-configs --skip-invalid"


def test_status_file_tracks_every_test(tmp_path):
    from metadata_pipeline.collect.summary import status_doc

    doc = status_doc({"t.b": manifest("t.b", stale=True), "t.a": manifest("t.a", status="FAIL", reflected=0)},
                     kafka_dir="/k", last_run="r9")
    assert json.loads(json.dumps(doc)) == {"kafka_dir": "/k", "last_run": "r9", "tests": {
        "t.a": {"status": "FAIL", "run_time_seconds": 2.0, "contributed": False, "stale_locks": 0, "run_id": "r1"},
        "t.b": {"status": "PASS", "run_time_seconds": 2.0, "contributed": True, "stale_locks": 1, "run_id": "r1"}}}
