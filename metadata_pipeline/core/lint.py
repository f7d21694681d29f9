"""Stale entries: metadata that names what no longer exists on the classpath.

After a dependency bump or a refactoring, committed metadata goes stale: Kafka hand-renamed
``libzstd-jni-1.5.x-y.so`` four times in 2024, moved a reflected class between modules and
deleted a removed authorizer. The lint checks every entry against what the classpath (and
the JDK) really holds and, where the evidence is clear, says what the entry should be:

- a type (reflection, JNI, serialization; a lambda's declaring class; a proxy interface;
  a condition's type) found nowhere -> stale; a class with the same simple name that declares
  every member the entry names is the suggestion (a moved class);
- a resource glob or pattern matching nothing -> stale; a resource equal once version
  numbers are set aside is the suggestion (a version bump);
- a bundle whose base name exists nowhere.

A suggestion is applied by ``--fix`` only when it is the single candidate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Iterable, Protocol

from metadata_pipeline.core.labels import condition_label, entry_label
from metadata_pipeline.core.merge import Accumulator, identity_of
from metadata_pipeline.core.model import (
    Bundle, LambdaType, Metadata, ProxyEntry, ProxyType, ResourceGlob, ResourcePattern, SerializationEntry,
    TypeEntry,
)
from metadata_pipeline.core.names import element_name, simple_name, source_name
from metadata_pipeline.core.resources import glob_of_literal, literal_of_glob, regex_of_glob

__all__ = ["ClassIndex", "Finding", "Fix", "lint", "apply_fixes", "describe"]

_PRIMITIVES = {"boolean", "byte", "char", "short", "int", "long", "float", "double", "void"}
_VERSION = re.compile(r"\d+(?:[._-]\d+)*")


class Members(Protocol):
    methods: frozenset  # of objects with .name and .parameter_types
    fields: frozenset[str]


class ClassIndex(Protocol):
    """What the lint needs to know about a classpath (``metadata_pipeline.classpath.ClassPath``)."""

    def has_class(self, name: str) -> bool: ...
    def has_resource(self, name: str, module: str | None = None) -> bool: ...
    def resources(self) -> Iterable[tuple[object, str]]: ...  # (origin, resource name)
    def classes_by_simple_name(self, simple: str) -> list[str]: ...
    def class_members(self, name: str) -> Members | None: ...
    def origin_of(self, name: str) -> object | None: ...  # has .kind: "jar", "directory" or "jdk"


# Packages of the JDK by convention: a missing class there is most often a lookup that fails
# on purpose (java.beans probing for FooBeanInfo, RMI for _Skel classes), which the agent
# records so that native image fails it the same way.
_JDK_NAMESPACES = ("java.", "javax.", "jdk.", "sun.", "com.sun.")


def _in_jdk_namespace(name: str) -> bool:
    return element_name(name).startswith(_JDK_NAMESPACES)


@dataclass(frozen=True, slots=True)
class Fix:
    category: str
    old: object  # the entry as it is
    new: object  # the entry as it should be


@dataclass(frozen=True, slots=True)
class Finding:
    category: str
    entry: str
    problem: str
    suggestion: str = ""
    fix: Fix | None = None


def lint(m: Metadata, index: ClassIndex) -> list[Finding]:
    findings: list[Finding] = []
    exists = _memo(index.has_class)
    for category in ("reflection", "jni"):
        for e in getattr(m, category):
            findings += _type_findings(category, e, index, exists)
    for s in m.serialization:
        findings += _serialization_findings(s, index, exists)
    for category in ("proxies", "serialization_proxies"):
        for p in getattr(m, category):
            missing = [i for i in p.interfaces if not exists(i)]
            if missing:
                findings.append(Finding(category, entry_label(category, identity_of(p)),
                                        f"interface {', '.join(missing)} not found"))
    for t in m.serialization_lambda_capturing:
        if not exists(t.name):
            findings.append(Finding("serialization_lambda_capturing", t.name, "class not found"))
    resources = _Resources(index)
    findings += _resource_findings(m, index, resources)
    for b in m.bundles:
        if not _bundle_exists(b, index, exists, resources):
            findings.append(Finding("bundles", entry_label("bundles", b.identity),
                                    "bundle not found (no class or .properties of that base name)"))
    for entry in (*m.resource_globs, *m.resource_patterns, *m.bundles, *m.proxies):
        c = entry.condition
        if c is not None and not exists(c.type_name):
            category = {ResourceGlob: "resource_globs", ResourcePattern: "resource_patterns", Bundle: "bundles",
                        ProxyEntry: "proxies"}[type(entry)]
            label = entry_label(category, entry.identity if isinstance(entry, Bundle) else identity_of(entry))
            findings.append(Finding(category, label, f"condition type {c.type_name} not found: the entry can never apply"))
    return findings


def _memo(fn):
    cache: dict[str, bool] = {}

    def call(name: str) -> bool:
        hit = cache.get(name)
        if hit is None:
            element = element_name(name)
            hit = cache[name] = element in _PRIMITIVES or fn(element)
        return hit
    return call


def _declares(members: Members, e: TypeEntry) -> bool:
    """Whether a class declares every method and field the entry names."""
    signatures = {(m.name, tuple(m.parameter_types)) for m in members.methods}
    names = {m.name for m in members.methods}
    for m in e.methods | e.queried_methods:
        if m.parameter_types is None:
            if m.name not in names:
                return False
        elif (m.name, m.parameter_types) not in signatures:
            return False
    return all(f.name in members.fields for f in e.fields)


def _moved_candidates(name: str, e: TypeEntry | None, index: ClassIndex) -> list[str]:
    element = element_name(name)
    short = simple_name(element).rpartition("$")[2]
    jdk = _in_jdk_namespace(element)
    candidates = [c for c in index.classes_by_simple_name(short) if c != element
                  and (getattr(index.origin_of(c), "kind", None) == "jdk") == jdk]
    if e is not None and (e.methods or e.queried_methods or e.fields):
        candidates = [c for c in candidates if (mem := index.class_members(c)) is not None and _declares(mem, e)]
    dims = "[]" * source_name(name).count("[]")
    return [c + dims for c in candidates]


def _type_findings(category: str, e: TypeEntry, index: ClassIndex, exists) -> list[Finding]:
    label = entry_label(category, e.identity)
    out: list[Finding] = []
    # Members of a class that exists are not checked: the agent records failed lookups on
    # purpose (native image must answer them "not found" too), so a missing member is no sign
    # of staleness. Members serve as evidence when a missing class may have moved.
    if isinstance(e.type, str):
        if not exists(e.type):
            out.append(_stale_type(category, label, e, _moved_candidates(e.type, e, index)))
    elif isinstance(e.type, ProxyType):
        missing = [i for i in e.type.interfaces if not exists(i)]
        if missing:
            out.append(Finding(category, label, f"proxy interface {', '.join(missing)} not found"))
    elif isinstance(e.type, LambdaType) and not exists(e.type.declaring_class):
        out.append(Finding(category, label, f"lambda's declaring class {e.type.declaring_class} not found"))
    if e.condition is not None and not exists(e.condition.type_name):
        out.append(Finding(category, label, f"condition type {e.condition.type_name} not found: the entry can never apply"))
    return out


def _stale_type(category: str, label: str, e, candidates: list[str]) -> Finding:
    type_name = e.type if isinstance(e.type, str) else ""
    if _in_jdk_namespace(type_name) and not candidates:
        return Finding(category, label, "class not in this JDK",
                       "often a lookup that fails on purpose (the agent records those); remove it only if "
                       "nothing probes for it any more")
    problem = "class not found on the classpath or in the JDK"
    if len(candidates) == 1:
        new = replace(e, type=candidates[0])
        return Finding(category, label, problem,
                       f"moved to {candidates[0]}{condition_label(e.condition)}? (same simple name"
                       + (" and members)" if isinstance(e, TypeEntry) and (e.methods or e.fields) else ")"),
                       Fix(category, e, new))
    if candidates:
        more = f" and {len(candidates) - 5} more" if len(candidates) > 5 else ""
        return Finding(category, label, problem, "ambiguous: " + ", ".join(candidates[:5]) + more)
    return Finding(category, label, problem, "remove it if the class is gone")


def _serialization_findings(s: SerializationEntry, index: ClassIndex, exists) -> list[Finding]:
    label = entry_label("serialization", identity_of(s))
    if isinstance(s.type, str) and not exists(s.type):
        return [_stale_type("serialization", label, s, _moved_candidates(s.type, None, index))]
    if s.custom_target_constructor_class and not exists(s.custom_target_constructor_class):
        return [Finding("serialization", label, f"constructor class {s.custom_target_constructor_class} not found")]
    return []


def _version_free(text: str) -> str:
    return _VERSION.sub("#", text)


class _Resources:
    """The classpath's resource names, listed once and only if a check needs them all."""

    def __init__(self, index: ClassIndex) -> None:
        self._index = index
        self._names: list[str] | None = None
        self._by_version_free: dict[str, list[str]] | None = None

    @property
    def names(self) -> list[str]:
        if self._names is None:
            self._names = sorted({name for _, name in self._index.resources()})
        return self._names

    def same_but_version(self, name: str) -> list[str]:
        if self._by_version_free is None:
            self._by_version_free = {}
            for n in self.names:
                self._by_version_free.setdefault(_version_free(n), []).append(n)
        return self._by_version_free.get(_version_free(name), [])


