"""Merging metadata: the semantics of GraalVM's native-image-utils, independent of input order.

Identity of a reflection/JNI entry is (type, condition): different conditions stay separate
(``typeReachable`` and ``typeReached`` on one type name are one condition, as in ``generate``).
Within one identity flags are OR-ed, ``all*`` beats its ``queryAll*`` twin, a method both
invoked and queried ends up invoked, fields are keyed by name with ``allowWrite`` and
``allowUnsafeAccess`` OR-ed. Resources, proxies, serialization entries and predefined classes
are sets; bundles are keyed by (name, module, condition) with locales and class names unioned.

Everything is a set union underneath, which is why the merge is associative, commutative and
idempotent, and why no input order can change the result.

The ``Accumulator`` is also what the parsers fill, so parsing one file and merging a thousand
are one code path. It keeps plain tuples and sets while accumulating (cheap on the hot path)
and builds the frozen model once, at the end.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Callable, Iterable, Mapping

from metadata_pipeline.core.model import (
    ACCESS_FLAGS, Bundle, Condition, Field, ForeignEntry, LambdaCapturingType, Metadata,
    MethodRef, PredefinedClass, ProxyEntry, ResourceExclude, ResourceGlob, ResourcePattern,
    SerializationEntry, TypeEntry, TypeRef, condition_key, in_type_order, type_key,
)

__all__ = ["Accumulator", "merge", "Provenance", "EntryKey", "identity_of", "keys_of"]

_WRITE, _UNSAFE = 1, 2
# (name, parameter types or None) while accumulating; MethodRef once built.
_Method = tuple[str, "tuple[str, ...] | None"]
# (category, identity) names one entry across inputs, e.g. ("reflection", (type, condition)).
EntryKey = tuple[str, tuple]


# Categories kept as plain sets of whole values.
_SET_CATEGORIES = ("resource_globs", "resource_patterns", "resource_excludes", "proxies", "serialization",
                   "serialization_lambda_capturing", "serialization_proxies", "foreign")


class _TypeAcc:
    """Mutable members of one (type, condition) while accumulating.

    A member that no input has given yet is the shared empty value (``_EMPTY``, ``_NO_FIELDS``),
    and becomes a set or dict of its own when one does: most types lack most members, and every
    empty set is an allocation and 216 bytes. So members are added through the methods below.
    """

    __slots__ = ("flags", "methods", "queried", "fields")

    def __init__(self) -> None:
        self.flags: set[str] | frozenset[str] = _EMPTY
        self.methods: set[_Method] | frozenset[_Method] = _EMPTY
        self.queried: set[_Method] | frozenset[_Method] = _EMPTY
        self.fields: dict[str, int] | Mapping[str, int] = _NO_FIELDS

    def add_flags(self, flags: Iterable[str]) -> None:
        self.flags = _taken(self.flags, set(flags))

    def take_methods(self, methods: set[_Method] | frozenset[_Method]) -> None:
        """Add a set of methods that is this type's from now on (not copied): a set of its own,
        or a frozen one, which may be shared."""
        self.methods = _taken(self.methods, methods)

    def take_queried(self, queried: set[_Method] | frozenset[_Method]) -> None:
        self.queried = _taken(self.queried, queried)

    def own_fields(self) -> dict[str, int]:
        """The fields, as a dict of this type's own to add to."""
        if type(self.fields) is not dict:
            self.fields = {}
        return self.fields

    def absorb(self, other: "_TypeAcc") -> None:
        """Add ``other``'s members; ``other`` is given up (its sets may become this type's)."""
        if other.flags:
            self.flags = _taken(self.flags, other.flags)
        if other.methods:
            self.methods = _taken(self.methods, other.methods)
        if other.queried:
            self.queried = _taken(self.queried, other.queried)
        if other.fields:
            mine = self.own_fields()
            for name, bits in other.fields.items():
                mine[name] = mine.get(name, 0) | bits

    def build(self, type_ref: TypeRef, condition: Condition | None, values: "_Values") -> TypeEntry:
        flags = self.flags
        if flags and not flags.isdisjoint(_QUERY_FLAGS):  # no set built for the common, query-free type
            flags = flags - {query for access, query in ACCESS_FLAGS.items() if query and access in flags}
        return TypeEntry(
            type_ref, condition, frozenset(flags) if flags else _EMPTY,
            values.methods_of(self.methods) if self.methods else _EMPTY,
            values.methods_of(self.queried - self.methods) if self.queried else _EMPTY,
            values.fields_of(self.fields) if self.fields else _EMPTY,
        )


