"""``coverage``, ``why`` and ``collect --tests-from``: the computation, its outputs, bad input."""

from __future__ import annotations

import heapq
import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coverage_helpers import reflect, write_collected
from metadata_pipeline.cli import main
from metadata_pipeline.core.coverage import (
    ItemIndex, TestItems, analyse, harmonic, item_label, items_of, parse_query, report_json,
)
from metadata_pipeline.core.kinds import FileKind
from metadata_pipeline.core.model import Metadata, MethodRef, TypeEntry

MINIKAFKA = Path(__file__).parent / "fixtures" / "minikafka"
BROKER = "kafkatest.tests.core.broker_test"


def cover(spec: dict[str, tuple[float | None, set]], target: float = 100.0):
    """spec: test id -> (seconds, items as plain values)."""
    index = ItemIndex()
    tests = [TestItems(t, s, "PASS", index.ids(("resource_globs", (f"r{x}", None, None), None) for x in items))
             for t, (s, items) in spec.items()]
    return analyse(tests, index, target)


# --- the computation ------------------------------------------------------------------------------

def test_greedy_takes_the_cheapest_tests_per_item_and_proves_a_lower_bound():
    report = cover({"big": (10.0, set(range(10))), "left": (1.0, set(range(5))), "right": (1.5, set(range(5, 10)))})
    s = report.selection
    assert s.tests == ("left", "right") and s.seconds == 2.5 and s.full_seconds == 12.5
    assert (s.items_covered, s.items_total) == (10, 10)
    assert s.essential == ()  # every item has two sources
    assert s.factor == pytest.approx(harmonic(10)) and s.lower_bound_seconds == pytest.approx(2.5 / harmonic(10))
    assert [(p.test_id, p.items_covered) for p in report.curve] == [("left", 5), ("right", 10)]
    assert {t.test_id: (t.items, t.unique_items, t.rank) for t in report.tests} == {
        "big": (10, 0, None), "left": (5, 0, 1), "right": (5, 0, 2)}


def test_the_only_source_of_an_item_is_in_every_cover_and_bounds_it():
    report = cover({"a": (100.0, {1, 2}), "b": (1.0, {1}), "c": (1.0, {3}), "d": (5.0, {3})})
    s = report.selection
    assert s.essential == ("a",) and s.lower_bound_seconds == 100.0
    assert s.tests == ("a", "c") and s.seconds == 101.0  # not b: a, needed anyway, brings its item
    assert [t.unique_items for t in report.tests] == [1, 0, 0, 0]


def test_a_partial_target_is_the_shortest_prefix_of_the_greedy_order_reaching_it():
    spec = {"a": (1.0, set(range(6))), "b": (1.0, set(range(6, 9))), "c": (1.0, {9})}
    report = cover(spec, target=90)
    s = report.selection
    assert s.tests == ("a", "b") and s.items_covered == 9 and s.factor is None
    assert len(report.curve) == 3  # the curve goes on to 100%
    # With 1 item of slack, only a test that alone holds more than 1 item is essential.
    assert s.essential == ("a", "b") and s.lower_bound_seconds == 2.0


def test_tests_without_items_or_run_time():
    report = cover({"empty": (3.0, set()), "untimed": (None, {1}), "timed": (4.0, {2})})
    s = report.selection
    assert set(s.tests) == {"untimed", "timed"} and s.estimated == ("untimed",)
    assert s.seconds == 7.5 and s.full_seconds == 10.5  # the unknown run time counts as the mean of 3 and 4
    assert report_json(report)["tests"][2] == {"id": "untimed", "seconds": None, "items": 1, "unique_items": 1,
                                               "status": "PASS"}


def _eager_greedy(sets: list[frozenset], costs: list[float], names: list[str]) -> list[str]:
    """Textbook greedy, every gain recomputed each round; sole sources of an item first."""
    covered: set = set()
    order = []
    everything = frozenset().union(*sets)
    sole = [i for i, s in enumerate(sets) if s - frozenset().union(*(t for j, t in enumerate(sets) if j != i))]
    for phase in (sole, range(len(sets))):
        while len(covered) < len(everything) and any(sets[i] - covered for i in phase):
            best = min((costs[i] / len(sets[i] - covered), -len(sets[i] - covered), names[i], i) for i in phase
                       if sets[i] - covered)
            order.append(best[2])
            covered |= sets[best[3]]
    return order


