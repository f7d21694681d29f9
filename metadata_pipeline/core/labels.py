"""How a person names one entry: used by provenance, diff and lint output alike."""

from __future__ import annotations

from metadata_pipeline.core.model import Condition, type_label

__all__ = ["condition_label", "entry_label", "CATEGORY_LABELS"]

CATEGORY_LABELS = {
    "reflection": "reflection", "jni": "JNI", "resource_globs": "resource", "resource_patterns": "resource pattern",
    "resource_excludes": "resource exclude", "bundles": "bundle", "proxies": "proxy",
    "serialization": "serialization", "serialization_lambda_capturing": "serialization lambda-capturing type",
    "serialization_proxies": "serialization proxy", "predefined_classes": "predefined class", "foreign": "foreign",
}


def condition_label(condition: Condition | None) -> str:
    # Spelled as the default (legacy) output spells it; both spellings are one condition.
    return "" if condition is None else f" [if typeReachable {condition.type_name}]"


def entry_label(category: str, identity: tuple) -> str:
    """``java.lang.String[] [if typeReached a.B]``, ``glob kafka/x.properties (module java.base)``..."""
    if category in ("reflection", "jni"):
        type_ref, condition = identity
        return type_label(type_ref) + condition_label(condition)
    if category in ("resource_globs", "resource_patterns"):
        text, module, condition = identity
        return text + (f" (module {module})" if module else "") + condition_label(condition)
    if category == "bundles":
        name, module, condition = identity
        return name + (f" (module {module})" if module else "") + condition_label(condition)
    if category in ("proxies", "serialization_proxies"):
        interfaces, condition = identity
        return f"proxy({', '.join(interfaces)})" + condition_label(condition)
    if category == "serialization":
        type_ref, condition, custom = identity
        return type_label(type_ref) + (f" (constructor of {custom})" if custom else "") + condition_label(condition)
    if category == "predefined_classes":
        return f"hash {identity[0]}"
    return " ".join(str(part) for part in identity if part is not None)
