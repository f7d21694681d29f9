"""A ``MetadataDiff`` as text for a terminal, markdown for a PR comment, or JSON for machines.

The JSON document (``"version": 1``) is stable:
``{"version": 1, "equal": bool, "summary": {category: {action: count}},
  "changes": [{"category", "action", "entry", "to" (moved/renamed/condition changes only),
  "details": [..]}]}``; ``category`` is one of the model's category names (``reflection``,
``jni``, ``resource_globs``, ``resource_patterns``, ``resource_excludes``, ``bundles``,
``proxies``, ``serialization``, ``serialization_lambda_capturing``, ``serialization_proxies``,
``predefined_classes``, ``foreign``), ``action`` one of added, removed, moved, renamed, changed;
detail lines start with ``+`` or ``-``.
"""

from __future__ import annotations

from typing import Any

from metadata_pipeline.core.diff import MetadataDiff
from metadata_pipeline.core.labels import CATEGORY_LABELS

__all__ = ["as_text", "as_markdown", "as_json", "summary_text"]

_SIGN = {"added": "+", "removed": "-", "moved": "*", "renamed": "*", "changed": "~"}
_COLOUR = {"added": "32", "removed": "31", "moved": "36", "renamed": "36", "changed": "33"}


def summary_text(d: MetadataDiff) -> str:
    if not d:
        return "no differences"
    parts = []
    for category, actions in d.counts().items():
        parts.append(f"{CATEGORY_LABELS[category]}: " + ", ".join(f"{n} {a}" for a, n in actions.items()))
    return "; ".join(parts)


def _verb(change) -> str:
    return "condition changed" if change.action == "changed" and change.to is not None else change.action


def _line(change, colour: bool) -> str:
    text = change.entry if change.to is None else f"{change.entry} → {change.to} ({_verb(change)})"
    line = f"  {_SIGN[change.action]} {text}"
    return f"\033[{_COLOUR[change.action]}m{line}\033[0m" if colour else line


def _grouped(d: MetadataDiff):
    """(category heading or None, change) in order; the heading comes with a category's first change."""
    counts = d.counts()
    current = None
    for change in d.changes:
        heading = None
        if change.category != current:
            current = change.category
            summary = ", ".join(f"{n} {a}" for a, n in counts[current].items())
            heading = (CATEGORY_LABELS[current], summary)
        yield heading, change


def as_text(d: MetadataDiff, colour: bool = False) -> str:
    if not d:
        return "no differences\n"
    out: list[str] = []
    for heading, change in _grouped(d):
        if heading:
            out.append(f"{heading[0]}: {heading[1]}")
        out.append(_line(change, colour))
        out += [f"      {detail}" for detail in change.details]
    return "\n".join(out) + "\n"


def as_markdown(d: MetadataDiff, title: str = "Reachability metadata changes") -> str:
    if not d:
        return f"### {title}\n\nNo differences.\n"
    out = [f"### {title}"]
    for heading, change in _grouped(d):
        if heading:
            out += ["", f"**{heading[0]}** ({heading[1]})", ""]
        if change.to is None:
            text = f"`{change.entry}`"
        else:
            text = f"`{change.entry}` → `{change.to}`"
        out.append(f"- {_verb(change)}: {text}")
        out += [f"  - `{detail}`" for detail in change.details]
    return "\n".join(out) + "\n"


def as_json(d: MetadataDiff) -> dict[str, Any]:
    changes = []
    for c in d.changes:
        doc: dict[str, Any] = {"category": c.category, "action": c.action, "entry": c.entry}
        if c.to is not None:
            doc["to"] = c.to
        doc["details"] = list(c.details)
        changes.append(doc)
    return {"version": 1, "equal": not d, "summary": d.counts(), "changes": changes}
