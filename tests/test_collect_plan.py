"""The test plan: discovery with ducktape's loader, ignored tests, sharding, plan output."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metadata_pipeline.cli import main
from metadata_pipeline.collect.discovery import DiscoveryFailed, NotAKafkaCheckout, discover
from metadata_pipeline.collect.plan import IGNORED, OTHER_SHARD, RUN, build_plan, plan_json
from metadata_pipeline.collect.shard import InvalidShard, InvalidTimings, Shard, partition, weights_from_report
from metadata_pipeline.errors import UsageError

MINIKAFKA = Path(__file__).parent / "fixtures" / "minikafka"
BROKER = "kafkatest.tests.core.broker_test"
EXPECTED_IDS = {
    f"{BROKER}.ProduceTest.test_produce.metadata_quorum={q}.compression={c}"
    for q in ("combined_kraft", "isolated_kraft") for c in ("none", "zstd")
} | {
    f"{BROKER}.ProduceTest.test_restart.clean_shutdown=True",
    f"{BROKER}.ProduceTest.test_restart.clean_shutdown=False",
    f"{BROKER}.ProduceTest.test_zk_migration",
    f"{BROKER}.StorageFormatTest.test_format",
    f"{BROKER}.StorageFormatTest.test_format_twice.metadata_quorum=combined_kraft",
    f"{BROKER}.StorageFormatTest.test_format_twice.metadata_quorum=isolated_kraft",
    "kafkatest.tests.tools.topics_test.TopicCommandTest.test_create_topic",
}
EXPECTED_IGNORED = {
    f"{BROKER}.ProduceTest.test_zk_migration",
    f"{BROKER}.StorageFormatTest.test_format_twice.metadata_quorum=isolated_kraft",
}


@pytest.fixture(scope="module")
def minikafka():
    return discover(MINIKAFKA)


@pytest.fixture
def kafka_copy(tmp_path):
    dest = tmp_path / "kafka"
    shutil.copytree(MINIKAFKA, dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def run_cli(capsys, *argv):
    code = main(["collect", *argv])
    out, err = capsys.readouterr()
    return code, out, err


# --- discovery ---------------------------------------------------------------------------


def test_discovery_finds_every_test_id_with_ignored_ones_marked(minikafka):
    assert {t.test_id for t in minikafka.tests} == EXPECTED_IDS
    assert {t.test_id for t in minikafka.tests if t.ignored} == EXPECTED_IGNORED
    assert [t.test_id for t in minikafka.tests] == sorted(t.test_id for t in minikafka.tests)
    assert minikafka.ducktape_version and minikafka.python == sys.executable


def test_discovery_reports_file_class_method_args_and_nodes(minikafka):
    by_id = {t.test_id: t for t in minikafka.tests}
    produce = by_id[f"{BROKER}.ProduceTest.test_produce.metadata_quorum=isolated_kraft.compression=zstd"]
    assert (produce.file, produce.cls, produce.method) == (
        "tests/kafkatest/tests/core/broker_test.py", "ProduceTest", "test_produce")
    assert produce.args == {"metadata_quorum": "isolated_kraft", "compression": "zstd"}
    assert produce.nodes == 2
    assert by_id[f"{BROKER}.ProduceTest.test_zk_migration"].args is None
    assert by_id[f"{BROKER}.ProduceTest.test_zk_migration"].nodes == 3


def test_discovery_agrees_with_ducktape_collect_only(tmp_path, minikafka):
    """ducktape's own --collect-only over the same checkout is the oracle for the counts."""
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    out = subprocess.run([sys.executable, "-m", "ducktape", "--collect-only", str(MINIKAFKA / "tests/kafkatest/tests")],
                         cwd=tmp_path, env=env, capture_output=True, text=True, check=True).stdout
    listed = [line for line in out.splitlines() if line.strip().startswith("<module=")]
    assert len(listed) == len(minikafka.tests)
    assert sum("ignore=True" in line for line in listed) == sum(t.ignored for t in minikafka.tests)


def test_discovery_writes_nothing_into_the_checkout(kafka_copy):
    before = sorted(p.relative_to(kafka_copy) for p in kafka_copy.rglob("*"))
    discover(kafka_copy)
    assert sorted(p.relative_to(kafka_copy) for p in kafka_copy.rglob("*")) == before


