"""Class filters in the native-image agent's own filter-file format, applied to metadata.

The format (the agent's ``access-filter-file=`` / ``caller-filter-file=``)::

    {"rules":      [{"includeClasses": "**"}, {"excludeClasses": "org.apache.kafka.trogdor.**"}],
     "regexRules": [{"excludeClasses": ".*\\$\\$Lambda.*"}]}

A pattern is an exact class name, ``pkg.*`` (classes of ``pkg``), ``pkg.**`` (classes of
``pkg`` and every sub-package) or ``**`` (every class); ``regexRules`` hold Java regexes over
the whole class name. Rules are read in order, ``rules`` then ``regexRules`` of each file,
files in the order given, and the last rule that matches a class decides; a class no rule
matches is kept. So the same file means the same thing to the agent at collect time and to
``merge --filter``.

Applied to metadata, a filter drops every entry whose subject is an excluded class:
reflection, JNI and serialization types (arrays by their element type, lambdas by their
declaring class), proxies and serialization proxies with an excluded interface,
lambda-capturing types; and every entry whose *condition* names an excluded class (that
condition can never hold in the binary). Resources and bundles have no class subject and
are kept. What each rule removed is counted, so a filter never hides data silently.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from typing import Any, Callable

from metadata_pipeline.core.errors import InvalidMetadata
from metadata_pipeline.core.model import Condition, LambdaType, Metadata, ProxyType, TypeRef
from metadata_pipeline.core.names import element_name

__all__ = ["Rule", "ClassFilter", "parse_filter", "FilterReport", "apply_filter"]

_PATTERN = re.compile(r"\*\*|[\w$]+(\.[\w$]+)*(\.\*\*?)?")


@dataclass(frozen=True, slots=True)
class Rule:
    include: bool
    pattern: str
    regex: bool
    where: str  # "<file>: rules/3", to report what each rule did

    @property
    def label(self) -> str:
        verb = "includeClasses" if self.include else "excludeClasses"
        return f"{self.where} {verb} {self.pattern}"


def _regex(rule: Rule) -> str:
    if rule.regex:
        return rule.pattern
    if rule.pattern == "**":
        return r".*"
    if rule.pattern.endswith(".**"):
        return re.escape(rule.pattern[:-3]) + r"\..+"
    if rule.pattern.endswith(".*"):
        return re.escape(rule.pattern[:-2]) + r"\.[^.]+"
    return re.escape(rule.pattern)


@lru_cache(maxsize=256)
def _decider(rules: tuple[Rule, ...]) -> Callable[[str], Rule | None]:
    """One regex for all rules, last rule first: its first matching alternative is the rule
    that decides (one match per class name instead of one per rule)."""
    try:
        combined = re.compile("|".join(f"(?P<_mp_rule_{i}>{_regex(r)})" for i, r in reversed(list(enumerate(rules)))))
    except re.error:  # a user regex that cannot be combined (numbered backreferences): one by one
        compiled = [(re.compile(_regex(r)), r) for r in reversed(rules)]
        return lambda name: next((r for c, r in compiled if c.fullmatch(name)), None)

    def decide(name: str) -> Rule | None:
        m = combined.fullmatch(name)
        return None if m is None else rules[int(m.lastgroup.rpartition("_")[2])]
    return decide


_UNDECIDED = object()


@dataclass(frozen=True)
class ClassFilter:
    rules: tuple[Rule, ...] = ()
    # Decisions per class name: a merge asks about the same names again and again.
    _decided: dict[str, Rule | None] = field(default_factory=dict, compare=False, repr=False)

    def __add__(self, other: "ClassFilter") -> "ClassFilter":
        return ClassFilter(self.rules + other.rules)

    def deciding_rule(self, class_name: str) -> Rule | None:
        """The last rule matching ``class_name``, or None when no rule speaks of it."""
        rule = self._decided.get(class_name, _UNDECIDED)  # not try/except: most names are new once
        if rule is _UNDECIDED:
            rule = self._decided[class_name] = self._decide(class_name) if self.rules else None
        return rule

    @cached_property
    def _decide(self) -> Callable[[str], Rule | None]:
        return _decider(self.rules)  # looked up once: hashing every rule per new name cost more than matching

    def excludes(self, class_name: str) -> Rule | None:
        """The rule that excludes ``class_name``, or None when the class is kept."""
        rule = self.deciding_rule(class_name)
        return rule if rule is not None and not rule.include else None


def parse_filter(doc: Any, source: str) -> ClassFilter:
    """A filter file's decoded JSON -> ``ClassFilter``; ``InvalidMetadata`` names the bad rule."""
    if type(doc) is not dict:
        raise InvalidMetadata("a filter file is an object with 'rules' and/or 'regexRules'", "/", source)
    unknown = sorted(set(doc) - {"rules", "regexRules"})
    if unknown:
        raise InvalidMetadata(f"unknown key {unknown[0]!r}", "/", source)
    rules: list[Rule] = []
    for section in ("rules", "regexRules"):
        entries = doc.get(section, [])
        if type(entries) is not list:
            raise InvalidMetadata("expected an array", f"/{section}", source)
        for i, raw in enumerate(entries):
            where = f"/{section}/{i}"
            if type(raw) is not dict or len(raw) != 1 or not raw.keys() <= {"includeClasses", "excludeClasses"}:
                raise InvalidMetadata("a rule is {\"includeClasses\": P} or {\"excludeClasses\": P}", where, source)
            (key, pattern), = raw.items()
            if type(pattern) is not str:
                raise InvalidMetadata("the pattern must be a string", where, source)
            regex = section == "regexRules"
            if regex:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise InvalidMetadata(f"invalid regex {pattern!r}: {exc}", where, source) from None
            elif not _PATTERN.fullmatch(pattern):
                raise InvalidMetadata(f"invalid class pattern {pattern!r} (a class name, pkg.*, pkg.** or **)",
                                      where, source)
            rules.append(Rule(key == "includeClasses", pattern, regex, f"{source}:{where}"))
    return ClassFilter(tuple(rules))


