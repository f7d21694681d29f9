"""Canonical text of ``Metadata`` in the legacy six-file layout or the unified format.

Canonical means: entries sorted by identity, members sorted, keys in a fixed order, two-space
indent, UTF-8, one trailing newline. The same value always gives the same bytes, whatever
order its inputs came in.

Legacy output targets GraalVM for JDK 17/21 (what Kafka builds with): array types as JVM
descriptors in reflect/jni files, resources as ``\\Q..\\E`` regexes (those releases read no
globs). Unified output is ``reachability-metadata.json`` plus, exactly as newer agents do,
legacy files for what the unified format cannot hold (regex resources, excludes, bundle
locales, predefined classes, ...). ``conversion_losses`` says what a format drops.
"""

from __future__ import annotations

import json
from operator import attrgetter, itemgetter
from typing import Any, Callable, Collection, Iterable, Literal

import orjson

from metadata_pipeline.core.kinds import FileKind
from metadata_pipeline.core.model import (
    UNIFIED_FLAGS, Condition, Field, LambdaType, Metadata, MethodRef, ProxyEntry, ProxyType, TypeEntry, TypeRef,
    condition_key, in_type_order, sorted_by_name, type_key,
)
from metadata_pipeline.core.names import descriptor_name
from metadata_pipeline.core.resources import glob_parts

__all__ = ["Format", "documents", "render", "render_file", "conversion_losses", "dumps", "java_regex_of_glob"]

Format = Literal["legacy", "unified"]


def dumps(value: Any) -> str:
    # orjson's two-space indent is byte-for-byte json.dumps(indent=2, ensure_ascii=False),
    # at a fraction of the cost (a Kafka-sized config is written on every merge).
    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n"


def documents(metadata: Metadata, fmt: Format) -> dict[str, Any]:
    """File name -> the JSON document, for every file the format writes."""
    docs = _legacy_documents(metadata) if fmt == "legacy" else _unified_documents(metadata)
    return {kind.file_name: doc for kind, doc in docs.items()}


def render(metadata: Metadata, fmt: Format) -> dict[str, str]:
    """File name -> canonical text, for every file the format writes."""
    return {name: dumps(doc) for name, doc in documents(metadata, fmt).items()}


def render_file(metadata: Metadata, kind: FileKind) -> str:
    """Canonical text of one file kind (used to tell whether a committed file is canonical)."""
    if kind is FileKind.UNIFIED:
        return dumps(_unified_documents(metadata)[FileKind.UNIFIED])
    return dumps(_legacy_documents(metadata)[kind])


# -- pieces shared by both formats ----------------------------------------------------------

def _condition(c: Condition | None) -> dict[str, Any]:
    """A legacy condition: ``typeReachable``, the only kind GraalVM's legacy parsers accept."""
    return {} if c is None else {"condition": {"typeReachable": c.type_name}}


def _reached(c: Condition | None) -> dict[str, Any]:
    """A unified condition: ``typeReached``, the only kind the unified format has."""
    return {} if c is None else {"condition": {"typeReached": c.type_name}}


def _method_key(m: MethodRef) -> tuple:
    return (m.name, m.parameter_types is not None, m.parameter_types or ())


def _methods(methods: Collection[MethodRef]) -> list[dict[str, Any]]:
    out = []
    for m in (sorted(methods, key=_method_key) if len(methods) > 1 else methods):  # most types have one
        doc: dict[str, Any] = {"name": m.name}
        if m.parameter_types is not None:
            doc["parameterTypes"] = list(m.parameter_types)
        out.append(doc)
    return out


_FIELD_NAME = attrgetter("name")


def _fields(fields: Collection[Field], with_access: bool) -> list[dict[str, Any]]:
    # allowUnsafeAccess is never written: GraalVM's parsers ignore it (conversion_losses says so).
    out = []
    for f in (sorted(fields, key=_FIELD_NAME) if len(fields) > 1 else fields):
        doc: dict[str, Any] = {"name": f.name}
        if with_access and f.allow_write:
            doc["allowWrite"] = True
        out.append(doc)
    return out


def _sorted_entries(entries: Iterable[Any], type_of=lambda e: e.type) -> list[Any]:
    return sorted(entries, key=lambda e: (type_key(type_of(e)), condition_key(e.condition)))


# -- legacy ---------------------------------------------------------------------------------