def _taken(mine: set | frozenset, given: set | frozenset) -> set | frozenset:
    """``mine`` with ``given`` added: ``given`` itself when ``mine`` is still the shared empty value.
    (A frozen ``mine`` is replaced by the union, never changed in place.)"""
    if not mine:
        return given
    if given is not mine:  # one frozen set shared by both (a method list's): nothing to add
        mine |= given
    return mine


_EMPTY: frozenset = frozenset()
_NO_FIELDS: Mapping[str, int] = MappingProxyType({})
_QUERY_FLAGS = frozenset(q for q in ACCESS_FLAGS.values() if q)


class _MethodRefs(dict):
    """(name, parameter types) -> its MethodRef, made on first use (a hit stays in C)."""

    def __missing__(self, key: _Method) -> MethodRef:
        ref = self[key] = MethodRef(*key)
        return ref


class _Fields(dict):
    """(name, access bits) -> its Field, made on first use."""

    def __missing__(self, key: tuple[str, int]) -> Field:
        name, bits = key
        ref = self[key] = Field(name, bool(bits & _WRITE), bool(bits & _UNSAFE))
        return ref


class _Values:
    """One shared value per distinct member, and per distinct member set: types repeat both
    (``<init>()`` alone, the same fields), and a set found again is not hashed member by member."""

    def __init__(self) -> None:
        self.methods = _MethodRefs()
        self.fields = _Fields()
        self._method_sets: dict[frozenset, frozenset[MethodRef]] = {}
        self._field_sets: dict[frozenset, frozenset[Field]] = {}

    def methods_of(self, methods: set[_Method]) -> frozenset[MethodRef]:
        # frozenset() copies the set's stored hashes: no member is hashed again
        return _shared(self._method_sets, frozenset(methods), self.methods.__getitem__)

    def fields_of(self, fields: Mapping[str, int]) -> frozenset[Field]:
        return _shared(self._field_sets, frozenset(fields.items()), self.fields.__getitem__)


def _shared(built: dict, key: frozenset, value_of: Callable) -> frozenset:
    """The one frozen set of values for the member set ``key``, made the first time it is asked for."""
    values = built.get(key)
    if values is None:
        values = built[key] = frozenset(map(value_of, key))
    return values


@dataclass(frozen=True)
class Provenance:
    """Which inputs contributed each entry; kept apart from the metadata it describes."""

    sources: dict[EntryKey, tuple[str, ...]] = field(default_factory=dict)

    def of(self, category: str, identity: tuple) -> tuple[str, ...]:
        return self.sources.get((category, identity), ())


