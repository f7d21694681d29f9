"""Reachability metadata as immutable values.

Vocabulary follows GraalVM's: a *type* registered for *reflection* (or JNI, or
serialization) under an optional *condition*; *resources* as globs or legacy regex
patterns; resource *bundles*; *proxy* interface lists; *predefined classes* by hash.

A ``Metadata`` value is always normalised (the merge builds it): every collection is a
tuple sorted by the entry's identity, no identity appears twice, accessed members are
never also listed as queried, and an ``all*`` flag removes its ``queryAll*`` twin. So two
values are equal exactly when they mean the same metadata, and serialising one is a
plain walk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, Callable, Iterable, TypeVar, Union

__all__ = [
    "Condition", "ProxyType", "LambdaType", "TypeRef", "MethodRef", "Field", "TypeEntry",
    "ResourceGlob", "ResourcePattern", "ResourceExclude", "Bundle", "ProxyEntry",
    "SerializationEntry", "LambdaCapturingType", "PredefinedClass", "ForeignEntry",
    "Metadata", "CATEGORIES", "ACCESS_FLAGS", "QUERY_FLAGS", "UNIFIED_FLAGS", "type_key",
    "condition_key", "type_label", "sorted_by_name", "in_type_order",
]


@dataclass(frozen=True, slots=True)
class Condition:
    """A condition on a type: unified ``typeReached``, legacy ``typeReachable``.

    One identity, as in GraalVM's ``generate``: it reads legacy ``typeReachable`` as
    ``typeReached`` (``ConfigurationFileCollection``), so both kinds of one type name merge.
    The writers spell it the way each format's parser accepts: ``typeReached`` in
    ``reachability-metadata.json``, ``typeReachable`` in the legacy files (GraalVM's legacy
    parsers reject ``typeReached`` there; its own writer prints ``typeReachable``).
    """

    type_name: str


@dataclass(frozen=True, slots=True)
class ProxyType:
    """A dynamic proxy class, named by its ordered interface list (order matters)."""

    interfaces: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MethodRef:
    """A method by name and parameter types; ``None`` parameters mean every overload."""

    name: str
    parameter_types: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class LambdaType:
    """A lambda class (unified format only), named by where it is defined and what it implements."""

    declaring_class: str
    interfaces: tuple[str, ...]
    declaring_method: MethodRef | None = None


TypeRef = Union[str, ProxyType, LambdaType]


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    allow_write: bool = False
    allow_unsafe_access: bool = False


# ``all*`` flag -> the ``queryAll*`` flag it makes redundant ("accessed beats queried").
ACCESS_FLAGS: dict[str, str | None] = {
    "allDeclaredMethods": "queryAllDeclaredMethods",
    "allPublicMethods": "queryAllPublicMethods",
    "allDeclaredConstructors": "queryAllDeclaredConstructors",
    "allPublicConstructors": "queryAllPublicConstructors",
    "allDeclaredFields": None,
    "allPublicFields": None,
    "allDeclaredClasses": None,
    "allPublicClasses": None,
    "allRecordComponents": None,
    "allPermittedSubclasses": None,
    "allNestMembers": None,
    "allSigners": None,
    "unsafeAllocated": None,
}
QUERY_FLAGS = frozenset(q for q in ACCESS_FLAGS.values() if q)
# Flags the unified format (reachability-metadata.json) can carry on a reflection entry.
UNIFIED_FLAGS = frozenset({
    "allDeclaredMethods", "allPublicMethods", "allDeclaredConstructors", "allPublicConstructors",
    "allDeclaredFields", "allPublicFields", "unsafeAllocated",
})


@dataclass(frozen=True, slots=True)
class TypeEntry:
    """One type registered for reflection (or JNI) under one condition."""

    type: TypeRef
    condition: Condition | None = None
    flags: frozenset[str] = frozenset()
    methods: frozenset[MethodRef] = frozenset()
    queried_methods: frozenset[MethodRef] = frozenset()
    fields: frozenset[Field] = frozenset()

    @property
    def identity(self) -> tuple[TypeRef, Condition | None]:
        return (self.type, self.condition)


@dataclass(frozen=True, slots=True)
class ResourceGlob:
    """A resource by glob (``*`` one level, ``**`` any depth), optionally inside a module."""

    glob: str
    module: str | None = None
    condition: Condition | None = None


@dataclass(frozen=True, slots=True)
class ResourcePattern:
    """A legacy regex include that is not a plain literal (those become globs)."""

    pattern: str
    module: str | None = None
    condition: Condition | None = None


@dataclass(frozen=True, slots=True)
class ResourceExclude:
    """A legacy regex exclude (the unified format has none)."""

    pattern: str
    condition: Condition | None = None


@dataclass(frozen=True, slots=True)
class Bundle:
    name: str
    module: str | None = None
    condition: Condition | None = None
    locales: frozenset[str] = frozenset()
    class_names: frozenset[str] = frozenset()

    @property
    def identity(self) -> tuple[str, str | None, Condition | None]:
        return (self.name, self.module, self.condition)


@dataclass(frozen=True, slots=True)
class ProxyEntry:
    """A proxy class definition (legacy proxy-config, or a bare proxy type in unified)."""

    interfaces: tuple[str, ...]
    condition: Condition | None = None


@dataclass(frozen=True, slots=True)
class SerializationEntry:
    type: TypeRef
    condition: Condition | None = None
    custom_target_constructor_class: str | None = None


@dataclass(frozen=True, slots=True)
class LambdaCapturingType:
    """A class whose serializable lambdas must work (legacy serialization-config)."""

    name: str
    condition: Condition | None = None


@dataclass(frozen=True, slots=True)
class PredefinedClass:
    """A class defined at run time from bytes, known by the hash of those bytes."""

    hash: str
    name_info: str | None = None
    type: str = "agent-extracted"


@dataclass(frozen=True, slots=True)
class ForeignEntry:
    """A ``foreign`` (FFM API) registration, kept verbatim: ``section`` + canonical JSON."""

    section: str
    canonical_json: str


@dataclass(frozen=True, slots=True)
class Metadata:
    reflection: tuple[TypeEntry, ...] = ()
    jni: tuple[TypeEntry, ...] = ()
    resource_globs: tuple[ResourceGlob, ...] = ()
    resource_patterns: tuple[ResourcePattern, ...] = ()
    resource_excludes: tuple[ResourceExclude, ...] = ()
    bundles: tuple[Bundle, ...] = ()
    proxies: tuple[ProxyEntry, ...] = ()
    serialization: tuple[SerializationEntry, ...] = ()
    serialization_lambda_capturing: tuple[LambdaCapturingType, ...] = ()
    serialization_proxies: tuple[ProxyEntry, ...] = ()
    predefined_classes: tuple[PredefinedClass, ...] = ()
    foreign: tuple[ForeignEntry, ...] = field(default=())

    def is_empty(self) -> bool:
        return not any(getattr(self, name) for name in CATEGORIES)

    def counts(self) -> dict[str, int]:
        return {name: len(getattr(self, name)) for name in CATEGORIES}


CATEGORIES: tuple[str, ...] = (
    "reflection", "jni", "resource_globs", "resource_patterns", "resource_excludes", "bundles",
    "proxies", "serialization", "serialization_lambda_capturing", "serialization_proxies",
    "predefined_classes", "foreign",
)


def condition_key(condition: Condition | None) -> tuple:
    """Sort key: unconditional first, then by type name."""
    if condition is None:
        return ()
    return (condition.type_name,)


_T = TypeVar("_T")


def sorted_by_name(items: Iterable[_T], name: Callable[[_T], Any], key: Callable[[_T], Any]) -> list[_T]:
    """``items`` sorted by ``key``, an order that puts the items named by a string first, by name.

    When those names are distinct (the usual table: class names, each under one condition) they
    alone decide, compared in C: a tenth of the cost of building a key per item in Python
    (measured on 28 k types). The few others (proxies, lambdas) follow, sorted by ``key``; and
    a name given twice sends everything to ``key``.
    """
    items = list(items)
    names = list(map(name, items))
    named, rest = list(zip(names, items)), []
    if not set(map(type, names)) <= {str}:
        named, rest = [p for p in named if type(p[0]) is str], [item for n, item in named if type(n) is not str]
    if len(set(map(_FIRST, named))) < len(named):
        return sorted(items, key=key)
    return list(map(_SECOND, sorted(named, key=_FIRST))) + sorted(rest, key=key)


_FIRST, _SECOND = itemgetter(0), itemgetter(1)


def in_type_order(identities: Iterable[tuple[TypeRef, Condition | None]]) -> list[tuple[TypeRef, Condition | None]]:
    """(type, condition) identities in the model's order: by type (``type_key``), then condition."""
    return sorted_by_name(identities, _FIRST, _identity_key)


def _identity_key(identity: tuple[TypeRef, Condition | None]) -> tuple:
    return (type_key(identity[0]), condition_key(identity[1]))


def type_key(type_ref: TypeRef) -> tuple:
    """Sort key for types: classes and arrays by name, then proxies, then lambdas."""
    if isinstance(type_ref, str):
        return (0, type_ref)
    if isinstance(type_ref, ProxyType):
        return (1, type_ref.interfaces)
    method = type_ref.declaring_method
    return (2, type_ref.declaring_class, type_ref.interfaces,
            () if method is None else (method.name, method.parameter_types or ()))


def type_label(type_ref: TypeRef) -> str:
    """How a person reads a type: ``java.lang.String[]``, ``proxy(a.I, b.J)``, ``lambda in C``."""
    if isinstance(type_ref, str):
        return type_ref
    if isinstance(type_ref, ProxyType):
        return f"proxy({', '.join(type_ref.interfaces)})"
    return f"lambda in {type_ref.declaring_class} implementing {', '.join(type_ref.interfaces)}"