def _legacy_type_entry(e: TypeEntry, name: str, methods: "_Rendered", fields: "_Rendered") -> dict[str, Any]:
    doc: dict[str, Any] = {"name": name} if e.condition is None else {**_condition(e.condition), "name": name}
    if e.flags:  # most types have none: no sort then
        for flag in sorted(e.flags):
            doc[flag] = True
    if e.fields:
        doc["fields"] = fields[e.fields]
    if e.methods:
        doc["methods"] = methods[e.methods]
    if e.queried_methods:
        doc["queriedMethods"] = methods[e.queried_methods]
    return doc


class _Rendered(dict):
    """A member set -> its rendered list, made on first use, for one document.

    The model shares one frozen set among the types whose members are equal (``<init>()``
    alone, the same fields), so most types find theirs rendered already; the document then
    holds one list in several places, which is only read (checked, then dumped).
    """

    def __init__(self, render: Callable[[Any], list[dict[str, Any]]]) -> None:
        super().__init__()
        self._render = render

    def __missing__(self, members: frozenset) -> list[dict[str, Any]]:
        doc = self[members] = self._render(members)
        return doc


def _legacy_type_entries(entries: Iterable[TypeEntry]) -> list[dict[str, Any]]:
    # Sorted by the name as written (``[B`` before ``[C``), as the agent sorts. GraalVM's legacy
    # parsers need a ``name``: lambda types are left out, proxy types go to proxy-config.json
    # (``_legacy_proxy_types``); ``conversion_losses`` says what that drops.
    named = sorted_by_name(((descriptor_name(e.type), e) for e in entries if isinstance(e.type, str)), _NAME,
                           lambda named: (named[0], condition_key(named[1].condition)))
    methods, fields = _Rendered(_methods), _Rendered(lambda f: _fields(f, with_access=True))
    return [_legacy_type_entry(e, name, methods, fields) for name, e in named]


_NAME = itemgetter(0)  # of a (name as written, entry) pair



def _legacy_proxy_types(m: Metadata) -> tuple[ProxyEntry, ...]:
    """proxy-config entries: the proxy definitions plus every proxy type registered for reflection or JNI."""
    types = {ProxyEntry(e.type.interfaces, e.condition) for e in (*m.reflection, *m.jni) if isinstance(e.type, ProxyType)}
    return tuple(types.union(m.proxies))


_JAVA_WILDCARDS = {"**/": "(.*/)?", "**": ".*", "*": "[^/]*"}


def java_regex_of_glob(glob: str, module: str | None) -> str:
    """A Java regex, as GraalVM for JDK 17/21 reads, matching what the glob matches."""
    prefix = f"{module}:" if module else ""
    return prefix + "".join(_JAVA_WILDCARDS[text] if wild else _quote(text) for wild, text in glob_parts(glob))


def _quote(literal: str) -> str:
    # \E inside a \Q..\E block would end it early; split around it.
    return "\\Q" + literal.replace("\\E", "\\E\\\\E\\Q") + "\\E"


def _legacy_resources(m: Metadata, bundles_all: bool = True) -> dict[str, Any]:
    includes = [
        {**_condition(g.condition), "pattern": java_regex_of_glob(g.glob, g.module)} for g in m.resource_globs
    ] + [
        {**_condition(p.condition), "pattern": (f"{p.module}:" if p.module else "") + p.pattern}
        for p in m.resource_patterns
    ]
    includes.sort(key=lambda d: (d["pattern"], condition_key(_cond_of(d))))
    resources: dict[str, Any] = {"includes": includes}
    if m.resource_excludes:
        resources["excludes"] = [{**_condition(x.condition), "pattern": x.pattern} for x in m.resource_excludes]
    bundles = []
    for b in m.bundles:
        doc: dict[str, Any] = {**_condition(b.condition), "name": b.name}
        if b.module:
            doc["module"] = b.module
        if b.locales:
            doc["locales"] = sorted(b.locales)
        if b.class_names:
            doc["classNames"] = sorted(b.class_names)
        bundles.append(doc)
    return {"resources": resources, "bundles": bundles}


def _cond_of(doc: dict[str, Any]) -> Condition | None:
    raw = doc.get("condition")
    return Condition(raw["typeReachable"]) if raw else None


def _legacy_proxies(entries) -> list[dict[str, Any]]:
    return [{**_condition(p.condition), "interfaces": list(p.interfaces)}
            for p in sorted(entries, key=lambda p: (p.interfaces, condition_key(p.condition)))]


