"""Semantic checks on one schema-valid file: what a JSON schema cannot say.

Errors, what GraalVM would reject or silently misread:

- a method listed both as invoked (``methods``) and queried (``queriedMethods``),
- a condition on an array type (arrays are never "reached"; the condition can never hold),
- a type name with stray whitespace (native-image looks up the name verbatim and never finds it),
- ``typeReached`` in a legacy file (GraalVM's legacy parsers reject it),
- a legacy reflect/jni/serialization entry without ``name`` (``{"type": {"proxy": ...}}``: the
  legacy parsers require ``name``),
- ``allowUnsafeAccess`` on a field (ignored by GraalVM's parsers),
- a glob GraalVM rejects or reads differently (``org/**.xml`` is ``org/*.xml`` to it).

Notes, what is only redundant: the same entry twice (same type and condition; GraalVM merges
them, but a hand edit that duplicates an entry usually meant to change it), a lambda-capturing
name GraalVM cuts at ``$$Lambda``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

from metadata_pipeline.core.kinds import FileKind
from metadata_pipeline.core.names import is_array
from metadata_pipeline.core.resources import glob_problems

__all__ = ["Finding", "semantic_findings"]


@dataclass(frozen=True, slots=True)
class Finding:
    entry: str  # JSON pointer
    problem: str
    note: bool = False  # only redundant: reported, exit code unchanged unless --strict


def semantic_findings(kind: FileKind, data: Any) -> list[Finding]:
    return [*_findings(kind, data), *_graalvm_findings(kind, data)]


def _type_entries(kind: FileKind, data: Any) -> Iterator[tuple[str, dict]]:
    if kind in (FileKind.REFLECT, FileKind.JNI):
        yield from ((f"/{i}", e) for i, e in enumerate(data))
    elif kind is FileKind.UNIFIED:
        for section in ("reflection", "jni", "serialization"):
            yield from ((f"/{section}/{i}", e) for i, e in enumerate(data.get(section, [])))
    elif kind is FileKind.SERIALIZATION:
        types = data if isinstance(data, list) else data.get("types", [])
        prefix = "" if isinstance(data, list) else "/types"
        yield from ((f"{prefix}/{i}", e) for i, e in enumerate(types))


def _name_of(entry: dict) -> Any:
    return entry.get("name", entry.get("type"))


def _key(value: Any) -> Any:
    """A hashable form of a JSON value, for spotting duplicates."""
    if isinstance(value, dict):
        return tuple(sorted((k, _key(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_key(v) for v in value)
    return value


def _identity(kind: FileKind, path: str, entry: dict) -> Any:
    section = path.rsplit("/", 1)[0]
    return (section, _key(_name_of(entry)), _key(entry.get("condition")), entry.get("customTargetConstructorClass"))


def _findings(kind: FileKind, data: Any) -> Iterator[Finding]:
    seen: dict[Any, str] = {}
    for path, entry in _type_entries(kind, data):
        name = _name_of(entry)
        identity = _identity(kind, path, entry)
        if identity in seen:
            yield Finding(path, f"duplicate entry for {name!r} (same type and condition as {seen[identity]}; "
                                "GraalVM merges them)", note=True)
        else:
            seen[identity] = path
        if isinstance(name, str) and name != name.strip():
            yield Finding(path, f"type name {name!r} has leading or trailing whitespace")
        if kind.is_legacy and "name" not in entry:
            yield Finding(path, "legacy entry without 'name': GraalVM's legacy parsers require it "
                                "(a proxy belongs in proxy-config.json or serialization 'proxies')")
        for j, f in enumerate(entry.get("fields", [])):
            if isinstance(f, dict) and "allowUnsafeAccess" in f:
                yield Finding(f"{path}/fields/{j}", "allowUnsafeAccess is ignored by GraalVM's parsers")
        condition = entry.get("condition") or {}
        for reached in condition.values():
            if isinstance(reached, str) and is_array(reached):
                yield Finding(path + "/condition", f"condition on array type {reached!r} can never be reached")
        invoked = {_key(m) for m in entry.get("methods", [])}
        for j, m in enumerate(entry.get("queriedMethods", [])):
            if _key(m) in invoked:
                yield Finding(f"{path}/queriedMethods/{j}",
                              f"method {m.get('name')!r} is listed both as invoked and as queried")


def _conditions(data: Any, path: str = "") -> Iterator[tuple[str, dict]]:
    """Every ``condition`` object anywhere in a document."""
    if isinstance(data, dict):
        for key, value in data.items():
            if key == "condition" and isinstance(value, dict):
                yield f"{path}/condition", value
            else:
                yield from _conditions(value, f"{path}/{key}")
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _conditions(value, f"{path}/{i}")


def _globs(kind: FileKind, data: Any) -> Iterator[tuple[str, Any]]:
    if kind is FileKind.UNIFIED:
        section, entries = "/resources", data.get("resources", [])
    elif kind is FileKind.RESOURCE:
        section, entries = "/globs", data.get("globs", [])
    else:
        return
    for i, entry in enumerate(entries):
        if isinstance(entry, dict) and "glob" in entry:
            yield f"{section}/{i}/glob", entry["glob"]


def _graalvm_findings(kind: FileKind, data: Any) -> Iterator[Finding]:
    if kind.is_legacy:
        for path, condition in _conditions(data):
            if "typeReached" in condition:
                yield Finding(path, "'typeReached' in a legacy file: GraalVM's legacy parsers reject it "
                                    "(write 'typeReachable', the same condition to GraalVM's generate)")
    for path, glob in _globs(kind, data):
        for problem in glob_problems(glob) if isinstance(glob, str) else ():
            yield Finding(path, f"glob {glob!r}: {problem}")
    if kind is FileKind.SERIALIZATION and isinstance(data, dict):
        for i, entry in enumerate(data.get("lambdaCapturingTypes", [])):
            name = entry.get("name") if isinstance(entry, dict) else None
            if isinstance(name, str) and "$$Lambda" in name:
                yield Finding(f"/lambdaCapturingTypes/{i}/name",
                              f"{name!r} names a lambda class: GraalVM reads it as {name.split('$$Lambda')[0]!r}", note=True)
