"""Which tests give which metadata, and the cheapest set of tests that gives it all (pure).

*Items* are the atoms the semantic diff compares (``core/diff.py``): a reflection or JNI type
under its condition, and each flag, method, queried method, field and field access flag of
it; each resource glob, pattern and exclude; each bundle and each of its locales and class
names; each proxy interface list; each serialization entry; each predefined class. A test
covers an item when some process of that test wrote it.

The universe is the items of the merge of every test (so what one test wrote only as a
queried method that another test invokes is not an item: the merge keeps the invoked one).
Whatever set of tests covers the universe merges to exactly the merge of all tests
(``tests/test_coverage_properties.py``).

The selection is greedy weighted set cover (cost = run time): repeatedly the test with the
least run time per item not yet covered, evaluated lazily (a test's gain only falls as the
cover grows, so a stale priority is a lower bound and only the top needs refreshing). Tests
that are the only source of some item are in every cover: they are taken first, and the sum
of their run times is a lower bound on the cheapest cover. The greedy cover costs at most
H(k) = 1 + 1/2 + ... + 1/k <= ln k + 1 times the cheapest one, k being the most items one
test covers (Chvátal 1979; taking the forced tests first keeps that: they are in the optimum
too, and greedy is within H(k) on what is left), which is a second lower bound.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from typing import Iterable, Iterator, Sequence

from metadata_pipeline.core.diff import method_label
from metadata_pipeline.core.labels import CATEGORY_LABELS, condition_label, entry_label
from metadata_pipeline.core.merge import identity_of
from metadata_pipeline.core.errors import InvalidMetadata
from metadata_pipeline.core.model import ACCESS_FLAGS, CATEGORIES, Metadata, type_label
from metadata_pipeline.core.names import source_name
from metadata_pipeline.core.resources import glob_matches, glob_of_regex, split_module

__all__ = [
    "Item", "items_of", "dominating", "item_label", "ItemIndex", "TestItems", "TestCoverage", "CurvePoint", "Selection",
    "CoverageReport", "analyse", "harmonic", "report_json", "Query", "parse_query", "FORMAT_VERSION",
]

FORMAT_VERSION = 1

# (category, identity, part): part None is the entry itself, else (kind, value) for one of
# its members: ("flag", name), ("method", MethodRef), ("queried", MethodRef), ("field", name),
# ("allowWrite", name), ("allowUnsafeAccess", name), ("locale", tag), ("class", name).
Item = tuple

_QUERY_TWIN = {query: access for access, query in ACCESS_FLAGS.items() if query}
_TYPE_CATEGORIES = ("reflection", "jni")
_SET_CATEGORIES = tuple(c for c in CATEGORIES if c not in (*_TYPE_CATEGORIES, "bundles", "predefined_classes"))


def items_of(m: Metadata) -> Iterator[Item]:
    """Every item of a metadata value."""
    for category in _TYPE_CATEGORIES:
        for e in getattr(m, category):
            identity = e.identity
            yield (category, identity, None)
            for flag in e.flags:
                yield (category, identity, ("flag", flag))
            for method in e.methods:
                yield (category, identity, ("method", method))
            for method in e.queried_methods:
                yield (category, identity, ("queried", method))
            for f in e.fields:
                yield (category, identity, ("field", f.name))
                if f.allow_write:
                    yield (category, identity, ("allowWrite", f.name))
                if f.allow_unsafe_access:
                    yield (category, identity, ("allowUnsafeAccess", f.name))
    for category in _SET_CATEGORIES:
        for value in getattr(m, category):
            yield (category, identity_of(value), None)
    for b in m.bundles:
        identity = b.identity
        yield ("bundles", identity, None)
        for locale in b.locales:
            yield ("bundles", identity, ("locale", locale))
        for name in b.class_names:
            yield ("bundles", identity, ("class", name))
    for p in m.predefined_classes:
        yield ("predefined_classes", (p.hash,), None)


def dominating(item: Item) -> Item | None:
    """The item that makes ``item`` vanish from a merge holding both, if any.

    A method both invoked and queried ends up invoked; ``allDeclaredMethods`` removes
    ``queryAllDeclaredMethods`` (and likewise for the other ``all*``/``queryAll*`` twins).
    """
    part = item[2]
    if part is None:
        return None
    kind, value = part
    if kind == "queried":
        return (item[0], item[1], ("method", value))
    if kind == "flag" and value in _QUERY_TWIN:
        return (item[0], item[1], ("flag", _QUERY_TWIN[value]))
    return None


def item_label(item: Item) -> str:
    """``reflection: a.B#get(int)``, ``reflection: a.B +allDeclaredFields``, ``resource: x.properties``.

    Members are written ``Type#member``, the form ``why`` takes.
    """
    category, identity, part = item
    kind = CATEGORY_LABELS.get(category, category)
    if part is None:
        return f"{kind}: {entry_label(category, identity)}"
    what, value = part
    if category == "bundles":
        return f"{kind}: {entry_label(category, identity)} {what} {value}"
    type_ref, condition = identity
    head = type_label(type_ref)
    if what == "flag":
        member = f" +{value}"
    elif what in ("method", "queried"):
        member = f"#{method_label(value)}" + (" (queried)" if what == "queried" else "")
    elif what == "field":
        member = f"#{value} (field)"
    else:
        member = f"#{value} (field, {what})"
    return f"{kind}: {head}{member}{condition_label(condition)}"


def harmonic(k: int) -> float:
    """H(k) = 1 + 1/2 + ... + 1/k (0 for k = 0)."""
    if k > 10_000:  # asymptotic expansion; exact to far below display precision
        return math.log(k) + 0.5772156649015329 + 1 / (2 * k) - 1 / (12 * k * k)
    return math.fsum(1 / i for i in range(1, k + 1))


# -- naming an item (why) -------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Query:
    """What ``why ITEM`` asks about: a type (either spelling), ``Type#member(params)``, a resource.

    ``member`` without parentheses names a field, a flag or every overload of a method;
    ``(*)`` is the legacy "every overload" entry itself.
    """

    text: str
    type_name: str | None = None                  # source spelling
    member: str | None = None
    params: tuple[str, ...] | None | bool = False  # False: not given; None: (*)
    resource: str | None = None                   # the text as a glob (a legacy regex converted)

    def exact(self, item: Item) -> bool:
        category, identity, part = item
        if self.type_name is not None:
            if category in _TYPE_CATEGORIES:
                if identity[0] != self.type_name:
                    return False
                if self.member is None:
                    return part is None
                if part is None:
                    return False
                kind, value = part
                if kind in ("method", "queried"):
                    return value.name == self.member and (self.params is False or value.parameter_types == self.params)
                return self.params is False and value == self.member and kind in ("flag", "field", "allowWrite",
                                                                                  "allowUnsafeAccess")
            if self.member is None and part is None:
                if category == "serialization":
                    return identity[0] == self.type_name
                if category == "serialization_lambda_capturing":
                    return identity[0] == self.type_name
        if self.resource is not None and part is None:
            if category in ("resource_globs", "resource_patterns", "bundles"):
                return identity[0] in (self.text, self.resource)
            if category == "resource_excludes":
                return identity[0] == self.text
        return False

    def by_path(self, item: Item) -> bool:
        """A resource glob that matches the text taken as a path (used when nothing is exact)."""
        category, identity, part = item
        return (self.resource is not None and part is None and category == "resource_globs"
                and glob_matches(identity[0], self.text))


def parse_query(text: str) -> Query:
    """``[B``, ``byte[]``, ``a.B#get(int, [B)``, ``a.B#name``, ``kafka/x.properties``, ``\\Qa/b\\E``."""
    text = text.strip()
    if not text:
        raise InvalidMetadata("an empty item")
    type_part, hash_sign, member = text.partition("#")
    if not hash_sign:  # a type or a resource: both are looked for
        try:
            type_name: str | None = source_name(text)
        except InvalidMetadata:
            type_name = None
        _, regex = split_module(text)
        return Query(text, type_name=type_name, resource=glob_of_regex(regex) or text)
    try:
        type_name = source_name(type_part.strip())
        member = member.strip()
        params: tuple[str, ...] | None | bool = False
        if member.endswith(")") and "(" in member:
            member, _, inside = member[:-1].partition("(")
            member = member.strip()
            inside = inside.strip()
            params = None if inside == "*" else tuple(source_name(p.strip()) for p in inside.split(",") if p.strip())
    except InvalidMetadata as exc:
        raise InvalidMetadata(f"{text!r}: {exc.problem}") from None
    if not member or not type_name:
        raise InvalidMetadata(f"{text!r}: expected Type#member or Type#method(params)")
    return Query(text, type_name=type_name, member=member, params=params)


# -- the computation ------------------------------------------------------------------------------

class ItemIndex(dict):
    """Items as small ints, each numbered once: set operations on ints cost far less than on
    items (whose parts are dataclasses that hash in Python), so readers intern as they read.
    """

    def __init__(self) -> None:
        super().__init__()
        self.items: list[Item] = []
        self._get = self.__getitem__

    def __missing__(self, item: Item) -> int:
        number = self[item] = len(self.items)
        self.items.append(item)
        return number

    def ids(self, items: Iterable[Item]) -> frozenset[int]:
        return frozenset(map(self._get, items))


@dataclass(frozen=True, slots=True)
class TestItems:
    """What the computation needs of one test: its items, run time and status."""

    __test__ = False  # not a pytest test class

    test_id: str
    seconds: float | None  # None: unknown (ducktape never timed it)
    status: str
    items: frozenset[int]  # ItemIndex numbers, every process of the test together


@dataclass(frozen=True, slots=True)
class TestCoverage:
    __test__ = False

    test_id: str
    seconds: float | None
    status: str
    items: int         # items of the universe this test covers
    unique_items: int  # of those, items no other test covers
    rank: int | None   # position in the greedy order (1 = first), None when never picked


@dataclass(frozen=True, slots=True)
class CurvePoint:
    test_id: str
    seconds: float        # cumulative run time after this test
    items_covered: int    # cumulative
    fraction: float       # items_covered / items_total


@dataclass(frozen=True, slots=True)
class Selection:
    target: float                 # percent of items asked for
    tests: tuple[str, ...]        # in greedy order
    items_covered: int
    items_total: int
    seconds: float
    full_seconds: float           # every test with items or not: the run the selection replaces
    lower_bound_seconds: float    # no selection reaching the target can take less
    essential: tuple[str, ...]    # tests in every selection reaching the target
    essential_seconds: float      # their run time: one lower bound
    factor: float | None          # greedy <= factor x optimum (H(k)), at target 100
    estimated: tuple[str, ...]    # tests whose unknown run time was taken as the mean of the known


@dataclass(frozen=True, slots=True)
class CoverageReport:
    tests: tuple[TestCoverage, ...]  # by test id
    selection: Selection
    curve: tuple[CurvePoint, ...]    # the whole greedy order, to 100%; the selection is a prefix


def _required(target: float, total: int) -> int:
    # A tiny epsilon keeps e.g. 29% of 100 items at 29, not 30, despite float rounding.
    return min(total, math.ceil(target / 100 * total - 1e-9))


def analyse(tests: Sequence[TestItems], index: ItemIndex, target: float = 100.0) -> CoverageReport:
    """Per-test coverage, the greedy selection reaching ``target`` percent, and its curve."""
    if not 0 < target <= 100:
        raise ValueError(f"target {target!r}: a percentage in (0, 100]")
    if len({t.test_id for t in tests}) != len(tests):
        raise ValueError("test ids must be unique")
    present = frozenset().union(*(t.items for t in tests))
    items = index.items
    # What a merge of everything drops (a queried method another test invokes) is no item.
    dominated = {i for i in present if (d := dominating(items[i])) is not None and index.get(d) in present}
    sets = [t.items - dominated for t in tests] if dominated else [t.items for t in tests]
    total = len(present) - len(dominated)
    once: set[int] = set()
    twice: set[int] = set()
    for s in sets:  # set operations in C: far cheaper than counting item by item
        twice |= once & s
        once |= s
    singles = once - twice
    unique = [len(s & singles) for s in sets]

    known = [t.seconds for t in tests if t.seconds is not None]
    mean = math.fsum(known) / len(known) if known else 1.0
    cost = [t.seconds if t.seconds is not None else mean for t in tests]
    estimated = tuple(sorted(t.test_id for t in tests if t.seconds is None))

    required = _required(target, total)
    # A test that alone holds more items than the target may leave out is in every selection:
    # taken first, it keeps greedy from paying for items it brings anyway.
    slack = total - required
    essential = sorted((i for i in range(len(tests)) if unique[i] > slack), key=lambda i: tests[i].test_id)
    order = _greedy(sets, cost, [t.test_id for t in tests], total, essential)
    curve: list[CurvePoint] = []
    covered: set[int] = set()
    spent = 0.0
    for i in order:
        covered |= sets[i]
        spent += cost[i]
        curve.append(CurvePoint(tests[i].test_id, spent, len(covered), len(covered) / total if total else 1.0))

    picked = next((n for n, p in enumerate(curve, 1) if p.items_covered >= required), 0)
    chosen = curve[:picked]
    bound = math.fsum(cost[i] for i in essential)
    seconds = chosen[-1].seconds if chosen else 0.0
    factor = None
    if target == 100:
        factor = harmonic(max((len(s) for s in sets), default=0))
        if factor:
            bound = max(bound, seconds / factor)
    rank = {i: n for n, i in enumerate(order, 1)}
    per_test = tuple(sorted(
        (TestCoverage(t.test_id, t.seconds, t.status, len(sets[i]), unique[i], rank.get(i)) for i, t in enumerate(tests)),
        key=lambda c: c.test_id))
    selection = Selection(
        target=target, tests=tuple(p.test_id for p in chosen), items_covered=chosen[-1].items_covered if chosen else 0,
        items_total=total, seconds=seconds, full_seconds=math.fsum(cost), lower_bound_seconds=min(bound, seconds),
        essential=tuple(tests[i].test_id for i in essential), essential_seconds=math.fsum(cost[i] for i in essential),
        factor=factor, estimated=estimated)
    return CoverageReport(per_test, selection, tuple(curve))


def _greedy(sets: list[frozenset[int]], cost: list[float], names: list[str], total: int,
            first: Sequence[int] = ()) -> list[int]:
    """Test indexes in greedy order until every item is covered; the tests ``first`` (in every
    cover) before all others, in greedy order among themselves.

    Priority (run time per new item, more new items first, test id): ties never depend on
    the input order. A popped entry whose gain has fallen is pushed back with its new
    priority unless it still beats the next one.
    """
    covered: set[int] = set()
    order: list[int] = []
    forced = set(first)
    for phase in (sorted(forced), [i for i in range(len(sets)) if i not in forced]):
        heap = [(cost[i] / len(sets[i] - covered), -len(sets[i] - covered), names[i], i)
                for i in phase if sets[i] - covered]
        heapq.heapify(heap)
        while heap and len(covered) < total:
            _, stale_gain, name, i = heapq.heappop(heap)
            gain = len(sets[i] - covered)
            if gain == 0:
                continue
            entry = (cost[i] / gain, -gain, name, i)
            if gain != -stale_gain and heap and entry > heap[0]:
                heapq.heappush(heap, entry)
                continue
            order.append(i)
            covered |= sets[i]
    return order


def report_json(report: CoverageReport, inputs: Sequence[str] = ()) -> dict:
    """The stable JSON document (README: "coverage")."""
    s = report.selection
    return {
        "version": FORMAT_VERSION,
        "inputs": list(inputs),
        "tests": [{"id": t.test_id, "seconds": t.seconds, "items": t.items, "unique_items": t.unique_items,
                   "status": t.status} for t in report.tests],
        "selection": {
            "target": s.target, "tests": list(s.tests), "items_covered": s.items_covered,
            "items_total": s.items_total, "seconds": _round(s.seconds), "full_seconds": _round(s.full_seconds),
            "lower_bound_seconds": _round(s.lower_bound_seconds), "essential_tests": list(s.essential),
            "approximation_factor": None if s.factor is None else round(s.factor, 4),
            "estimated_seconds_tests": list(s.estimated),
        },
        "curve": [{"test": p.test_id, "seconds": _round(p.seconds), "items_covered": p.items_covered,
                   "fraction": round(p.fraction, 6)} for p in report.curve],
    }


def _round(x: float) -> float:
    return round(x, 3)