@dataclass(frozen=True)
class FilterReport:
    """What a filter removed: entries per rule, and per category."""

    by_rule: dict[str, int] = field(default_factory=dict)
    by_category: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.by_category.values())


def _subjects(type_ref: TypeRef) -> tuple[str, ...]:
    if isinstance(type_ref, str):
        return (element_name(type_ref),)
    if isinstance(type_ref, ProxyType):
        return type_ref.interfaces
    assert isinstance(type_ref, LambdaType)
    return (type_ref.declaring_class,)


def apply_filter(m: Metadata, f: ClassFilter) -> tuple[Metadata, FilterReport]:
    """``m`` without the entries ``f`` excludes, and what was removed."""
    if not f.rules:
        return m, FilterReport()
    by_rule: Counter[str] = Counter()
    by_category: Counter[str] = Counter()

    def excluded(subjects: tuple[str, ...], condition: Condition | None) -> Rule | None:
        for name in subjects:
            rule = f.excludes(name)
            if rule is not None:
                return rule
        if condition is not None:
            return f.excludes(element_name(condition.type_name))
        return None

    def keep(category: str, entries: tuple, subjects_of) -> tuple:
        kept = []
        for entry in entries:
            rule = excluded(subjects_of(entry), entry.condition)
            if rule is None:
                kept.append(entry)
            else:
                by_rule[rule.label] += 1
                by_category[category] += 1
        return tuple(kept)

    changes: dict[str, tuple] = {
        "reflection": keep("reflection", m.reflection, lambda e: _subjects(e.type)),
        "jni": keep("jni", m.jni, lambda e: _subjects(e.type)),
        "proxies": keep("proxies", m.proxies, lambda e: e.interfaces),
        "serialization": keep("serialization", m.serialization, lambda e: _subjects(e.type)),
        "serialization_lambda_capturing": keep("serialization_lambda_capturing", m.serialization_lambda_capturing,
                                               lambda e: (e.name,)),
        "serialization_proxies": keep("serialization_proxies", m.serialization_proxies, lambda e: e.interfaces),
        # Resources and bundles name no class; only a condition on an excluded class drops them.
        "resource_globs": keep("resource_globs", m.resource_globs, lambda e: ()),
        "resource_patterns": keep("resource_patterns", m.resource_patterns, lambda e: ()),
        "resource_excludes": keep("resource_excludes", m.resource_excludes, lambda e: ()),
        "bundles": keep("bundles", m.bundles, lambda e: ()),
    }
    return replace(m, **changes), FilterReport(dict(by_rule), dict(by_category))