@given(st.lists(st.tuples(st.integers(0, 20), st.frozensets(st.integers(0, 30), max_size=12)), min_size=1, max_size=12))
def test_the_lazy_greedy_picks_what_the_eager_one_picks(raw):
    spec = {f"t{i:02d}": (float(seconds), set(items)) for i, (seconds, items) in enumerate(raw)}
    report = cover(spec)
    sets = [frozenset(items) for _, items in spec.values()]
    assert [p.test_id for p in report.curve] == _eager_greedy(sets, [s for s, _ in spec.values()], list(spec))
    s = report.selection
    assert s.items_covered == s.items_total == len(frozenset().union(*sets))
    assert s.lower_bound_seconds <= s.seconds + 1e-9


def test_a_queried_method_another_test_invokes_is_no_item():
    m = MethodRef("get", ())
    queried = Metadata(reflection=(TypeEntry("a.B", queried_methods=frozenset({m})),))
    invoked = Metadata(reflection=(TypeEntry("a.B", methods=frozenset({m})),))
    index = ItemIndex()
    report = analyse([TestItems("q", 1.0, "PASS", index.ids(items_of(queried))),
                      TestItems("i", 5.0, "PASS", index.ids(items_of(invoked)))], index)
    assert report.selection.tests == ("i",) and report.selection.items_total == 2
    assert [(t.test_id, t.items) for t in report.tests] == [("i", 2), ("q", 1)]


def test_items_are_named_the_way_why_takes_them():
    entry = TypeEntry("byte[]", methods=frozenset({MethodRef("get", ("int", "byte[]"))}), flags=frozenset({"allDeclaredFields"}))
    labels = sorted(item_label(i) for i in items_of(Metadata(reflection=(entry,))))
    assert labels == ["reflection: byte[]", "reflection: byte[] +allDeclaredFields", "reflection: byte[]#get(int, byte[])"]
    items = list(items_of(Metadata(reflection=(entry,))))
    for text, expected in (("[B", "reflection: byte[]"), ("byte[]#get(int, [B)", "reflection: byte[]#get(int, byte[])"),
                           ("[B#allDeclaredFields", "reflection: byte[] +allDeclaredFields")):
        assert [item_label(i) for i in items if parse_query(text).exact(i)] == [expected]
    assert not any(parse_query("byte[]#get(int)").exact(i) for i in items)


# --- the command line ---------------------------------------------------------------------------------

@pytest.fixture
def cwd(tmp_path, monkeypatch):
    (tmp_path / ".git").mkdir()  # no metadata-pipeline.toml above this
    monkeypatch.chdir(tmp_path)
    return tmp_path


T1, T2, T3 = (f"{BROKER}.ProduceTest.test_restart.clean_shutdown=True", f"{BROKER}.StorageFormatTest.test_format",
              "kafkatest.tests.tools.topics_test.TopicCommandTest.test_create_topic")
COMMON = {"name": "kafka.Kafka", "methods": [{"name": "main", "parameterTypes": ["java.lang.String[]"]}]}
RESOURCE = {FileKind.RESOURCE: {"resources": {"includes": [{"pattern": "\\Qkafka/kafka-version.properties\\E"}]}}}


@pytest.fixture
def collected(cwd):
    return write_collected(cwd / "collected", {
        T1: ("PASS", 120.0, [reflect(COMMON, {"name": "[B"}), reflect(COMMON)]),
        T2: ("FAIL", 30.0, [{**reflect(COMMON, {"name": "org.junit.Assert"}), **RESOURCE}]),
        T3: ("PASS", 600.0, [reflect(COMMON, {"name": "[B"}, {"name": "a.Only", "allDeclaredFields": True})]),
    })


