"""examples/collected is what ``collect`` writes, and native-image-configs/ is its merge.

The example is small and written by hand (agent-shaped output, not captured from a real Kafka
run), but its layout, manifests and collect.json must be exactly what collect's own code makes
of such a run, so that every command that reads a collect output (merge, coverage, resume)
can be tried on it.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from cli_helpers import run_cli
from conftest import ROOT
from metadata_pipeline.collect.layout import DUCKTAPE_FILES, SUMMARY_FILE, OutputDir, test_dir_name
from metadata_pipeline.collect.manifest import MANIFEST_NAME, Manifest
from metadata_pipeline.collect.results import ProcessNamer, assemble, parse_result
from metadata_pipeline.collect.summary import status_doc

EXAMPLE = ROOT / "examples" / "collected"
AGENT_ROOT = "/mnt/native-image-agent"  # collect's defaults (agent_options.DEFAULT_OUTPUT_DIR)
TEMPLATE = AGENT_ROOT + "/{main_class}/{hostname}-{pid}-{token}"


@pytest.fixture(scope="module")
def manifests() -> dict[str, Manifest]:
    return OutputDir(EXAMPLE).manifests()  # the project's own reader (also checks name <-> test id)


def test_every_test_directory_has_a_manifest(manifests) -> None:
    test_dirs = sorted(p.name for p in EXAMPLE.iterdir() if p.is_dir() and not p.name.startswith("."))
    assert len(test_dirs) == 2
    assert sorted(test_dir_name(t) for t in manifests) == test_dirs
    assert all((EXAMPLE / d / MANIFEST_NAME).is_file() for d in test_dirs)


def test_each_manifest_is_what_collect_assembles_from_that_tests_results(manifests, tmp_path: Path) -> None:
    """Rebuild ducktape's results tree of each test from the example and assemble it again."""
    namer = ProcessNamer(TEMPLATE, AGENT_ROOT)
    assert len(manifests) == 2
    for test_id, manifest in manifests.items():
        kept = EXAMPLE / test_dir_name(test_id)
        report = json.loads((kept / DUCKTAPE_FILES / "report.json").read_text())
        outcome = parse_result(report, "report.json")
        fetched = tmp_path / test_dir_name(test_id) / "fetched"
        shutil.copytree(kept / DUCKTAPE_FILES, fetched)
        for process in manifest.processes:
            service = next(s for s, nodes in outcome.services if process.node in nodes)
            main_class, pid, token = process.path.split("/")[1].rsplit("-", 2)
            shutil.copytree(kept / process.path, fetched / service / process.node / "native-image-agent" /
                            main_class / f"{process.node}-{pid}-{token}")
        dest = fetched.parent / "test"
        dest.mkdir()
        again = assemble(fetched, dest, outcome, namer, "native-image-agent", run_id=manifest.run_id)
        assert replace(again, collected_at=manifest.collected_at) == manifest
        assert (kept / MANIFEST_NAME).read_text() == replace(again, collected_at=manifest.collected_at).dumps()
        assert sorted(p.relative_to(dest) for p in dest.rglob("*") if p.name != MANIFEST_NAME) == \
               sorted(p.relative_to(kept) for p in kept.rglob("*") if p.name != MANIFEST_NAME)


def test_collect_json_is_the_status_of_those_manifests(manifests) -> None:
    doc = json.loads((EXAMPLE / SUMMARY_FILE).read_text())
    assert doc == status_doc(manifests, kafka_dir=doc["kafka_dir"], last_run=doc["last_run"])


def test_native_image_configs_is_the_merge_of_the_example() -> None:
    # As README's first command runs it: from the repository, with its metadata-pipeline.toml.
    result = run_cli("merge", EXAMPLE, "-o", ROOT / "native-image-configs", "--check", "--strict", cwd=ROOT)
    assert result.code == 0, result