@pytest.mark.parametrize("symbols, exclude, expected", [
    (["tests/kafkatest/tests/core/broker_test.py::StorageFormatTest"], [], 3),
    (["tests/kafkatest/tests/core/broker_test.py::ProduceTest.test_restart"], [], 2),
    (["tests/kafkatest/tests/tools"], [], 1),
    (["tests/kafkatest/tests/core/*.py"], [], 10),
    (["tests/kafkatest/tests"], ["tests/kafkatest/tests/core/broker_test.py::ProduceTest"], 4),
    (["tests/kafkatest/tests/core", "tests/kafkatest/tests/tools/topics_test.py"],
     ["tests/kafkatest/tests/core/broker_test.py::ProduceTest.test_produce"], 7),
])
def test_ducktape_symbols_select_tests(symbols, exclude, expected):
    found = discover(MINIKAFKA, symbols, exclude)
    assert len(found.tests) == expected
    assert found.symbols == tuple(symbols) and found.exclude == tuple(exclude)


def test_not_a_kafka_checkout(tmp_path, capsys):
    with pytest.raises(NotAKafkaCheckout, match="not a Kafka checkout"):
        discover(tmp_path)
    code, out, err = run_cli(capsys, "--kafka-dir", str(tmp_path / "missing"), "--plan")
    assert code == 2 and err == f"error: {tmp_path / 'missing'}: no such directory\n" and out == ""


@pytest.mark.parametrize("source, error", [
    ("import no_such_module_for_discovery\n", "ModuleNotFoundError: No module named 'no_such_module_for_discovery'"),
    ("def broken(:\n", "SyntaxError: "),
])
def test_a_test_file_that_fails_to_import_is_an_error_naming_file_and_module(kafka_copy, capsys, source, error):
    (kafka_copy / "tests/kafkatest/tests/core/broken_test.py").write_text(source)
    code, out, err = run_cli(capsys, "--kafka-dir", str(kafka_copy), "--plan")
    assert code == 2 and out == ""
    assert err.startswith("error: tests/kafkatest/tests/core/broken_test.py: cannot import "
                          "kafkatest.tests.core.broken_test: ")
    assert error in err and "Traceback" not in err and err.count("\n") == 1


def test_a_broken_kafkatest_package_is_an_error(kafka_copy):
    (kafka_copy / "tests/kafkatest/__init__.py").write_text("import no_such_dependency_of_kafkatest\n")
    with pytest.raises(DiscoveryFailed, match=r"tests/kafkatest/__init__.py: cannot import kafkatest: "
                                              r"ModuleNotFoundError: No module named 'no_such_dependency"):
        discover(kafka_copy)


def test_a_python_without_ducktape_is_an_error(tmp_path):
    bare = tmp_path / "python-without-site-packages"
    bare.write_text(f"#!/bin/sh\nexec {sys.executable} -S \"$@\"\n")
    bare.chmod(0o755)
    with pytest.raises(DiscoveryFailed, match=r"cannot import ducktape .*pass its interpreter with --python"):
        discover(MINIKAFKA, python=str(bare))
    with pytest.raises(DiscoveryFailed, match="no such Python interpreter"):
        discover(MINIKAFKA, python=str(tmp_path / "nope"))


@pytest.mark.parametrize("symbol, problem", [
    ("../outside.py", "is outside the Kafka checkout"),
    ("/etc/passwd", "is outside the Kafka checkout"),
    ("tests/kafkatest/tests/nope_test.py", "does not exist"),
    ("::ProduceTest", "no path before '::'"),
])
def test_bad_symbols_are_usage_errors(symbol, problem):
    with pytest.raises(UsageError, match=problem):
        discover(MINIKAFKA, [symbol])


def test_a_symbol_matching_nothing_is_an_error():
    with pytest.raises(DiscoveryFailed, match="ducktape: No tests to run"):
        discover(MINIKAFKA, ["tests/kafkatest/tests/core/broker_test.py::NoSuchClass"])


# --- the plan and its output -------------------------------------------------------------


