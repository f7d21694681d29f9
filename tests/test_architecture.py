"""The pure core stays pure: nothing under core/ imports I/O, Docker, the CLI or the edges."""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parent.parent / "metadata_pipeline" / "core"
# orjson and msgspec are pure computation (faster json); everything else here is the standard library.
ALLOWED_STDLIB = {"orjson", "msgspec", "__future__", "collections", "dataclasses", "enum", "functools", "itertools", "json", "re",
                  "typing", "types", "difflib", "fnmatch", "math", "string", "operator", "hashlib", "heapq"}


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


# The rooms of the edge, and what each may import besides itself: core <- files <- commands,
# with the Docker layer, collect, the classpath index and the native build as rooms of their own.
# errors and kraft are leaves at the package root: kraft's cluster ids serve the two rooms that
# start brokers of their own.
LAYERS = {
    "files": {"core", "errors"},
    "classpath": {"core", "errors"},
    "containers": {"errors"},
    "collect": {"core", "errors", "files", "containers", "kraft"},
    "nativebuild": {"core", "errors", "files", "containers", "classpath", "kraft"},
    "commands": {"core", "errors", "files", "containers", "collect", "classpath", "nativebuild"},
}


def test_each_room_imports_only_the_layers_below_it() -> None:
    package = CORE.parent
    offenders = []
    for room, allowed in LAYERS.items():
        for path in sorted((package / room).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                modules = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                          [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
                for module in modules:
                    parts = module.split(".")
                    if parts[0] == "metadata_pipeline" and len(parts) > 1 and parts[1] not in allowed | {room}:
                        offenders.append(f"{path.relative_to(package)}: {module}")
    assert offenders == []


def test_the_package_root_holds_only_the_entry_points() -> None:
    loose = sorted(p.name for p in CORE.parent.glob("*.py"))
    assert loose == ["__init__.py", "__main__.py", "cli.py", "errors.py", "kraft.py"]