def _resource_findings(m: Metadata, index: ClassIndex, resources: "_Resources") -> list[Finding]:
    out: list[Finding] = []
    for g in m.resource_globs:
        literal = literal_of_glob(g.glob)
        if literal is not None:
            if index.has_resource(literal, g.module):
                continue
        else:
            pattern = re.compile(regex_of_glob(g.glob))
            if any(pattern.fullmatch(n) for n in resources.names):
                continue
        label = entry_label("resource_globs", identity_of(g))
        candidates = resources.same_but_version(literal) if literal is not None else []
        problem = "resource matches nothing on the classpath or in the JDK"
        if len(candidates) == 1:
            fix = Fix("resource_globs", g, replace(g, glob=glob_of_literal(candidates[0])))
            out.append(Finding("resource_globs", label, problem, f"renamed to {candidates[0]}? (a version bump)", fix))
        elif candidates:
            out.append(Finding("resource_globs", label, problem, "ambiguous: " + ", ".join(candidates)))
        else:
            out.append(Finding("resource_globs", label, problem))
    for p in m.resource_patterns:
        try:
            pattern = re.compile(p.pattern)
        except re.error:
            continue  # a Java-only regex construct: nothing to say without a Java regex engine
        if not any(pattern.fullmatch(n) for n in resources.names):
            out.append(Finding("resource_patterns", entry_label("resource_patterns", identity_of(p)),
                               "pattern matches no resource on the classpath or in the JDK"))
    return out