def test_plan_excludes_ignored_tests_unless_asked(minikafka):
    plan = build_plan(minikafka)
    assert {e.test.test_id for e in plan.entries if e.status == IGNORED} == EXPECTED_IGNORED
    assert {t.test_id for t in plan.selected} == EXPECTED_IDS - EXPECTED_IGNORED
    assert plan.totals() == {"discovered": 11, "ignored": 2, "runnable": 9, "selected": 9, "estimated_seconds": None}
    everything = build_plan(minikafka, include_ignored=True)
    assert {t.test_id for t in everything.selected} == EXPECTED_IDS
    assert everything.totals()["runnable"] == 11


def test_plan_json_is_stable_and_documented(capsys):
    code, out, _ = run_cli(capsys, "--kafka-dir", str(MINIKAFKA), "--plan", "--report-format", "json")
    assert code == 0
    again = run_cli(capsys, "--kafka-dir", str(MINIKAFKA), "--plan", "--report-format", "json")[1]
    assert out == again
    doc = json.loads(out)
    assert set(doc) == {"plan_version", "kafka_dir", "discovery", "selection", "totals", "tests", "checkout",
                        "node_image", "unhostable"}
    assert doc["checkout"]["built"] is False  # the fixture as committed has no jars
    assert doc["plan_version"] == 1 and doc["kafka_dir"] == str(MINIKAFKA.resolve())
    assert doc["selection"] == {"include_ignored": False, "shard": None, "balanced_by": "count", "timings": None}
    assert doc["discovery"]["symbols"] == ["tests/kafkatest/tests"]
    assert [t["test_id"] for t in doc["tests"]] == sorted(EXPECTED_IDS)
    zk = next(t for t in doc["tests"] if t["test_id"].endswith("test_zk_migration"))
    assert zk == {"test_id": f"{BROKER}.ProduceTest.test_zk_migration", "file": "tests/kafkatest/tests/core/broker_test.py",
                  "class": "ProduceTest", "method": "test_zk_migration", "injected_args": None, "ignored": True,
                  "nodes": 3, "status": "ignored", "estimated_seconds": None}


def test_plan_text_lists_every_test_and_the_totals(capsys):
    code, out, _ = run_cli(capsys, "--kafka-dir", str(MINIKAFKA), "--plan", "--shard", "1/2")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["STATUS", "NODES", "EST", "TEST", "ID"]
    rows = {line.split()[-1]: line.split()[0] for line in lines[1:12]}
    assert set(rows) == EXPECTED_IDS
    assert sorted(rows.values()).count("ignored") == 2 and "other-shard" in rows.values()
    assert "11 discovered, 2 marked @ignore (not run; --include-ignored runs them), 9 runnable" in lines
    assert "5 to run in shard 1/2 (balanced by count)" in lines


def test_shards_of_the_plan_are_disjoint_and_cover_it(minikafka):
    for count in (1, 2, 3, 4, 9, 12):
        shards = [build_plan(minikafka, shard=Shard(i, count)) for i in range(1, count + 1)]
        selected = [{t.test_id for t in p.selected} for p in shards]
        assert set().union(*selected) == EXPECTED_IDS - EXPECTED_IGNORED
        assert sum(map(len, selected)) == 9
        assert max(map(len, selected)) - min(map(len, selected)) <= 1
        for plan in shards:  # every shard's plan still lists every test
            assert {e.status for e in plan.entries} <= {RUN, IGNORED, OTHER_SHARD} and len(plan.entries) == 11


def test_timings_balance_shards_by_run_time(tmp_path, capsys, minikafka):
    slow = f"{BROKER}.ProduceTest.test_restart.clean_shutdown=False"
    report = {"results": [{"test_id": t.test_id, "run_time_seconds": 600.0 if t.test_id == slow else 60.0,
                           "test_status": "PASS"} for t in minikafka.tests if not t.ignored]}
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report))
    code, out, _ = run_cli(capsys, "--kafka-dir", str(MINIKAFKA), "--plan", "--report-format", "json",
                           "--shard", "1/2", "--timings", str(path))
    assert code == 0
    doc = json.loads(out)
    assert doc["selection"] == {"include_ignored": False, "shard": "1/2", "balanced_by": "run_time",
                                "timings": str(path)}
    mine = [t for t in doc["tests"] if t["status"] == "run"]
    # The 600 s test alone fills shard 1; the eight 60 s tests (480 s) go to shard 2.
    assert [t["test_id"] for t in mine] == [slow]
    assert doc["totals"]["estimated_seconds"] == 600.0


