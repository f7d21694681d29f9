"""What ``merge`` tells its user: counts in plain English, the filter files and where they came
from, where the provenance went; and the provenance file itself (mode, both type spellings)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from cli_helpers import run_cli, write_dir


def _one_of_each(tmp_path: Path) -> Path:
    root = tmp_path / "collected"
    write_dir(root / "Test.test_one" / "ducker02" / "kafka.Kafka-1-a", {
        "reflect-config.json": [{"name": "[B"}],
        "jni-config.json": [{"name": "com.github.luben.zstd.ZstdInputStreamNoFinalizer"}],
        "proxy-config.json": [{"interfaces": ["java.lang.Runnable"]}],
    })
    return root


def test_counts_of_one_are_singular(tmp_path: Path) -> None:
    collected = _one_of_each(tmp_path)
    result = run_cli("merge", collected, "-o", tmp_path / "out", "--no-config")
    assert result.code == 0, result.err
    assert result.out == f"merged 1 config dir into {tmp_path / 'out'}: 1 reflection type, 1 JNI type, 1 proxy\n"


def test_the_filter_files_applied_are_named_with_where_they_came_from(tmp_path: Path) -> None:
    collected = _one_of_each(tmp_path)
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    write_dir(repo / "filters", {"kafka.json": {"rules": [{"excludeClasses": "com.github.luben.**"}]}})
    (repo / "metadata-pipeline.toml").write_text('[metadata_pipeline]\nfilters = ["filters/kafka.json"]\n')
    extra = write_dir(tmp_path / "more", {"extra.json": {"rules": []}}) / "extra.json"

    result = run_cli("merge", collected, "-o", tmp_path / "out", "--filter", extra, cwd=repo)
    assert result.code == 0, result.err
    assert result.err.splitlines()[:3] == [
        f"filter file {repo / 'filters' / 'kafka.json'} (from {repo / 'metadata-pipeline.toml'})",
        f"filter file {extra} (from --filter)",
        "filters removed 1 entry (1 jni)"]
    assert "1 reflection type, 1 proxy\n" in result.out

    ignored = run_cli("merge", collected, "-o", tmp_path / "out", "--no-config", cwd=repo)
    assert ignored.err.splitlines()[0] == "no filter files (--no-config: metadata-pipeline.toml ignored)"
    elsewhere = run_cli("merge", collected, "-o", tmp_path / "out", cwd=tmp_path / "more")
    assert elsewhere.err.splitlines()[0] == "no filter files (no --filter, no metadata-pipeline.toml found)"


def test_provenance_is_announced_readable_like_the_configs_and_spells_arrays_both_ways(tmp_path: Path) -> None:
    collected = _one_of_each(tmp_path)
    out, prov = tmp_path / "out", tmp_path / "provenance.json"
    result = run_cli("merge", collected, "-o", out, "--provenance", prov, "--no-config")
    assert result.code == 0, result.err
    assert result.out.splitlines()[-1] == f"provenance of 3 entries written to {prov}"
    mode = stat.S_IMODE(prov.stat().st_mode)
    assert mode == stat.S_IMODE((out / "reflect-config.json").stat().st_mode) == 0o666 & ~_umask()
    doc = json.loads(prov.read_text())
    array = next(e for e in doc["entries"] if e["category"] == "reflection")
    assert array == {"category": "reflection", "entry": "byte[]", "legacy_name": "[B",
                     "sources": ["Test.test_one/ducker02/kafka.Kafka-1-a"]}
    assert json.loads((out / "reflect-config.json").read_text()) == [{"name": "[B"}]
    assert all("legacy_name" not in e for e in doc["entries"] if e is not array)  # only where spellings differ


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
