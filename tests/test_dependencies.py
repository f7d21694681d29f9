"""The installed tool's dependencies are what it uses; each pinned exactly."""

from __future__ import annotations

import ast
import re
import tomllib
from importlib.metadata import packages_distributions

from conftest import ROOT

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _normalised(name: str) -> str:
    """PEP 503: jsonschema-rs is installed as jsonschema_rs."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _name(requirement: str) -> str:
    return _normalised(requirement.split("==")[0].strip())


def _imported_distributions() -> set[str]:
    """Distributions whose modules the package imports (anywhere: many imports are deferred)."""
    modules: set[str] = set()
    for path in (ROOT / "metadata_pipeline").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules.add(node.module.split(".")[0])
    by_module = packages_distributions()
    return {_normalised(dist) for module in modules for dist in by_module.get(module, ())}


def test_every_runtime_dependency_is_used_by_the_tool() -> None:
    declared = {_name(r) for r in PROJECT["dependencies"]}
    assert declared - _imported_distributions() == set(), "declared but never imported by metadata_pipeline"


def test_the_benchmark_baseline_dependency_is_an_extra() -> None:
    assert "deepmerge==4.0.0" in PROJECT["optional-dependencies"]["bench"]
    assert "deepmerge" not in {_name(r) for r in PROJECT["dependencies"]}


def test_every_dependency_is_pinned_exactly() -> None:
    for requirement in [*PROJECT["dependencies"], *(r for extra in PROJECT["optional-dependencies"].values()
                                                    for r in extra)]:
        assert requirement.count("==") == 1, requirement