def test_bad_timings_and_shards_exit_2(tmp_path, capsys):
    bad = tmp_path / "report.json"
    bad.write_text('{"results": [{"test_id": "x"}]}')
    code, _, err = run_cli(capsys, "--kafka-dir", str(MINIKAFKA), "--plan", "--shard", "1/2", "--timings", str(bad))
    assert code == 2 and "results[0]: needs a string test_id and a number run_time_seconds" in err
    code, _, err = run_cli(capsys, "--kafka-dir", str(MINIKAFKA), "--plan", "--timings", str(tmp_path / "none.json"))
    assert code == 2 and "none.json: No such file or directory" in err
    with pytest.raises(SystemExit) as exc:
        main(["collect", "--kafka-dir", str(MINIKAFKA), "--plan", "--shard", "0/3"])
    assert exc.value.code == 2 and "shard 0/3: need 1 <= I <= N" in capsys.readouterr().err


# --- shard.py, pure ----------------------------------------------------------------------


@pytest.mark.parametrize("text, shard", [("1/4", Shard(1, 4)), (" 4 / 4 ", Shard(4, 4)), ("1/1", Shard(1, 1))])
def test_shard_parse(text, shard):
    assert Shard.parse(text) == shard and str(shard) == f"{shard.index}/{shard.count}"


@pytest.mark.parametrize("text", ["0/4", "5/4", "1/0", "a/b", "1", "-1/2", "1/2/3", ""])
def test_shard_parse_rejects(text):
    with pytest.raises(InvalidShard):
        Shard.parse(text)


weights_st = st.dictionaries(st.text(min_size=1, max_size=12),
                             st.floats(min_value=0, max_value=1e5, allow_nan=False), max_size=60)


@settings(max_examples=300, deadline=None)
@given(weights=weights_st, count=st.integers(1, 9), seed=st.randoms(use_true_random=False))
def test_partition_is_disjoint_complete_balanced_and_order_independent(weights, count, seed):
    shards = partition(weights, count)
    assert len(shards) == count
    flat = [t for shard in shards for t in shard]
    assert len(flat) == len(set(flat)) and set(flat) == set(weights)
    loads = [sum(weights[t] for t in shard) for shard in shards]
    heaviest = max(weights.values(), default=0.0)
    assert max(loads) - min(loads) <= heaviest + 1e-6 * max(1.0, max(loads))
    items = list(weights.items())
    seed.shuffle(items)
    assert partition(dict(items), count) == shards


@settings(max_examples=100, deadline=None)
@given(ids=st.sets(st.text(min_size=1, max_size=8), max_size=50), count=st.integers(1, 7))
def test_partition_by_count_differs_by_at_most_one(ids, count):
    sizes = [len(s) for s in partition({t: 1.0 for t in ids}, count)]
    assert max(sizes) - min(sizes) <= 1


def test_partition_rejects_bad_weights():
    with pytest.raises(ValueError, match="not a finite number"):
        partition({"a": -1.0}, 2)
    with pytest.raises(ValueError, match="not a finite number"):
        partition({"a": float("nan")}, 2)
    with pytest.raises(InvalidShard):
        partition({"a": 1.0}, 0)


def test_weights_from_report():
    report = {"results": [
        {"test_id": "a", "run_time_seconds": 10, "test_status": "PASS"},
        {"test_id": "a", "run_time_seconds": 30, "test_status": "FAIL"},  # --repeat: mean
        {"test_id": "b", "run_time_seconds": 50.0, "test_status": "PASS"},
        {"test_id": "c", "run_time_seconds": 0.001, "test_status": "IGNORE"},  # not run: unknown
    ]}
    assert weights_from_report(report, ["a", "b", "c", "d"]) == {"a": 20.0, "b": 50.0, "c": 35.0, "d": 35.0}
    assert weights_from_report({"results": []}, ["x", "y"]) == {"x": 1.0, "y": 1.0}


