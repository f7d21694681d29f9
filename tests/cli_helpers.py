"""Running the command line as a user does: ``python -m metadata_pipeline`` in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Result:
    code: int
    out: str
    err: str


def run_cli(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> Result:
    """Run the CLI; by default outside the repository, so its metadata-pipeline.toml does not apply."""
    proc = subprocess.run(
        [sys.executable, "-m", "metadata_pipeline", *map(str, args)],
        capture_output=True, text=True, cwd=cwd or tempfile.gettempdir(), env={**os.environ, **(env or {})},
        timeout=600,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def write_dir(path: Path, files: dict[str, object]) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (path / name).write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def assert_one_line_error(result: Result, *needles: str) -> None:
    assert result.code == 2, result
    assert "Traceback" not in result.err, result.err
    lines = [line for line in result.err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.err
    for needle in needles:
        assert needle in lines[0], lines[0]