def _bundle_exists(b: Bundle, index: ClassIndex, exists, resources: _Resources) -> bool:
    if exists(b.name):
        return True
    base = b.name.replace(".", "/")
    if index.has_resource(base + ".properties", b.module):
        return True
    prefix = base + "_"
    return any(n.startswith(prefix) and n.endswith(".properties") for n in resources.names)


def apply_fixes(m: Metadata, findings: Iterable[Finding]) -> tuple[Metadata, list[Finding]]:
    """``m`` with every unambiguous suggestion applied; returns the applied findings too."""
    fixes = {(f.fix.category, id(f.fix.old)): f for f in findings if f.fix is not None}
    if not fixes:
        return m, []
    changes: dict[str, tuple] = {}
    for category in ("reflection", "jni", "serialization", "resource_globs"):
        entries = getattr(m, category)
        if any((category, id(e)) in fixes for e in entries):
            changes[category] = tuple(fixes[(category, id(e))].fix.new if (category, id(e)) in fixes else e
                                      for e in entries)
    # Rebuild through the merge: a fixed entry may now meet an existing one (same identity).
    acc = Accumulator()
    acc.add_metadata(replace(m, **changes))
    return acc.build(), list(fixes.values())


def describe(f: Finding) -> str:
    return f"{f.entry}: {f.problem}" + (f"; {f.suggestion}" if f.suggestion else "")