@pytest.mark.parametrize("report, problem", [
    ([], "no 'results' list"),
    ({"results": {}}, "no 'results' list"),
    ({"results": [1]}, r"results\[0\]: not an object"),
    ({"results": [{"test_id": "a", "run_time_seconds": True}]}, "needs a string test_id"),
    ({"results": [{"test_id": "a", "run_time_seconds": -3}]}, "is not >= 0"),
])
def test_weights_from_report_rejects(report, problem):
    with pytest.raises(InvalidTimings, match=problem):
        weights_from_report(report, ["a"])


# --- Kafka's real tests, when a checkout is at hand --------------------------------------


@pytest.mark.kafka_checkout
def test_real_kafka_checkout_agrees_with_ducktape_collect_only(tmp_path):
    kafka = Path(os.environ["METADATA_PIPELINE_KAFKA_DIR"])
    found = discover(kafka)
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    out = subprocess.run([sys.executable, "-m", "ducktape", "--collect-only", str(kafka / "tests/kafkatest/tests")],
                         cwd=tmp_path, env=env, capture_output=True, text=True, check=True).stdout
    listed = [line for line in out.splitlines() if line.strip().startswith("<module=")]
    assert len(found.tests) == len(listed) > 0
    assert sum(t.ignored for t in found.tests) == sum("ignore=True" in line for line in listed)
    plan = plan_json(build_plan(found, shard=Shard(1, 4)))
    assert plan["totals"]["runnable"] == len(listed) - plan["totals"]["ignored"]


# --- what the node image can host ----------------------------------------------------------------

def test_tests_the_image_cannot_host_are_named_counted_and_left_out():
    from metadata_pipeline.collect import hosting
    from metadata_pipeline.collect.plan import PlannedTest

    def test(file, args=None):
        return PlannedTest(test_id=f"{file}:{args}", file=f"tests/kafkatest/tests/{file}", cls="C", method="m",
                           injected_args=args, ignored=False, nodes=1)

    upgrade = test("core/upgrade_test.py", {"from_kafka_version": "3.8.0", "to_message_format_version": None})
    dev = test("core/upgrade_test.py", {"from_kafka_version": "dev"})
    both = test("core/compat_test.py", {"broker_version": "3.7.1", "client_versions": ["3.6.2", "dev"]})
    kibosh = test("tools/kibosh_test.py")
    degrade = test("core/network_degrade_test.py", {"device_name": "eth0"})
    plain = test("core/produce_test.py", {"metadata_quorum": "COMBINED_KRAFT"})
    tests = [upgrade, dev, both, kibosh, degrade, plain]
    hosted, excluded = hosting.split(tests, hosting.DEFAULT_IMAGE_FACTS)
    assert hosted == [dev, plain]
    assert excluded == {upgrade.test_id: "needs /opt/kafka-3.8.0", both.test_id: "needs /opt/kafka-3.6.2 (+1 more)",
                        kibosh.test_id: "needs kibosh (/opt/kibosh)", degrade.test_id: "needs ping/iperf"}
    line = hosting.summary_line(excluded, hosting.DEFAULT_IMAGE_FACTS)
    assert line.startswith("excluded 4 test(s) the node image docker/graalvm-jit cannot host (2 need an old release "
                           "under /opt/kafka-<version>; 1 needs kibosh; 1 needs ping/iperf)")
    # Kafka's own node image, as a probe of it reads.
    kafkas = hosting.parse_probe("ducker-ak", "version 3.6.2\nversion 3.7.1\nversion 3.8.0\nversion dev\nkibosh\n"
                                              "command ping\ncommand iperf\ncommand tc\ncommand iptables\n")
    assert hosting.split(tests, kafkas) == (tests, {})
    assert kafkas.kibosh and "3 old release" not in kafkas.describe()


def test_the_plan_lists_what_the_default_image_cannot_host(capsys):
    code, out, _ = run_cli(capsys, "--kafka-dir", str(MINIKAFKA), "--plan")
    assert code == 0
    assert "node image: docker/graalvm-jit (its recipe): no old releases under /opt, no kibosh" in out
