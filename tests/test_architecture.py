"""The pure core stays pure: nothing under core/ imports I/O, Docker, the CLI or the edges."""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parent.parent / "metadata_pipeline" / "core"
# orjson is pure computation (a faster json); everything else here is the standard library.
ALLOWED_STDLIB = {"orjson", "__future__", "collections", "dataclasses", "enum", "functools", "itertools", "json", "re",
                  "typing", "difflib", "fnmatch", "math", "string", "operator", "hashlib", "heapq"}


def test_core_imports_only_core_and_pure_stdlib() -> None:
    offenders = []
    for path in sorted(CORE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            for name in names:
                if name.startswith("metadata_pipeline."):
                    if not name.startswith("metadata_pipeline.core"):
                        offenders.append(f"{path.name}: {name}")
                elif name.split(".")[0] not in ALLOWED_STDLIB:
                    offenders.append(f"{path.name}: {name}")
    assert offenders == []