class Accumulator:
    """Collects entries from any number of inputs; ``build()`` gives the merged ``Metadata``."""

    def __init__(self, source: str | None = None) -> None:
        self.source = source
        self.reflection: dict[tuple[TypeRef, Condition | None], _TypeAcc] = {}
        self.jni: dict[tuple[TypeRef, Condition | None], _TypeAcc] = {}
        self.resource_globs: set[ResourceGlob] = set()
        self.resource_patterns: set[ResourcePattern] = set()
        self.resource_excludes: set[ResourceExclude] = set()
        self.bundles: dict[tuple[str, str | None, Condition | None], tuple[set[str], set[str]]] = {}
        self.proxies: set[ProxyEntry] = set()
        self.serialization: set[SerializationEntry] = set()
        self.serialization_lambda_capturing: set[LambdaCapturingType] = set()
        self.serialization_proxies: set[ProxyEntry] = set()
        self.predefined_classes: dict[str, set[str | None]] = {}
        self.foreign: set[ForeignEntry] = set()
        self._sources: defaultdict[EntryKey, set[str]] | None = None
        self._conditions: dict[str, Condition] = {}

    # -- filling ---------------------------------------------------------------------------

    def condition(self, type_name: str) -> Condition:
        """One shared ``Condition`` value per distinct condition (inputs repeat them a lot)."""
        cond = self._conditions.get(type_name)
        if cond is None:
            cond = self._conditions[type_name] = Condition(type_name)
        return cond

    def type_entry(self, table: dict, type_ref: TypeRef, condition: Condition | None) -> _TypeAcc:
        key = (type_ref, condition)
        acc = table.get(key)
        if acc is None:
            acc = table[key] = _TypeAcc()
        return acc

    def add_field(self, acc: _TypeAcc, name: str, write: bool, unsafe: bool) -> None:
        fields = acc.own_fields()
        fields[name] = fields.get(name, 0) | (_WRITE if write else 0) | (_UNSAFE if unsafe else 0)

    def add_bundle(self, name: str, module: str | None, condition: Condition | None,
                   locales: Iterable[str] = (), class_names: Iterable[str] = ()) -> None:
        key = (name, module, condition)
        sets = self.bundles.get(key)
        if sets is None:
            sets = self.bundles[key] = (set(), set())
        sets[0].update(locales)
        sets[1].update(class_names)

    def add_predefined(self, hash_: str, name_info: str | None) -> None:
        self.predefined_classes.setdefault(hash_, set()).add(name_info)

    def add_metadata(self, metadata: Metadata,
                     condition_map: Callable[[Condition | None], Condition | None] | None = None) -> None:
        """Fold an already-built value in (used to merge values, e.g. committed configs).

        ``condition_map`` rewrites every entry's condition on the way (format conversion).
        """
        cm = condition_map or (lambda c: c)
        for table, entries in ((self.reflection, metadata.reflection), (self.jni, metadata.jni)):
            for entry in entries:
                acc = self.type_entry(table, entry.type, cm(entry.condition))
                if entry.flags:
                    acc.add_flags(entry.flags)
                if entry.methods:
                    acc.take_methods({(m.name, m.parameter_types) for m in entry.methods})
                if entry.queried_methods:
                    acc.take_queried({(m.name, m.parameter_types) for m in entry.queried_methods})
                for f in entry.fields:
                    self.add_field(acc, f.name, f.allow_write, f.allow_unsafe_access)
        for name in _SET_CATEGORIES:
            target = getattr(self, name)
            if condition_map is None or name == "foreign":
                target.update(getattr(metadata, name))
            else:
                target.update(replace(e, condition=cm(e.condition)) for e in getattr(metadata, name))
        for b in metadata.bundles:
            self.add_bundle(b.name, b.module, cm(b.condition), b.locales, b.class_names)
        for p in metadata.predefined_classes:
            self.add_predefined(p.hash, p.name_info)

    # -- merging accumulators ----------------------------------------------------------------

    def absorb(self, other: "Accumulator", source: str | None = None) -> None:
        """Merge another accumulator (typically one whole input file) into this one.

        Parsing fills a fresh accumulator per file, so a file that turns out invalid halfway
        can be dropped whole; absorbing moves its entries here cheaply.
        """
        for name in ("reflection", "jni"):
            mine, theirs = getattr(self, name), getattr(other, name)
            for key, acc in theirs.items():
                existing = mine.get(key)
                if existing is None:
                    mine[key] = acc
                else:
                    existing.absorb(acc)
        for name in _SET_CATEGORIES:
            getattr(self, name).update(getattr(other, name))
        for key, (locales, class_names) in other.bundles.items():
            self.add_bundle(*key, locales, class_names)
        for hash_, infos in other.predefined_classes.items():
            self.predefined_classes.setdefault(hash_, set()).update(infos)
        label = source or other.source
        if self._sources is not None:
            if label is not None:
                for key in other.entry_keys():
                    self._sources[key].add(label)
            if other._sources is not None:
                for key, labels in other._sources.items():
                    self._sources[key].update(labels)

    def add_sources(self, keys: Iterable[EntryKey], label: str) -> None:
        """Record that ``label`` contributed the entries ``keys`` (already present here)."""
        if self._sources is not None:
            for key in keys:
                self._sources[key].add(label)

    def track_provenance(self) -> "Accumulator":
        self._sources = defaultdict(set)
        return self

    def entry_keys(self) -> Iterable[EntryKey]:
        for key in self.reflection:
            yield ("reflection", key)
        for key in self.jni:
            yield ("jni", key)
        for name in _SET_CATEGORIES:
            for value in getattr(self, name):
                yield (name, identity_of(value))
        for key in self.bundles:
            yield ("bundles", key)
        for hash_ in self.predefined_classes:
            yield ("predefined_classes", (hash_,))

    # -- building ----------------------------------------------------------------------------

    def build(self) -> Metadata:
        values = _Values()

        def types(table: dict) -> tuple[TypeEntry, ...]:
            return tuple(table[k].build(*k, values) for k in in_type_order(table))

        bundles = tuple(
            Bundle(name, module, cond, frozenset(locales), frozenset(class_names))
            for (name, module, cond), (locales, class_names) in sorted(
                self.bundles.items(), key=lambda kv: (kv[0][0], kv[0][1] or "", condition_key(kv[0][2])))
        )
        predefined = tuple(
            # Two names for one hash cannot both be right; keep one, the same one whatever the order.
            PredefinedClass(h, min(infos, key=lambda i: (i is None, i or "")))
            for h, infos in sorted(self.predefined_classes.items())
        )
        return Metadata(
            reflection=types(self.reflection),
            jni=types(self.jni),
            resource_globs=_sorted(self.resource_globs),
            resource_patterns=_sorted(self.resource_patterns),
            resource_excludes=_sorted(self.resource_excludes),
            bundles=bundles,
            proxies=_sorted(self.proxies),
            serialization=_sorted(self.serialization),
            serialization_lambda_capturing=_sorted(self.serialization_lambda_capturing),
            serialization_proxies=_sorted(self.serialization_proxies),
            predefined_classes=predefined,
            foreign=_sorted(self.foreign),
        )

    def provenance(self) -> Provenance:
        if self._sources is None:
            return Provenance()
        return Provenance({key: tuple(sorted(labels)) for key, labels in self._sources.items()})