def cli(capsys, *argv):
    code = main([*map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(capsys, *argv) -> str:
    code, out, err = cli(capsys, *argv)
    assert code == 2 and "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def test_coverage_text_names_the_selection_the_bound_and_failed_tests(capsys, collected):
    code, out, _ = cli(capsys, "coverage", collected)
    assert code == 0
    assert "3 tests, 7 items after filters; 1 did not pass" in out
    assert "selection: 2 of 3 tests cover 7 of 7 items (100.0%, target 100%) in 10m30s of 12m30s" in out
    assert re.search(r"within a factor H\(k\) = [\d.]+ of the cheapest cover .*ln\(n\)\+1", out)
    assert ("no selection reaching 100% takes less than 10m30s: 2 test(s) are the only source of some item, so every "
            "selection has them (10m30s); greedy's time / H(k) = ") in out
    assert re.search(r"1  " + re.escape(T2) + r"\s+FAIL!", out)


def test_coverage_json_is_stable_and_has_the_documented_keys(capsys, collected, cwd):
    code, out, _ = cli(capsys, "coverage", collected, "--format", "json")
    assert code == 0
    assert cli(capsys, "coverage", collected, "--format", "json")[1] == out
    doc = json.loads(out)
    assert set(doc) == {"version", "inputs", "tests", "selection", "curve"}
    assert [t["id"] for t in doc["tests"]] == sorted([T1, T2, T3])
    assert doc["tests"][1] == {"id": T2, "seconds": 30.0, "items": 4, "unique_items": 2, "status": "FAIL"}
    sel = doc["selection"]
    assert {k: sel[k] for k in ("target", "tests", "items_covered", "items_total", "seconds", "full_seconds")} == {
        "target": 100.0, "tests": [T2, T3], "items_covered": 7, "items_total": 7, "seconds": 630.0,
        "full_seconds": 750.0}
    assert sel["essential_tests"] == [T2, T3] and sel["lower_bound_seconds"] == 630.0
    assert [p["test"] for p in doc["curve"]] == [T2, T3]
    assert doc["curve"][-1]["fraction"] == 1.0


def test_filters_apply_as_in_merge(capsys, collected, cwd):
    (cwd / "f.json").write_text('{"rules": [{"excludeClasses": "org.junit.**"}]}')
    (cwd / "metadata-pipeline.toml").write_text('[metadata_pipeline]\nfilters = ["f.json"]\n')
    doc = json.loads(cli(capsys, "coverage", collected, "--format", "json")[1])
    assert doc["selection"]["items_total"] == 6
    doc = json.loads(cli(capsys, "coverage", collected, "--format", "json", "--no-config")[1])
    assert doc["selection"]["items_total"] == 7


def test_markdown_and_html(capsys, collected, cwd):
    code, out, _ = cli(capsys, "coverage", collected, "--format", "markdown")
    assert code == 0 and out.startswith("### Metadata coverage\n") and f"| 1 | `{T2}` | FAIL |" in out
    code, _, err = cli(capsys, "coverage", collected, "--format", "html", "-o", cwd / "report.html")
    assert code == 0 and "wrote" in err
    page = (cwd / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") == 1 and "<path" in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page) and "<link" not in page  # self-contained
    assert "table.sortable" in page and page.count("<tr class=") == 3
    cli(capsys, "coverage", collected, "--format", "html", "-o", cwd / "again.html")
    assert (cwd / "again.html").read_text() == page  # deterministic


def test_select_writes_what_collect_tests_from_runs(capsys, collected, cwd):
    code, _, _ = cli(capsys, "coverage", collected, "--select", cwd / "selected.txt")
    assert code == 0
    text = (cwd / "selected.txt").read_text()
    assert [line for line in text.splitlines() if not line.startswith("#")] == [T2, T3]
    code, out, _ = cli(capsys, "collect", "--kafka-dir", MINIKAFKA, "--tests-from", cwd / "selected.txt", "--plan",
                       "--format", "json")
    assert code == 0
    plan = json.loads(out)
    assert [t["test_id"] for t in plan["tests"] if t["status"] == "run"] == sorted([T2, T3])
    assert plan["totals"]["discovered"] == 2
    # Only the files holding the listed tests are loaded, wherever they are in the checkout.
    assert plan["discovery"]["symbols"] == ["tests/kafkatest/tests/core/broker_test.py",
                                            "tests/kafkatest/tests/tools/topics_test.py"]
    sanity = "kafkatest.sanity_checks.agent_collect_test.AgentCollectTest.test_produce"
    (cwd / "sanity.txt").write_text(sanity + "\n")
    code, out, _ = cli(capsys, "collect", "--kafka-dir", MINIKAFKA, "--tests-from", cwd / "sanity.txt", "--plan",
                       "--format", "json")
    assert code == 0 and [t["test_id"] for t in json.loads(out)["tests"]] == [sanity]


def test_tests_from_refuses_unknown_and_ignored_tests(capsys, cwd):
    (cwd / "bad.txt").write_text(f"# comment\n{T1}\n\nkafkatest.no.such.Test.test_x  # typo\n")
    line = one_line_error(capsys, "collect", "--kafka-dir", MINIKAFKA, "--tests-from", cwd / "bad.txt", "--plan")
    assert "bad.txt: line 4: kafkatest.no.such.Test.test_x: no such test" in line
    (cwd / "ignored.txt").write_text(f"{BROKER}.ProduceTest.test_zk_migration\n")
    line = one_line_error(capsys, "collect", "--kafka-dir", MINIKAFKA, "--tests-from", cwd / "ignored.txt", "--plan")
    assert "line 1:" in line and "--include-ignored" in line
    assert cli(capsys, "collect", "--kafka-dir", MINIKAFKA, "--tests-from", cwd / "ignored.txt", "--plan",
               "--include-ignored")[0] == 0
    (cwd / "empty.txt").write_text("# nothing\n")
    assert "lists no test ids" in one_line_error(capsys, "collect", "--kafka-dir", MINIKAFKA, "--tests-from",
                                                 cwd / "empty.txt", "--plan")


def report_json_doc(results):
    return {"results": [{"test_id": t, "test_status": "PASS", "run_time_seconds": s, "results_dir": "x"}
                        for t, s in results]}


def test_timings_from_a_ducktape_report(capsys, collected, cwd):
    (cwd / "report.json").write_text(json.dumps(report_json_doc([(T1, 1.0), (T2, 2.0), (T3, 3.0), (T3, 5.0)])))
    doc = json.loads(cli(capsys, "coverage", collected, "--timings", cwd / "report.json", "--format", "json")[1])
    assert {t["id"]: t["seconds"] for t in doc["tests"]} == {T1: 1.0, T2: 2.0, T3: 4.0}
    (cwd / "other.json").write_text(json.dumps(report_json_doc([(T1, 1.0)])))
    line = one_line_error(capsys, "coverage", collected, "--timings", cwd / "other.json", "-o", cwd / "out.txt")
    assert f"other.json: no run time for test {T2} (and 1 more of the 3 collected tests)" in line
    assert not (cwd / "out.txt").exists()
    (cwd / "junk.json").write_text('{"results": 3}')
    assert "not a ducktape report.json" in one_line_error(capsys, "coverage", collected, "--timings", cwd / "junk.json")


def test_bad_input_is_one_line_and_exit_2(capsys, cwd, collected):
    plain = cwd / "plain"
    (plain / "some-test" / "ducker02").mkdir(parents=True)
    (plain / "some-test" / "ducker02" / "reflect-config.json").write_text("[]")
    assert "metadata without a manifest.json" in one_line_error(capsys, "coverage", plain)
    (cwd / "empty").mkdir()
    assert "no manifest.json in any test directory" in one_line_error(capsys, "coverage", cwd / "empty")
    assert "no such directory" in one_line_error(capsys, "why", "a.B", cwd / "missing")
    assert "is also in" in one_line_error(capsys, "coverage", collected, collected)
    broken = next(collected.glob("*/ducker02/*/reflect-config.json"))
    broken.write_text('[{"name": "a.B",')
    line = one_line_error(capsys, "coverage", collected, "--select", cwd / "sel.txt")
    assert "reflect-config.json" in line and "truncated" in line and not (cwd / "sel.txt").exists()
    code, _, err = cli(capsys, "coverage", collected, "--skip-invalid")
    assert code == 0 and "warning: skipped:" in err
    assert "expected Type#member" in one_line_error(capsys, "why", "a.B#", collected)
    assert "malformed array type descriptor" in one_line_error(capsys, "why", "[Q#x", collected)
    with pytest.raises(SystemExit) as exit_:
        main(["coverage", str(collected), "--target", "0"])
    assert exit_.value.code == 2 and "--target: 0: a percentage above 0 and at most 100" in capsys.readouterr().err
    (next(collected.glob("*/manifest.json"))).write_text("{}")
    assert "not a collect manifest" in one_line_error(capsys, "coverage", collected)


def test_why_names_tests_nodes_and_processes(capsys, collected):
    code, out, _ = cli(capsys, "why", "[B", collected)
    assert code == 0
    assert out.splitlines()[0] == "reflection: byte[]"
    assert f"  {T1}  (PASS, 2m00s)\n    ducker02  kafka.Kafka-100-tok0  (kafka.Kafka)\n" in out
    assert f"  {T3}  (PASS, 10m00s)\n" in out and T2 not in out
    assert out.endswith("1 item(s), produced by 2 of 3 tests\n")
    assert cli(capsys, "why", "byte[]", collected)[1] == out
    code, out, _ = cli(capsys, "why", "kafka.Kafka#main([Ljava.lang.String;)", collected)
    assert code == 0 and "reflection: kafka.Kafka#main(java.lang.String[])" in out and "3 of 3 tests" in out
    code, out, _ = cli(capsys, "why", "a.Only#allDeclaredFields", collected)
    assert code == 0 and "reflection: a.Only +allDeclaredFields" in out and "1 of 3 tests" in out
    for spelling in ("kafka/kafka-version.properties", "\\Qkafka/kafka-version.properties\\E"):
        code, out, _ = cli(capsys, "why", spelling, collected)
        assert code == 0 and out.startswith("resource: kafka/kafka-version.properties\n") and T2 in out
    line = one_line_error(capsys, "why", "kafka.Kafka#main(int)", collected)
    assert line.endswith("kafka.Kafka#main(int): no test produced this item (after filters; a type, "
                         "Type#member(params) or a resource)")
    assert "no test produced" in one_line_error(capsys, "why", "no.such.Type", collected)