def _legacy_serialization(m: Metadata) -> dict[str, Any]:
    # GraalVM's legacy serialization parser needs a ``name``: a serializable proxy goes to
    # ``proxies`` (its customTargetConstructorClass, if any, cannot go along), a lambda type nowhere.
    types = []
    for s in _sorted_entries(e for e in m.serialization if isinstance(e.type, str)):
        doc: dict[str, Any] = {**_condition(s.condition), "name": s.type}
        if s.custom_target_constructor_class:
            doc["customTargetConstructorClass"] = s.custom_target_constructor_class
        types.append(doc)
    proxies = set(m.serialization_proxies).union(
        ProxyEntry(s.type.interfaces, s.condition) for s in m.serialization if isinstance(s.type, ProxyType))
    return {
        "types": types,
        "lambdaCapturingTypes": [{**_condition(t.condition), "name": t.name} for t in m.serialization_lambda_capturing],
        "proxies": _legacy_proxies(proxies),
    }


def _legacy_predefined(m: Metadata) -> list[dict[str, Any]]:
    by_type: dict[str, list[dict[str, Any]]] = {"agent-extracted": []}
    for p in m.predefined_classes:
        doc = {"hash": p.hash} if p.name_info is None else {"hash": p.hash, "nameInfo": p.name_info}
        by_type.setdefault(p.type, []).append(doc)
    return [{"type": t, "classes": classes} for t, classes in sorted(by_type.items())]


def _legacy_documents(m: Metadata) -> dict[FileKind, Any]:
    return {
        FileKind.REFLECT: _legacy_type_entries(m.reflection),
        FileKind.JNI: _legacy_type_entries(m.jni),
        FileKind.PROXY: _legacy_proxies(_legacy_proxy_types(m)),
        FileKind.RESOURCE: _legacy_resources(m),
        FileKind.SERIALIZATION: _legacy_serialization(m),
        FileKind.PREDEFINED_CLASSES: _legacy_predefined(m),
    }


# -- unified --------------------------------------------------------------------------------

def _unified_type(t: TypeRef) -> Any:
    if isinstance(t, str):
        return t
    if isinstance(t, ProxyType):
        return {"proxy": list(t.interfaces)}
    lam: dict[str, Any] = {"declaringClass": t.declaring_class}
    if t.declaring_method is not None:
        lam["declaringMethod"] = _methods([t.declaring_method])[0]
    lam["interfaces"] = list(t.interfaces)
    return {"lambda": lam}


def _spilled(m: Metadata) -> Metadata:
    """What the unified format cannot hold: it goes to legacy files beside it, as the agent does."""
    return Metadata(
        resource_patterns=m.resource_patterns, resource_excludes=m.resource_excludes,
        bundles=tuple(b for b in m.bundles if b.locales or b.class_names),
        serialization=tuple(s for s in m.serialization if s.custom_target_constructor_class),
        serialization_lambda_capturing=m.serialization_lambda_capturing,
        serialization_proxies=m.serialization_proxies, predefined_classes=m.predefined_classes,
    )


