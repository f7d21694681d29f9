"""Semantic checks on one schema-valid file: what a JSON schema cannot say.

- the same entry twice (same identity; native-image merges them, but a hand edit that
  duplicates an entry usually meant to change it),
- a method listed both as invoked (``methods``) and queried (``queriedMethods``),
- a condition on an array type (arrays are never "reached"; the condition can never hold),
- a type name with stray whitespace (native-image looks up the name verbatim and never finds it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

from metadata_pipeline.core.kinds import FileKind
from metadata_pipeline.core.names import is_array

__all__ = ["Finding", "semantic_findings"]


@dataclass(frozen=True, slots=True)
class Finding:
    entry: str  # JSON pointer
    problem: str


def semantic_findings(kind: FileKind, data: Any) -> list[Finding]:
    return list(_findings(kind, data))


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
            yield Finding(path, f"duplicate entry for {name!r} (same type and condition as {seen[identity]})")
        else:
            seen[identity] = path
        if isinstance(name, str) and name != name.strip():
            yield Finding(path, f"type name {name!r} has leading or trailing whitespace")
        condition = entry.get("condition") or {}
        for reached in condition.values():
            if isinstance(reached, str) and is_array(reached):
                yield Finding(path + "/condition", f"condition on array type {reached!r} can never be reached")
        invoked = {_key(m) for m in entry.get("methods", [])}
        for j, m in enumerate(entry.get("queriedMethods", [])):
            if _key(m) in invoked:
                yield Finding(f"{path}/queriedMethods/{j}",
                              f"method {m.get('name')!r} is listed both as invoked and as queried")
