"""Parsing decoded JSON of every metadata file kind into an ``Accumulator``.

The checks here are the project's JSON schemas (``metadata_pipeline/schemas``) written as
code: the merge reads hundreds of megabytes and checks only the entries it has not seen, where
a validator would take in every document whole. They must reject exactly what the schemas
reject; ``tests/test_schemas.py`` holds them to that on real files and on generated invalid ones.
Reflection and JNI entries the merge's reader decoded to their shape (``entry_shapes``) come
with their shape checked; only the rest is checked here, and ``tests/test_fastload.py`` holds
that path to exactly this parser's verdict.

Normalisation happens on the way in: array types become source names (``[B`` -> ``byte[]``),
literal regex resources become globs, ``module:`` prefixes become modules.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from itertools import compress
from typing import Any, Callable, Iterable, Protocol

import msgspec

from metadata_pipeline.core.entry_shapes import (
    LEGACY_FLAG_FIELDS, UNIFIED_FLAG_FIELDS, UNSET, LegacyTypeShape, UnifiedTypeShape, canonical_text,
)
from metadata_pipeline.core.errors import InvalidMetadata
from metadata_pipeline.core.kinds import FileKind
from metadata_pipeline.core.merge import Accumulator, EntryKey, identity_of
from metadata_pipeline.core.model import (
    ACCESS_FLAGS, QUERY_FLAGS, Condition, ForeignEntry, LambdaCapturingType, LambdaType, Metadata,
    MethodRef,
    ProxyEntry, ProxyType, ResourceExclude, ResourceGlob, ResourcePattern,
    SerializationEntry, TypeRef, UNIFIED_FLAGS,
)
from metadata_pipeline.core.names import source_name
from metadata_pipeline.core.resources import glob_of_regex, split_module

__all__ = ["parse", "add_to", "add_legacy_type_entry", "EntryMemo", "TYPE_NAME_PATTERN", "MAX_DEPTH", "MAX_NAME", "too_deep",
           "LEGACY_TYPE_FLAGS", "UNIFIED_TYPE_FLAGS"]

LEGACY_TYPE_FLAGS = frozenset(ACCESS_FLAGS) | QUERY_FLAGS
UNIFIED_TYPE_FLAGS = UNIFIED_FLAGS | {"serializable", "jniAccessible"}
_LEGACY_TYPE_KEYS = LEGACY_TYPE_FLAGS | {"name", "type", "condition", "methods", "queriedMethods", "fields", "reasons"}
_UNIFIED_TYPE_KEYS = UNIFIED_TYPE_FLAGS | {"type", "condition", "methods", "fields", "reason"}
_EXTRAS = frozenset({"jniAccessible", "serializable"})  # unified flags that register more than reflection
_NONE: frozenset[str] = frozenset()
_METHOD_KEYS = frozenset({"name", "parameterTypes"})
_FIELD_KEYS = frozenset({"name", "allowWrite", "allowUnsafeAccess"})
_CONDITION_KEYS = frozenset({"typeReachable", "typeReached"})
_NAME_ONLY = {"name": None}.keys()
# A type name: not empty, no NUL, and an array descriptor only when well-formed (its class name
# without '[' or ';', which no JVM class name holds: found by tests/test_fuzz_cli.py). The schemas
# say the same (``$defs/typeName``); ``(?![\s\S])`` is an end that, unlike ``$``, no newline passes.
TYPE_NAME_PATTERN = r"^(?:[^\[\u0000][^\u0000]*|\[+(?:[BCDFIJSZ]|L[^\[;\u0000]+;))(?![\s\S])"
_TYPE_NAME = re.compile(TYPE_NAME_PATTERN)
# Deepest nesting of values kept verbatim (``foreign`` entries); also what the edges allow at all.
MAX_DEPTH = 64
_QUOTE_MAX = 80
# Longest type name or resource pattern: the JVM's own limit for a class name. Untrusted input
# is bounded; a 10 MB "pattern" is not one.
MAX_NAME = 65535


class EntryMemo(Protocol):
    """What a reader already knows of the entries of a file's arrays of independent entries
    (reflection, JNI, resources), each named by its JSON pointer (``section``).

    ``unseen`` gives (index, entry) for the entries it has not seen, in file order; the parser
    reports what those turned out to be with ``learn``. Without a memo every entry is new.
    """

    def unseen(self, section: str, entries: list) -> Iterable[tuple[int, Any]]: ...

    def learn(self, section: str, learned: list[tuple[int, tuple]]) -> None:
        """(index, entry keys) of what the entries ``unseen`` gave turned out to be."""


def parse(kind: FileKind, data: Any, source: str | None = None) -> Metadata:
    """Decoded JSON of one file -> normalised ``Metadata``."""
    acc = Accumulator(source)
    add_to(acc, kind, data)
    return acc.build()


def add_to(acc: Accumulator, kind: FileKind, data: Any, memo: EntryMemo | None = None) -> None:
    """Check ``data`` as a file of ``kind`` and add its entries to ``acc``.

    Raises ``InvalidMetadata`` naming the entry (a JSON pointer) on the first problem; ``acc``
    may then hold part of the file, so callers parse each file into a fresh accumulator.
    ``memo`` lets a reader skip entries it has already read (see ``EntryMemo``).
    """
    _PARSERS[kind](acc, data, memo)


# -- small checks ---------------------------------------------------------------------------

def _fail(path: str, problem: str) -> InvalidMetadata:
    return InvalidMetadata(problem, path or "/")


def _quote(v: str) -> str:
    """``repr`` of a value from the input, cut short: a message stays one readable line."""
    if len(v) <= _QUOTE_MAX:
        return repr(v)
    return f"{v[:_QUOTE_MAX]!r}... ({len(v)} characters)"


@lru_cache(maxsize=None)
def _checked_name(name: str) -> str | None:
    """The source name of a well-formed type name, None for a malformed one."""
    if len(name) > MAX_NAME:
        return None
    if name[:1] not in ("[", "") and "\0" not in name:  # what _TYPE_NAME says of a plain name, faster
        return name
    return source_name(name) if _TYPE_NAME.search(name) else None


def _java_name(name: Any, path: str) -> str:
    """A type name, checked and normalised (``[B`` -> ``byte[]``)."""
    checked = _checked_name(_str(name, path))
    if checked is None:
        if not name:
            raise _fail(path, "empty type name")
        if len(name) > MAX_NAME:
            raise _fail(path, f"type name longer than {MAX_NAME} characters ({len(name)})")
        if "\0" in name:
            raise _fail(path, f"type name {_quote(name)} contains a NUL character")
        raise _fail(path, f"malformed array type descriptor {_quote(name)}")
    return checked


def too_deep(value: Any, limit: int = MAX_DEPTH) -> str | None:
    """The JSON pointer of a value nested more than ``limit`` levels deep, or None.

    Iterative, so no nesting can exhaust the interpreter's stack.
    """
    stack = [(value, "", 1)]
    while stack:
        v, pointer, depth = stack.pop()
        if type(v) is dict:
            items = [(f"{pointer}/{_escape(k)}", x) for k, x in v.items()]
        elif type(v) is list:
            items = [(f"{pointer}/{i}", x) for i, x in enumerate(v)]
        else:
            continue
        if depth > limit:
            return pointer or "/"
        stack.extend((x, p, depth + 1) for p, x in reversed(items) if type(x) in (dict, list))
    return None


def _escape(key: str) -> str:
    key = key if len(key) <= _QUOTE_MAX else key[:_QUOTE_MAX] + "..."
    return key.replace("~", "~0").replace("/", "~1")


def _type_name(v: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
            type(None): "null"}.get(type(v), "a number")


def _list(v: Any, path: str) -> list:
    if type(v) is not list:
        raise _fail(path, f"expected an array, found {_type_name(v)}")
    return v


def _obj(v: Any, path: str, allowed: frozenset[str]) -> dict:
    if type(v) is not dict:
        raise _fail(path, f"expected an object, found {_type_name(v)}")
    if not v.keys() <= allowed:
        unknown = sorted(set(v) - allowed)
        raise _fail(path, f"unknown key {_quote(unknown[0])}" + (f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""))
    return v


def _str(v: Any, path: str) -> str:
    if type(v) is not str:
        raise _fail(path, f"expected a string, found {_type_name(v)}")
    return v


def _resource(v: Any, path: str) -> str:
    """A resource pattern or glob: a string of bounded length."""
    if len(_str(v, path)) > MAX_NAME:
        raise _fail(path, f"longer than {MAX_NAME} characters ({len(v)})")
    return v


def _module(raw: dict, epath: str) -> str | None:
    """The ``module`` of the entry at ``epath``, checked; None when absent or empty."""
    return (_str(raw["module"], epath + "/module") or None) if "module" in raw else None


def _bool(v: Any, path: str) -> bool:
    if type(v) is not bool:
        raise _fail(path, f"expected true or false, found {_type_name(v)}")
    return v


def _flag(v: Any, epath: str, key: str) -> bool:
    """A flag's value: the pointer to it is built only when it is not a boolean."""
    return v if v is True or v is False else _bool(v, f"{epath}/{key}")


def _strings(v: Any, path: str) -> list[str]:
    for i, item in enumerate(_list(v, path)):
        if type(item) is not str:
            raise _fail(f"{path}/{i}", f"expected a string, found {_type_name(item)}")
    return v


def _reasons(entry: dict, path: str, legacy: bool) -> None:
    """Reasons are comments for people: checked, not kept in the model."""
    if legacy:
        if "reasons" in entry:
            _strings(entry["reasons"], path + "/reasons")
    elif "reason" in entry:
        reason = entry["reason"]
        if type(reason) is not str:
            _strings(reason, path + "/reason")


def _top_level_notes(data: dict) -> None:
    """Top-level ``reason``/``comment``: notes for people, accepted by GraalVM's parsers, not kept."""
    for key in ("reason", "comment"):
        if key in data and type(data[key]) is not str:
            _strings(data[key], "/" + key)


def _condition(acc: Accumulator, entry: dict, path: str, legacy: bool) -> Condition | None:
    raw = entry.get("condition")
    if raw is None:
        if "condition" in entry:
            raise _fail(path + "/condition", "expected an object, found null")
        return None
    cpath = path + "/condition"
    _obj(raw, cpath, _CONDITION_KEYS if legacy else frozenset({"typeReached"}))
    if len(raw) != 1:
        raise _fail(cpath, "needs exactly one of 'typeReached'" + (" or 'typeReachable'" if legacy else ""))
    (key, name), = raw.items()
    if type(name) is not str or _checked_name(name) is None:
        _java_name(name, f"{cpath}/{key}")  # raises, saying why
    # Both kinds are one condition (GraalVM's generate reads typeReachable as typeReached).
    return acc.condition(name)


def _method_params(raw: dict, path: str) -> tuple[str, ...] | None:
    params = raw.get("parameterTypes")
    if params is None:
        if "parameterTypes" in raw:
            raise _fail(path + "/parameterTypes", "expected an array, found null")
        return None
    ppath = path + "/parameterTypes"
    return tuple(_java_name(p, f"{ppath}/{i}") for i, p in enumerate(_list(params, ppath)))


_MISSING = object()


def _methods(raw_list: Any, epath: str, key: str) -> set:
    """Method descriptors as (name, parameter types or None), from ``key`` of the entry at ``epath``.

    The loop checks the common, valid shape without building any JSON pointer; only when
    something is off does ``_methods_checked`` walk again to say exactly where.
    """
    if type(raw_list) is list:
        out = set()
        for m in raw_list:
            if type(m) is not dict or not m.keys() <= _METHOD_KEYS:
                break
            name = m.get("name")
            if type(name) is not str:
                break
            params = m.get("parameterTypes", _MISSING)
            if params is _MISSING:
                out.add((name, None))
            elif type(params) is list:
                try:  # _checked_name takes strings only: anything else raises TypeError
                    names = tuple(map(_checked_name, params))
                except TypeError:
                    break
                if None in names:
                    break
                out.add((name, names))
            else:
                break
        else:
            return out
    return _methods_checked(raw_list, epath + key)


def _methods_of(raw_list: Any, epath: str, key: str) -> frozenset[tuple[str, tuple[str, ...] | None]]:
    """The methods of ``key`` of the entry at ``epath``, as ``_methods`` gives them, looked up by
    the list's canonical text: types repeat their method lists (``<init>()`` alone above all)."""
    if type(raw_list) is list:
        methods = _method_set(canonical_text(raw_list))
        if methods is not None:
            return methods
    return frozenset(_methods(raw_list, epath, key))  # raises, saying where


@lru_cache(maxsize=4096)
def _method_set(text: bytes) -> frozenset[tuple[str, tuple[str, ...] | None]] | None:
    """The methods of the method list whose canonical text is ``text``; None when it is invalid.

    Equal canonical texts are equal lists, the input being decoded JSON (a dict, list, string,
    number, boolean or null at every level), so a list checked once is known by its text. A
    method list costs 0.3 us to encode and look up, 1 to 5 us to check (measured).
    """
    try:
        return frozenset(_methods(msgspec.json.decode(text), "", ""))
    except InvalidMetadata:
        return None


def _methods_checked(raw_list: Any, path: str) -> set:
    return {_method(m, f"{path}/{i}") for i, m in enumerate(_list(raw_list, path))}


def _method(m: Any, mpath: str) -> tuple[str, tuple[str, ...] | None]:
    """One method descriptor, checked, at ``mpath``."""
    _obj(m, mpath, _METHOD_KEYS)
    if "name" not in m:
        raise _fail(mpath, "missing required key 'name'")
    return (_str(m["name"], mpath + "/name"), _method_params(m, mpath))


def _type_ref(v: Any, path: str, allow_lambda: bool) -> TypeRef:
    if type(v) is str:
        return _java_name(v, path)
    allowed = frozenset({"proxy", "lambda"}) if allow_lambda else frozenset({"proxy"})
    _obj(v, path, allowed)
    if len(v) != 1:
        raise _fail(path, "a type object needs exactly one of 'proxy'" + (" or 'lambda'" if allow_lambda else ""))
    if "proxy" in v:
        return ProxyType(_interfaces(v["proxy"], path + "/proxy"))
    lam = _obj(v["lambda"], path + "/lambda", frozenset({"declaringClass", "declaringMethod", "interfaces"}))
    for required in ("declaringClass", "interfaces"):
        if required not in lam:
            raise _fail(path + "/lambda", f"missing required key {required!r}")
    interfaces = _strings(lam["interfaces"], path + "/lambda/interfaces")
    if not interfaces:
        raise _fail(path + "/lambda/interfaces", "needs at least one interface")
    method = None
    if "declaringMethod" in lam:
        method = _method(lam["declaringMethod"], path + "/lambda/declaringMethod")
    return LambdaType(
        _str(lam["declaringClass"], path + "/lambda/declaringClass"), tuple(interfaces),
        None if method is None else MethodRef(*method),
    )


# -- reflection and JNI ---------------------------------------------------------------------

def _interfaces(v: Any, path: str) -> tuple[str, ...]:
    """Proxy interfaces: checked as type names, kept as written (order matters, no arrays)."""
    for i, name in enumerate(_list(v, path)):
        _java_name(name, f"{path}/{i}")
    return tuple(v)


def _fill_members(acc: Accumulator, target: Any, raw: dict, epath: str, flags: list[str], extras: Any) -> None:
    if flags:
        target.add_flags(flags if not extras else [f for f in flags if f not in extras])
    if "methods" in raw:
        target.take_methods(_methods_of(raw["methods"], epath, "/methods"))
    if "queriedMethods" in raw:
        target.take_queried(_methods_of(raw["queriedMethods"], epath, "/queriedMethods"))
    if "fields" in raw:
        fields = raw["fields"]
        if type(fields) is list:
            known = target.own_fields().setdefault  # the agent's usual shape: names only, no access bits
            for f in fields:
                if type(f) is not dict or f.keys() != _NAME_ONLY or type(f["name"]) is not str:
                    break  # the names added so far are added again below, or the entry fails
                known(f["name"], 0)
            else:
                return
        fpath = epath + "/fields"
        for j, f in enumerate(_list(fields, fpath)):
            jpath = f"{fpath}/{j}"
            _obj(f, jpath, _FIELD_KEYS)
            if "name" not in f:
                raise _fail(jpath, "missing required key 'name'")
            acc.add_field(
                target, _str(f["name"], jpath + "/name"),
                _bool(f["allowWrite"], jpath + "/allowWrite") if "allowWrite" in f else False,
                _bool(f["allowUnsafeAccess"], jpath + "/allowUnsafeAccess") if "allowUnsafeAccess" in f else False,
            )


def add_legacy_type_entry(acc: Accumulator, kind: FileKind, raw: Any, epath: str) -> tuple:
    """Check one entry of a legacy reflect/jni file (decoded, or decoded to its shape) and add
    it; returns its identity."""
    if type(raw) is LegacyTypeShape:
        return _shaped_legacy_entry(acc, kind, raw, epath)
    if type(raw) is not dict or not raw.keys() <= _LEGACY_TYPE_KEYS:
        _obj(raw, epath, _LEGACY_TYPE_KEYS)  # raises, saying why
    has_name, has_type = "name" in raw, "type" in raw
    if has_name == has_type:
        raise _fail(epath, "needs exactly one of 'name' or 'type'")
    if has_name:
        name = raw["name"]
        type_ref = _checked_name(name) if type(name) is str else None
        if type_ref is None:
            type_ref = _java_name(name, epath + "/name")  # raises, saying why
    else:
        type_ref = _type_ref(raw["type"], epath + "/type", allow_lambda=False)
    condition = _condition(acc, raw, epath, True) if "condition" in raw else None
    if "reasons" in raw:
        _reasons(raw, epath, True)
    flags = [k for k, v in raw.items() if k in LEGACY_TYPE_FLAGS and _flag(v, epath, k)]
    table = acc.reflection if kind is FileKind.REFLECT else acc.jni
    _fill_members(acc, acc.type_entry(table, type_ref, condition), raw, epath, flags, ())
    return (type_ref, condition)


def _legacy_types(kind: FileKind):
    table = "reflection" if kind is FileKind.REFLECT else "jni"

    def entry_keys(acc: Accumulator, raw: Any, epath: str) -> tuple:
        return ((table, add_legacy_type_entry(acc, kind, raw, epath)),)

    def parse_file(acc: Accumulator, data: Any, memo: EntryMemo | None) -> None:
        _each_new_entry(acc, data, "", entry_keys, memo)
    return parse_file


def _each_new_entry(acc: Accumulator, entries: Any, path: str, parse_entry: Callable[[Accumulator, Any, str], tuple],
                    memo: EntryMemo | None) -> None:
    """Parse the array ``entries`` at ``path`` into ``acc``, entry by entry: every entry, or with
    a ``memo`` those it has not seen, telling it what they turned out to be."""
    entries = _list(entries, path)
    if memo is None:
        _each_entry(acc, enumerate(entries), path, parse_entry)
    else:
        memo.learn(path, _each_entry(acc, memo.unseen(path, entries), path, parse_entry))


def _each_entry(acc: Accumulator, items: Iterable[tuple[int, Any]], path: str,
                parse_entry: Callable[[Accumulator, Any, str], tuple]) -> list[tuple[int, tuple]]:
    """(index, entry keys) of each (index, entry) parsed into ``acc``.

    Entries are parsed without their JSON pointer, and a bad one again with it, to say where:
    building a pointer for every entry cost a sixth of parsing them (measured).
    """
    learned = []
    for i, raw in items:
        try:
            learned.append((i, parse_entry(acc, raw, "")))
        except InvalidMetadata:
            parse_entry(Accumulator(), raw, f"{path}/{i}")  # raises the same problem, now at its pointer
            raise
    return learned


def _unified_jni_entry(acc: Accumulator, raw: Any, epath: str) -> tuple:
    return _unified_type_entry(acc, raw, epath, jni=True)


def _unified_type_entry(acc: Accumulator, raw: Any, epath: str, jni: bool = False) -> tuple:
    """Check one ``reflection`` entry (or, with ``jni``, one of the 1.0/1.1 ``jni`` array),
    decoded or decoded to its shape, and add it; returns the keys of the entries it makes."""
    if type(raw) is UnifiedTypeShape:
        return _shaped_unified_entry(acc, raw, epath, jni)
    if type(raw) is not dict or not raw.keys() <= _UNIFIED_TYPE_KEYS:
        _obj(raw, epath, _UNIFIED_TYPE_KEYS)  # raises, saying why
    if "type" not in raw:
        raise _fail(epath, "missing required key 'type'")
    name = raw["type"]
    type_ref = _checked_name(name) if type(name) is str else None
    if type_ref is None:
        type_ref = _type_ref(name, epath + "/type", allow_lambda=True)  # a proxy or lambda, or raises
    condition = _condition(acc, raw, epath, False) if "condition" in raw else None
    if "reason" in raw:
        _reasons(raw, epath, False)
    flags = [k for k, v in raw.items() if k in UNIFIED_TYPE_FLAGS and _flag(v, epath, k)]
    extras = _EXTRAS.intersection(flags) if flags else _NONE
    if not (jni or extras) and type(type_ref) is str:  # the common entry: a class for reflection
        _fill_members(acc, acc.type_entry(acc.reflection, type_ref, condition), raw, epath, flags, ())
        return (("reflection", (type_ref, condition)),)
    keys = []
    if jni:
        # The 1.0/1.1 top-level ``jni`` array: JNI registrations only.
        _fill_members(acc, acc.type_entry(acc.jni, type_ref, condition), raw, epath, flags, extras)
        keys.append(("jni", (type_ref, condition)))
        extras = extras - {"jniAccessible"}
    else:
        # Every entry registers its type for reflection, whatever else it marks it as; a
        # bare proxy type is the exception: it defines the proxy class (the legacy
        # proxy-config entry) and registers nothing for reflection.
        is_proxy = isinstance(type_ref, ProxyType)
        if is_proxy:
            acc.proxies.add(ProxyEntry(type_ref.interfaces, condition))
            keys.append(("proxies", (type_ref.interfaces, condition)))
        if not is_proxy or len(flags) > len(extras) or "methods" in raw or "fields" in raw:
            _fill_members(acc, acc.type_entry(acc.reflection, type_ref, condition), raw, epath, flags, extras)
            keys.append(("reflection", (type_ref, condition)))
    if "jniAccessible" in extras:
        _fill_members(acc, acc.type_entry(acc.jni, type_ref, condition), raw, epath, flags, extras)
        keys.append(("jni", (type_ref, condition)))
    if "serializable" in extras:
        if isinstance(type_ref, ProxyType):  # a serializable proxy, as legacy ``proxies`` says it
            entry = ProxyEntry(type_ref.interfaces, condition)
            acc.serialization_proxies.add(entry)
            keys.append(("serialization_proxies", identity_of(entry)))
        else:
            acc.serialization.add(SerializationEntry(type_ref, condition))
            keys.append(("serialization", (type_ref, condition, None)))
    return tuple(keys)


# -- reflection and JNI entries decoded to their shape (entry_shapes) ------------------------
#
# The decoder checked the shape; what is left is what a shape cannot say. The common entry (a
# class by name, for reflection or JNI alone) is added here; any other, and any that fails a
# check, goes to the parser above as the value it is, which adds it or says what is wrong.


def _shaped_legacy_entry(acc: Accumulator, kind: FileKind, entry: Any, epath: str) -> tuple:
    name, shape = entry.name, entry.condition
    type_ref = _checked_name(name) if name is not UNSET and entry.type is UNSET else None
    if shape is UNSET:
        condition = None
    else:  # exactly one of typeReachable and typeReached
        reachable, reached = shape.typeReachable, shape.typeReached
        condition = _shaped_condition(acc, reached if reachable is UNSET else reachable if reached is UNSET else None)
    methods = _EMPTY if entry.methods is UNSET else _method_set(canonical_text(entry.methods))
    queried = _EMPTY if entry.queriedMethods is UNSET else _method_set(canonical_text(entry.queriedMethods))
    if type_ref is None or condition is _OTHER or methods is None or queried is None:
        return add_legacy_type_entry(acc, kind, _value_of(entry), epath)
    target = acc.type_entry(acc.reflection if kind is FileKind.REFLECT else acc.jni, type_ref, condition)
    _fill_shaped(acc, target, entry, LEGACY_FLAG_FIELDS, methods, queried)
    return (type_ref, condition)


def _shaped_unified_entry(acc: Accumulator, entry: Any, epath: str, jni: bool) -> tuple:
    name, shape = entry.type, entry.condition
    type_ref = _checked_name(name) if type(name) is str else None
    condition = None if shape is UNSET else _shaped_condition(acc, shape.typeReached)
    methods = _EMPTY if entry.methods is UNSET else _method_set(canonical_text(entry.methods))
    if (type_ref is None or condition is _OTHER or methods is None
            or jni or entry.jniAccessible or entry.serializable):
        return _unified_type_entry(acc, _value_of(entry), epath, jni)
    _fill_shaped(acc, acc.type_entry(acc.reflection, type_ref, condition), entry, UNIFIED_FLAG_FIELDS, methods, _EMPTY)
    return (("reflection", (type_ref, condition)),)


_OTHER = object()  # a condition the parser must look at
_astuple = msgspec.structs.astuple
_EMPTY: frozenset = frozenset()


def _shaped_condition(acc: Accumulator, name: Any) -> Condition | object:
    """The condition on the type ``name``; ``_OTHER`` for the parser when ``name`` is no
    well-formed type name (or no string: not exactly one was given)."""
    return acc.condition(name) if type(name) is str and _checked_name(name) is not None else _OTHER


def _fill_shaped(acc: Accumulator, target: Any, entry: Any, flag_fields: tuple[str, ...],
                 methods: frozenset, queried: frozenset) -> None:
    # the flags are a shape's last fields, in flag_fields' order
    flags = list(compress(flag_fields, _astuple(entry)[-len(flag_fields):]))
    if flags:
        target.add_flags(flags)
    if methods:
        target.take_methods(methods)
    if queried:
        target.take_queried(queried)
    if entry.fields is not UNSET:
        known = target.own_fields().setdefault  # the agent's usual field: a name, no access bits
        for f in entry.fields:
            if f.allowWrite or f.allowUnsafeAccess:
                acc.add_field(target, f.name, f.allowWrite, f.allowUnsafeAccess)
            else:
                known(f.name, 0)


def _value_of(entry: Any) -> Any:
    """A shaped entry as the decoded JSON it was (keys in the shape's order)."""
    return msgspec.json.decode(canonical_text(entry))


# -- the other legacy files -----------------------------------------------------------------

def _proxy_entry(acc: Accumulator, raw: Any, epath: str) -> ProxyEntry:
    """A legacy proxy object (proxy-config and serialization-config ``proxies`` alike)."""
    _obj(raw, epath, frozenset({"interfaces", "condition", "reasons"}))
    if "interfaces" not in raw:
        raise _fail(epath, "missing required key 'interfaces'")
    _reasons(raw, epath, True)
    return ProxyEntry(_interfaces(raw["interfaces"], epath + "/interfaces"), _condition(acc, raw, epath, True))


def _parse_proxy(acc: Accumulator, data: Any, memo: EntryMemo | None = None) -> None:
    for i, raw in enumerate(_list(data, "")):
        if type(raw) is list:  # the oldest format: a bare interface list
            acc.proxies.add(ProxyEntry(_interfaces(raw, f"/{i}")))
        else:
            acc.proxies.add(_proxy_entry(acc, raw, f"/{i}"))


_INCLUDE_KEYS = frozenset({"pattern", "condition"})
_LEGACY_BUNDLE_KEYS = frozenset({"name", "module", "locales", "classNames", "condition"})


@lru_cache(maxsize=65536)
def _include_of_regex(regex: str) -> tuple[bool, str, str | None]:
    """(is a glob, glob or regex, module) for a legacy include; the same patterns recur a lot."""
    module, body = split_module(regex)
    glob = glob_of_regex(body)
    return (True, glob, module) if glob is not None else (False, body, module)


def _add_regex_include(acc: Accumulator, regex: str, condition: Condition | None) -> EntryKey:
    is_glob, text, module = _include_of_regex(regex)
    if is_glob:
        acc.resource_globs.add(ResourceGlob(text, module, condition))
        return ("resource_globs", (text, module, condition))
    acc.resource_patterns.add(ResourcePattern(text, module, condition))
    return ("resource_patterns", (text, module, condition))


def _pattern_entry(acc: Accumulator, raw: Any, epath: str) -> tuple[str, Condition | None]:
    """(pattern, condition) of one legacy include or exclude, checked."""
    _obj(raw, epath, _INCLUDE_KEYS)
    if "pattern" not in raw:
        raise _fail(epath, "missing required key 'pattern'")
    return _resource(raw["pattern"], epath + "/pattern"), _condition(acc, raw, epath, True)


def _include_entry(acc: Accumulator, raw: Any, epath: str) -> tuple:
    return (_add_regex_include(acc, *_pattern_entry(acc, raw, epath)),)


def _exclude_entry(acc: Accumulator, raw: Any, epath: str) -> tuple:
    exclude = ResourceExclude(*_pattern_entry(acc, raw, epath))
    acc.resource_excludes.add(exclude)
    return (("resource_excludes", identity_of(exclude)),)


def _parse_resource(acc: Accumulator, data: Any, memo: EntryMemo | None = None) -> None:
    _obj(data, "", frozenset({"resources", "bundles", "globs", "reason", "comment"}))
    _top_level_notes(data)
    resources = data.get("resources", {})
    if type(resources) is list:  # pre-21 format: a bare include list
        parts = {"includes": (resources, "/resources")}
    else:
        _obj(resources, "/resources", frozenset({"includes", "excludes"}))
        parts = {p: (resources[p], f"/resources/{p}") for p in ("includes", "excludes") if p in resources}
    for part, (entries, ppath) in parts.items():
        _each_new_entry(acc, entries, ppath, _include_entry if part == "includes" else _exclude_entry, memo)
    for i, raw in enumerate(_list(data.get("globs", []), "/globs")):
        epath = f"/globs/{i}"
        _obj(raw, epath, frozenset({"glob", "module", "condition"}))
        if "glob" not in raw:
            raise _fail(epath, "missing required key 'glob'")
        module = _module(raw, epath)
        acc.resource_globs.add(ResourceGlob(_resource(raw["glob"], epath + "/glob"), module,
                                            _condition(acc, raw, epath, True)))
    for i, raw in enumerate(_list(data.get("bundles", []), "/bundles")):
        epath = f"/bundles/{i}"
        _obj(raw, epath, _LEGACY_BUNDLE_KEYS)
        if "name" not in raw:
            raise _fail(epath, "missing required key 'name'")
        module = _module(raw, epath)
        acc.add_bundle(
            _str(raw["name"], epath + "/name"), module, _condition(acc, raw, epath, True),
            _strings(raw.get("locales", []), epath + "/locales"),
            _strings(raw.get("classNames", []), epath + "/classNames"),
        )


def _parse_serialization(acc: Accumulator, data: Any, memo: EntryMemo | None = None) -> None:
    if type(data) is list:  # pre-22 format: a bare list of types
        _serialization_types(acc, data, "")
        return
    _obj(data, "", frozenset({"types", "lambdaCapturingTypes", "proxies", "reason", "comment"}))
    _top_level_notes(data)
    _serialization_types(acc, data.get("types", []), "/types")
    for i, raw in enumerate(_list(data.get("lambdaCapturingTypes", []), "/lambdaCapturingTypes")):
        epath = f"/lambdaCapturingTypes/{i}"
        _obj(raw, epath, frozenset({"name", "condition", "reasons"}))
        if "name" not in raw:
            raise _fail(epath, "missing required key 'name'")
        _reasons(raw, epath, True)
        # The agent may record the lambda class itself (``M$$Lambda$123/0x...``); GraalVM cuts
        # the name at ``$$Lambda`` to the capturing class, which is what the entry means.
        name = _str(raw["name"], epath + "/name").split("$$Lambda", 1)[0]
        acc.serialization_lambda_capturing.add(LambdaCapturingType(name, _condition(acc, raw, epath, True)))
    for i, raw in enumerate(_list(data.get("proxies", []), "/proxies")):
        acc.serialization_proxies.add(_proxy_entry(acc, raw, f"/proxies/{i}"))


def _serialization_types(acc: Accumulator, data: Any, path: str, legacy: bool = True) -> None:
    keys = frozenset({"name", "type", "condition", "customTargetConstructorClass", "reasons"}) if legacy \
        else frozenset({"type", "condition", "customTargetConstructorClass", "reason"})
    for i, raw in enumerate(_list(data, path)):
        epath = f"{path}/{i}"
        _obj(raw, epath, keys)
        if legacy:
            if ("name" in raw) == ("type" in raw):
                raise _fail(epath, "needs exactly one of 'name' or 'type'")
            type_ref = (_java_name(raw["name"], epath + "/name") if "name" in raw
                        else _type_ref(raw["type"], epath + "/type", allow_lambda=False))
        else:
            if "type" not in raw:
                raise _fail(epath, "missing required key 'type'")
            type_ref = _type_ref(raw["type"], epath + "/type", allow_lambda=True)
        _reasons(raw, epath, legacy)
        custom = raw.get("customTargetConstructorClass")
        if custom is not None or "customTargetConstructorClass" in raw:
            _str(custom, epath + "/customTargetConstructorClass")
        condition = _condition(acc, raw, epath, legacy)
        if isinstance(type_ref, ProxyType) and custom is None:
            # A serializable proxy is one thing however it is spelled (legacy ``proxies``).
            acc.serialization_proxies.add(ProxyEntry(type_ref.interfaces, condition))
        else:
            acc.serialization.add(SerializationEntry(type_ref, condition, custom))


def _parse_predefined(acc: Accumulator, data: Any, memo: EntryMemo | None = None) -> None:
    for i, raw in enumerate(_list(data, "")):
        epath = f"/{i}"
        _obj(raw, epath, frozenset({"type", "classes"}))
        if "type" in raw and _str(raw["type"], epath + "/type") != "agent-extracted":
            raise _fail(epath + "/type", f"unknown predefined-classes type {_quote(raw['type'])} (only 'agent-extracted')")
        for j, cls in enumerate(_list(raw.get("classes", []), epath + "/classes")):
            cpath = f"{epath}/classes/{j}"
            _obj(cls, cpath, frozenset({"hash", "nameInfo"}))
            if "hash" not in cls:
                raise _fail(cpath, "missing required key 'hash'")
            acc.add_predefined(_str(cls["hash"], cpath + "/hash"),
                               _str(cls["nameInfo"], cpath + "/nameInfo") if "nameInfo" in cls else None)


# -- the unified file -----------------------------------------------------------------------

def _unified_resource_entry(acc: Accumulator, raw: Any, epath: str) -> tuple:
    """Check one ``resources`` entry (a glob or a bundle) and add it; returns its entry key."""
    bundle = type(raw) is dict and "bundle" in raw
    _obj(raw, epath, _UNIFIED_BUNDLE_KEYS if bundle else _UNIFIED_GLOB_KEYS)
    if not bundle and "glob" not in raw:
        raise _fail(epath, "needs 'glob' or 'bundle'")
    module = _module(raw, epath)
    _reasons(raw, epath, False)
    if bundle:
        key = (_str(raw["bundle"], epath + "/bundle"), module, _condition(acc, raw, epath, False))
        acc.add_bundle(*key)
        return (("bundles", key),)
    glob = ResourceGlob(_resource(raw["glob"], epath + "/glob"), module, _condition(acc, raw, epath, False))
    acc.resource_globs.add(glob)
    return (("resource_globs", identity_of(glob)),)


_UNIFIED_BUNDLE_KEYS = frozenset({"bundle", "module", "condition", "reason"})
_UNIFIED_GLOB_KEYS = frozenset({"glob", "module", "condition", "reason"})

_UNIFIED_KEYS = frozenset({"comment", "reason", "reflection", "jni", "serialization", "resources", "bundles", "foreign"})
_FOREIGN_SECTIONS = frozenset({"downcalls", "upcalls", "directUpcalls"})


def _parse_unified(acc: Accumulator, data: Any, memo: EntryMemo | None = None) -> None:
    _obj(data, "", _UNIFIED_KEYS)
    _top_level_notes(data)
    _each_new_entry(acc, data.get("reflection", []), "/reflection", _unified_type_entry, memo)
    _each_new_entry(acc, data.get("jni", []), "/jni", _unified_jni_entry, memo)
    _serialization_types(acc, data.get("serialization", []), "/serialization", legacy=False)
    _each_new_entry(acc, data.get("resources", []), "/resources", _unified_resource_entry, memo)
    for i, raw in enumerate(_list(data.get("bundles", []), "/bundles")):
        epath = f"/bundles/{i}"
        _obj(raw, epath, frozenset({"name", "locales", "condition", "reason"}))
        if "name" not in raw:
            raise _fail(epath, "missing required key 'name'")
        _reasons(raw, epath, False)
        acc.add_bundle(_str(raw["name"], epath + "/name"), None, _condition(acc, raw, epath, False),
                       _strings(raw.get("locales", []), epath + "/locales"))
    if "foreign" in data:
        foreign = _obj(data["foreign"], "/foreign", _FOREIGN_SECTIONS)
        for section, entries in foreign.items():
            for i, raw in enumerate(_list(entries, f"/foreign/{section}")):
                if type(raw) is not dict:
                    raise _fail(f"/foreign/{section}/{i}", f"expected an object, found {_type_name(raw)}")
                deep = too_deep(raw)
                if deep is not None:
                    raise _fail(f"/foreign/{section}/{i}{deep.rstrip('/')}", f"nested more than {MAX_DEPTH} levels deep")
                # FFM registrations are kept verbatim; nothing in Kafka uses them yet.
                acc.foreign.add(ForeignEntry(section, json.dumps(raw, sort_keys=True, separators=(",", ":"))))


_PARSERS = {
    FileKind.REFLECT: _legacy_types(FileKind.REFLECT),
    FileKind.JNI: _legacy_types(FileKind.JNI),
    FileKind.PROXY: _parse_proxy,
    FileKind.RESOURCE: _parse_resource,
    FileKind.SERIALIZATION: _parse_serialization,
    FileKind.PREDEFINED_CLASSES: _parse_predefined,
    FileKind.UNIFIED: _parse_unified,
}
