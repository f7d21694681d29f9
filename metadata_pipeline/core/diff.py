"""Semantic difference between two metadata values, in the terms a reviewer uses.

The diff compares model values, so formatting, order, duplicates, descriptor vs. source
spelling and ``\\Q..\\E`` vs. glob are never differences. Beyond plain additions and
removals it recognises, where the evidence is clear:

- a type that *moved*: removed here, added there, same simple name, same members, flags and
  condition (``kafka.tools.ConsoleProducer$LineMessageReader`` ->
  ``org.apache.kafka.tools.LineMessageReader``);
- a type whose *condition changed*: the one type removed under one condition and added
  under another;
- a resource *renamed* by a version bump: the same name once version numbers are set aside
  (``libzstd-jni-1.5.6-5.so`` -> ``libzstd-jni-1.5.6-6.so``).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from metadata_pipeline.core.labels import condition_label, entry_label
from metadata_pipeline.core.merge import identity_of
from metadata_pipeline.core.model import (
    CATEGORIES, Bundle, Field, Metadata, MethodRef, TypeEntry, type_label,
)
from metadata_pipeline.core.names import simple_name

__all__ = ["Change", "MetadataDiff", "diff", "method_label", "ACTIONS"]

ACTIONS = ("added", "removed", "moved", "renamed", "changed")


@dataclass(frozen=True, slots=True)
class Change:
    category: str                  # a ``Metadata`` field name: "reflection", "resource_globs", ...
    action: str                    # one of ACTIONS
    entry: str                     # the entry as a person names it (the old one, for moves)
    to: str | None = None          # the new name, for moved / renamed / condition changes
    details: tuple[str, ...] = ()  # member-level changes: "+ method get()", "- allDeclaredFields"


@dataclass(frozen=True, slots=True)
class MetadataDiff:
    changes: tuple[Change, ...]

    def __bool__(self) -> bool:
        return bool(self.changes)

    def counts(self) -> dict[str, dict[str, int]]:
        """category -> action -> number of changes, in display order."""
        out: dict[str, dict[str, int]] = {}
        for c in self.changes:
            out.setdefault(c.category, {}).setdefault(c.action, 0)
            out[c.category][c.action] += 1
        return out


def method_label(m: MethodRef) -> str:
    params = "*" if m.parameter_types is None else ", ".join(m.parameter_types)
    return f"{m.name}({params})"


def diff(old: Metadata, new: Metadata) -> MetadataDiff:
    changes: list[Change] = []
    for category in CATEGORIES:
        if category in ("reflection", "jni"):
            changes += _type_changes(category, getattr(old, category), getattr(new, category))
        elif category == "bundles":
            changes += _bundle_changes(old.bundles, new.bundles)
        else:
            changes += _set_changes(category, getattr(old, category), getattr(new, category))
    order = {a: i for i, a in enumerate(ACTIONS)}
    cat_order = {c: i for i, c in enumerate(CATEGORIES)}
    changes.sort(key=lambda c: (cat_order[c.category], order[c.action], c.entry, c.to or ""))
    return MetadataDiff(tuple(changes))


# -- types ----------------------------------------------------------------------------------

def _member_details(old: TypeEntry, new: TypeEntry) -> tuple[str, ...]:
    details: list[str] = []
    details += [f"+ {f}" for f in sorted(new.flags - old.flags)]
    details += [f"- {f}" for f in sorted(old.flags - new.flags)]
    details += [f"+ method {method_label(m)}" for m in sorted(new.methods - old.methods, key=method_label)]
    details += [f"- method {method_label(m)}" for m in sorted(old.methods - new.methods, key=method_label)]
    details += [f"+ queried method {method_label(m)}" for m in sorted(new.queried_methods - old.queried_methods, key=method_label)]
    details += [f"- queried method {method_label(m)}" for m in sorted(old.queried_methods - new.queried_methods, key=method_label)]
    old_fields = {f.name: f for f in old.fields}
    new_fields = {f.name: f for f in new.fields}
    for name in sorted(new_fields.keys() - old_fields.keys()):
        details.append(f"+ field {name}{_field_access(new_fields[name])}")
    for name in sorted(old_fields.keys() - new_fields.keys()):
        details.append(f"- field {name}")
    for name in sorted(old_fields.keys() & new_fields.keys()):
        a, b = old_fields[name], new_fields[name]
        for attr, label in (("allow_write", "allowWrite"), ("allow_unsafe_access", "allowUnsafeAccess")):
            if getattr(a, attr) != getattr(b, attr):
                details.append(f"{'+' if getattr(b, attr) else '-'} {label} on field {name}")
    return tuple(details)


def _field_access(f: Field) -> str:
    flags = [n for n, on in (("allowWrite", f.allow_write), ("allowUnsafeAccess", f.allow_unsafe_access)) if on]
    return f" ({', '.join(flags)})" if flags else ""


def _members(e: TypeEntry) -> tuple:
    return (e.flags, e.methods, e.queried_methods, e.fields)


def _type_changes(category: str, old: Iterable[TypeEntry], new: Iterable[TypeEntry]) -> list[Change]:
    old_by_id = {e.identity: e for e in old}
    new_by_id = {e.identity: e for e in new}
    changes = []
    for identity in old_by_id.keys() & new_by_id.keys():
        details = _member_details(old_by_id[identity], new_by_id[identity])
        if details:
            changes.append(Change(category, "changed", entry_label(category, identity), details=details))
    removed = [old_by_id[i] for i in old_by_id.keys() - new_by_id.keys()]
    added = [new_by_id[i] for i in new_by_id.keys() - old_by_id.keys()]

    # The same type under another condition: one line, with what else changed.
    removed, added, paired = _pair(removed, added, key=lambda e: e.type)
    for a, b in paired:
        changes.append(Change(category, "changed", entry_label(category, a.identity),
                              to=type_label(b.type) + (condition_label(b.condition) or " [unconditional]"),
                              details=_member_details(a, b)))
    # A class that moved: same simple name, members and condition, another package.
    removed, added, paired = _pair(
        [e for e in removed if isinstance(e.type, str)], [e for e in added if isinstance(e.type, str)],
        key=lambda e: (simple_name(e.type).rpartition("$")[2], e.type.count("[]"), e.condition, _members(e)),
        rest=([e for e in removed if not isinstance(e.type, str)], [e for e in added if not isinstance(e.type, str)]),
    )
    for a, b in paired:
        changes.append(Change(category, "moved", entry_label(category, a.identity), to=entry_label(category, b.identity)))
    changes += [Change(category, "removed", entry_label(category, e.identity)) for e in removed]
    changes += [Change(category, "added", entry_label(category, e.identity), details=_summary(e)) for e in added]
    return changes


def _summary(e: TypeEntry) -> tuple[str, ...]:
    """What an added type brings, so a reviewer sees more than its name."""
    empty = TypeEntry(e.type, e.condition)
    return _member_details(empty, e)


def _pair(removed: list, added: list, key: Callable[[Any], Any], rest: tuple[list, list] = ([], [])):
    """Pair removed with added entries whose ``key`` matches one to one; the rest stay as they are."""
    by_old: dict[Any, list] = defaultdict(list)
    by_new: dict[Any, list] = defaultdict(list)
    for e in removed:
        by_old[key(e)].append(e)
    for e in added:
        by_new[key(e)].append(e)
    paired = []
    left_old, left_new = list(rest[0]), list(rest[1])
    for k in by_old.keys() | by_new.keys():
        olds, news = by_old.get(k, []), by_new.get(k, [])
        if len(olds) == 1 and len(news) == 1:
            paired.append((olds[0], news[0]))
        else:
            left_old += olds
            left_new += news
    return left_old, left_new, paired


# -- resources, bundles and the rest ---------------------------------------------------------

_VERSION = re.compile(r"\d+(?:[._-]\d+)*")


def _identity(category: str, value: Any) -> tuple:
    return identity_of(value) if category != "predefined_classes" else (value.hash,)


def _set_changes(category: str, old: Iterable[Any], new: Iterable[Any]) -> list[Change]:
    old_ids = {_identity(category, v): v for v in old}
    new_ids = {_identity(category, v): v for v in new}
    removed = [i for i in old_ids if i not in new_ids]
    added = [i for i in new_ids if i not in old_ids]
    changes = []
    if category in ("resource_globs", "resource_patterns"):
        # A version bump renames a resource: group by the name with version numbers set aside.
        def version_free(identity: tuple) -> tuple:
            return (_VERSION.sub("#", identity[0]), *identity[1:])

        by_key: dict[tuple, tuple[list, list]] = defaultdict(lambda: ([], []))
        for i in removed:
            by_key[version_free(i)][0].append(i)
        for i in added:
            by_key[version_free(i)][1].append(i)
        removed, added = [], []
        for olds, news in by_key.values():
            if olds and news:
                changes.append(Change(category, "renamed", ", ".join(sorted(entry_label(category, i) for i in olds)),
                                      to=", ".join(sorted(entry_label(category, i) for i in news))))
            else:
                removed += olds
                added += news
    changes += [Change(category, "removed", entry_label(category, i)) for i in removed]
    changes += [Change(category, "added", entry_label(category, i)) for i in added]
    return changes


def _bundle_changes(old: Iterable[Bundle], new: Iterable[Bundle]) -> list[Change]:
    old_by = {b.identity: b for b in old}
    new_by = {b.identity: b for b in new}
    changes = [Change("bundles", "removed", entry_label("bundles", i)) for i in old_by.keys() - new_by.keys()]
    changes += [Change("bundles", "added", entry_label("bundles", i)) for i in new_by.keys() - old_by.keys()]
    for i in old_by.keys() & new_by.keys():
        a, b = old_by[i], new_by[i]
        details = [f"+ locale {x}" for x in sorted(b.locales - a.locales)] + \
                  [f"- locale {x}" for x in sorted(a.locales - b.locales)] + \
                  [f"+ class {x}" for x in sorted(b.class_names - a.class_names)] + \
                  [f"- class {x}" for x in sorted(a.class_names - b.class_names)]
        if details:
            changes.append(Change("bundles", "changed", entry_label("bundles", i), details=tuple(details)))
    return changes