def _unified_documents(m: Metadata) -> dict[FileKind, Any]:
    spilled = _spilled(m)
    # One unified entry carries every registration of a (type, condition): its reflection
    # entry's, and what JNI, serialization and proxy entries add to it.
    reflection = {e.identity: e for e in m.reflection}
    added: dict[tuple, tuple[set[str], set[MethodRef], dict[str, Field]]] = {}

    def add(identity: tuple) -> tuple[set[str], set[MethodRef], dict[str, Field]]:
        members = added.get(identity)
        if members is None:
            members = added[identity] = (set(), set(), {})
        return members

    for e in m.jni:
        flags, methods, fields = add(e.identity)
        flags.update(e.flags & UNIFIED_FLAGS)
        flags.add("jniAccessible")
        methods.update(e.methods)
        fields.update((f.name, f) for f in e.fields)
    for s in m.serialization:
        if not s.custom_target_constructor_class:
            add((s.type, s.condition))[0].add("serializable")
    for p in m.proxies:
        add((ProxyType(p.interfaces), p.condition))

    rendered_methods, rendered_fields = _Rendered(_methods), _Rendered(lambda f: _fields(f, with_access=False))
    identities = [*reflection, *(k for k in added if k not in reflection)]
    reflection_docs = []
    for identity in in_type_order(identities):
        t, cond = identity
        doc: dict[str, Any] = _reached(cond)
        doc["type"] = _unified_type(t)
        e, more = reflection.get(identity), added.get(identity)
        if more is None:  # the usual entry: a reflection registration alone
            flags, methods, fields = e.flags & UNIFIED_FLAGS if e.flags else e.flags, e.methods, e.fields
        else:
            flags, method_set, field_map = more
            if e is not None:
                flags.update(e.flags & UNIFIED_FLAGS)
                method_set.update(e.methods)
                field_map.update((f.name, f) for f in e.fields)  # only names are written
            methods, fields = frozenset(method_set), frozenset(field_map.values())
        if flags:  # most types have none: no sort then
            for flag in sorted(flags):
                doc[flag] = True
        if fields:
            doc["fields"] = rendered_fields[fields]
        if methods:
            doc["methods"] = rendered_methods[methods]
        reflection_docs.append(doc)

    resources: list[dict[str, Any]] = []
    for g in m.resource_globs:
        doc = _reached(g.condition)
        if g.module:
            doc["module"] = g.module
        doc["glob"] = g.glob
        resources.append(doc)
    for b in m.bundles:
        if not b.locales and not b.class_names:
            doc = _reached(b.condition)
            if b.module:
                doc["module"] = b.module
            doc["bundle"] = b.name
            resources.append(doc)
    docs: dict[FileKind, Any] = {FileKind.UNIFIED: {"reflection": reflection_docs, "resources": resources}}
    if m.foreign:
        foreign: dict[str, list] = {}
        for f in m.foreign:
            foreign.setdefault(f.section, []).append(json.loads(f.canonical_json))
        docs[FileKind.UNIFIED]["foreign"] = foreign

    rest = spilled
    legacy = _legacy_documents(rest)
    if rest.resource_patterns or rest.resource_excludes or rest.bundles:
        docs[FileKind.RESOURCE] = legacy[FileKind.RESOURCE]
    if rest.serialization or rest.serialization_lambda_capturing or rest.serialization_proxies:
        docs[FileKind.SERIALIZATION] = legacy[FileKind.SERIALIZATION]
    if rest.predefined_classes:
        docs[FileKind.PREDEFINED_CLASSES] = legacy[FileKind.PREDEFINED_CLASSES]
    return docs


# -- what a conversion cannot express -------------------------------------------------------

def conversion_losses(m: Metadata, fmt: Format) -> list[str]:
    """One line per kind of information the target format cannot express (empty: lossless)."""
    notes: list[str] = []

    def note(count: int, text: str) -> None:
        if count:
            notes.append(f"{count} {text}")

    types = (*m.reflection, *m.jni)
    note(sum(any(f.allow_unsafe_access for f in e.fields) for e in types),
         "types with allowUnsafeAccess fields: dropped (GraalVM's parsers ignore it; the official schemas lack it)")
    if fmt == "legacy":
        note(sum(isinstance(e.type, LambdaType) for e in types),
             "lambda type entries dropped: the legacy format has no lambda types")
        note(sum(isinstance(s.type, LambdaType) for s in m.serialization),
             "serializable lambda types dropped: the legacy format has no lambda types")
        note(sum(isinstance(e.type, ProxyType) and bool(e.flags or e.methods or e.queried_methods or e.fields)
                 for e in types),
             "proxy types with reflection flags or members: written to proxy-config.json without them "
             "(GraalVM's legacy reflect/jni parsers need a class name)")
        note(sum(isinstance(s.type, ProxyType) and bool(s.custom_target_constructor_class) for s in m.serialization),
             "serializable proxies with customTargetConstructorClass: written to serialization proxies without it")
        note(len(m.foreign), "foreign (FFM) registrations dropped: the legacy files have no place for them")
        return notes
    note(sum(bool(e.queried_methods) for e in types),
         "types with queried-only methods: the unified format lists no queried members "
         "(registering a type makes its members queryable)")
    note(sum(any(f not in UNIFIED_FLAGS for f in e.flags) for e in types),
         "types with flags the unified format lacks (queryAll*, allDeclaredClasses, ...): "
         "implied there by registering the type")
    note(sum(any(f.allow_write for f in e.fields) for e in types),
         "types with allowWrite fields: unified fields carry no access flags")
    note(len(m.jni), "JNI entries merged with reflection entries of the same type: "
         "jniAccessible applies to every registered member")
    registered = {e.identity for e in m.reflection}
    note(sum((s.type, s.condition) not in registered and not isinstance(s.type, ProxyType) for s in m.serialization),
         "serialization-only types become reflection registrations too "
         "(every unified entry registers its type for reflection)")
    note(sum(not isinstance(s.type, str) and bool(s.custom_target_constructor_class) for s in m.serialization),
         "serializable proxy or lambda types with customTargetConstructorClass: the constructor class is dropped")
    return notes