def identity_of(value: object) -> tuple:
    """Identity of a set-kept entry: all of its fields (they are whole values)."""
    if isinstance(value, ResourceGlob):
        return (value.glob, value.module, value.condition)
    if isinstance(value, ResourcePattern):
        return (value.pattern, value.module, value.condition)
    if isinstance(value, ResourceExclude):
        return (value.pattern, value.condition)
    if isinstance(value, ProxyEntry):
        return (value.interfaces, value.condition)
    if isinstance(value, SerializationEntry):
        return (value.type, value.condition, value.custom_target_constructor_class)
    if isinstance(value, LambdaCapturingType):
        return (value.name, value.condition)
    if isinstance(value, ForeignEntry):
        return (value.section, value.canonical_json)
    raise TypeError(value)


def _part_key(part: object) -> tuple:
    """A total order over the parts identities are made of (None, names, conditions, types)."""
    if part is None:
        return (0,)
    if isinstance(part, Condition):
        return (1, condition_key(part))
    if isinstance(part, str):
        return (2, part)
    if isinstance(part, tuple):
        return (3, part)
    return (4, type_key(part))  # ProxyType / LambdaType


def _sort_key(value: object) -> tuple:
    return tuple(_part_key(part) for part in identity_of(value))


def _sorted(values: set) -> tuple:
    return tuple(sorted(values, key=_sort_key))


def keys_of(m: Metadata) -> Iterable[EntryKey]:
    """The (category, identity) of every entry of a built value (as provenance keys them)."""
    for e in m.reflection:
        yield ("reflection", e.identity)
    for e in m.jni:
        yield ("jni", e.identity)
    for name in _SET_CATEGORIES:
        for value in getattr(m, name):
            yield (name, identity_of(value))
    for b in m.bundles:
        yield ("bundles", b.identity)
    for p in m.predefined_classes:
        yield ("predefined_classes", (p.hash,))


def merge(*inputs: Metadata) -> Metadata:
    """The union of metadata values (associative, commutative, idempotent)."""
    acc = Accumulator()
    for metadata in inputs:
        acc.add_metadata(metadata)
    return acc.build()
