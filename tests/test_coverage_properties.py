"""Exact on the items: at target 100%, merging only the selected tests gives what merging all gives,
by the tool's own semantic diff; and the items of a merge are the union of its inputs' items."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from coverage_helpers import write_collected
from metadata_pipeline.cli import main
from metadata_pipeline.collect.layout import test_dir_name
from metadata_pipeline.files.configdir import load
from metadata_pipeline.core.coverage import ItemIndex, TestItems, analyse, dominating, items_of
from metadata_pipeline.core.diff import diff
from metadata_pipeline.core.merge import merge
from strategies import config_dir_documents, metadata_of
from test_fastload import agent_layout

# A collection: tests, each with one to three processes of agent-shaped output.
collections = st.lists(
    st.tuples(st.integers(0, 50), st.lists(config_dir_documents(), min_size=1, max_size=3)), min_size=1, max_size=6)


@given(collections, st.sampled_from([100.0, 100.0, 90.0, 50.0]))
def test_merging_only_the_selected_tests_gives_the_merge_of_all(raw, target):
    per_test = [[metadata_of(docs) for docs in processes] for _, processes in raw]
    index = ItemIndex()
    tests = [TestItems(f"t{i}", float(seconds), "PASS", frozenset().union(*(index.ids(items_of(m)) for m in procs)))
             for i, ((seconds, _), procs) in enumerate(zip(raw, per_test))]
    report = analyse(tests, index, target)
    everything = merge(*(m for procs in per_test for m in procs))
    universe = set(items_of(everything))
    # The universe is the merge's items: what every test wrote, less what the merge drops.
    raw_items = {index.items[i] for t in tests for i in t.items}
    assert universe == {x for x in raw_items if dominating(x) not in raw_items}
    assert report.selection.items_total == len(universe)
    chosen = {int(t[1:]) for t in report.selection.tests}
    selected = merge(*(m for i in sorted(chosen) for m in per_test[i]))
    if target == 100.0:
        assert not diff(everything, selected), diff(everything, selected)
    else:
        covered = set(items_of(selected)) & universe
        assert len(covered) >= target / 100 * len(universe) - 1e-9
    assert report.selection.lower_bound_seconds <= report.selection.seconds + 1e-9


@settings(max_examples=25)
@given(collections, st.booleans())
def test_on_disk_coverage_select_then_merge_of_the_selected_dirs_is_the_merge_of_all(tmp_path_factory, raw, agent):
    """Reflect/jni files in the agent's own layout (read entry by entry) or as plain JSON."""
    tmp = tmp_path_factory.mktemp("cov")
    ids = [f"kafkatest.tests.t{i}.T.test" for i in range(len(raw))]
    # Empty documents make no files: every process writes at least something.
    write_collected(tmp / "collected", {
        test_id: ("PASS", float(seconds), [docs or {} for docs in processes])
        for test_id, (seconds, processes) in zip(ids, raw)}, layout=agent_layout if agent else None)
    if not list((tmp / "collected").rglob("*-config.json")) and not list((tmp / "collected").rglob("reach*.json")):
        return
    assert main(["coverage", str(tmp / "collected"), "--select", str(tmp / "sel.txt"), "--format", "json",
                 "-o", str(tmp / "cov.json"), "--no-config"]) == 0
    selected = [line for line in (tmp / "sel.txt").read_text().splitlines() if line and not line.startswith("#")]
    everything = load([tmp / "collected"]).metadata
    dirs = [tmp / "collected" / test_dir_name(t) for t in selected]
    chosen = load(dirs).metadata if dirs else merge()
    assert not diff(everything, chosen)
    doc = json.loads((tmp / "cov.json").read_text())
    assert doc["selection"]["items_covered"] == doc["selection"]["items_total"] == len(set(items_of(everything)))


def test_the_example_collection_when_it_has_manifests(capsys):
    """examples/collected gains manifests elsewhere; until then coverage says it is no collect output."""
    example = Path(__file__).resolve().parent.parent / "examples" / "collected"
    code = main(["coverage", str(example), "--format", "json", "--no-config"])
    out, err = capsys.readouterr()
    if not list(example.glob("*/manifest.json")):
        assert code == 2 and "manifest.json" in err
        return
    assert code == 0
    doc = json.loads(out)
    assert doc["selection"]["items_covered"] == doc["selection"]["items_total"] > 0
