"""The semantic diff: what a reviewer must see, and what must never show as a change."""

from __future__ import annotations

import json

from hypothesis import given

from metadata_pipeline.core.diff import Change, diff
from metadata_pipeline.core.diff_report import as_json, as_markdown, as_text
from metadata_pipeline.core.kinds import FileKind
from metadata_pipeline.core.merge import merge
from metadata_pipeline.core.model import Metadata
from metadata_pipeline.core.parse import parse
from metadata_pipeline.core.serialize import conversion_losses, render

from strategies import metadata_values, reparse

R = FileKind.REFLECT


def reflect(*entries) -> Metadata:
    return parse(R, list(entries))


def resources(*patterns) -> Metadata:
    return parse(FileKind.RESOURCE, {"resources": {"includes": [{"pattern": p} for p in patterns]}})


@given(metadata_values)
def test_a_value_never_differs_from_itself_or_its_rendering(m: Metadata) -> None:
    assert not diff(m, m)
    for fmt in ("legacy", "unified"):
        again = reparse(render(m, fmt))
        if not conversion_losses(m, fmt):
            assert not diff(m, again)


@given(metadata_values, metadata_values)
def test_diff_is_empty_exactly_when_equal(a: Metadata, b: Metadata) -> None:
    assert bool(diff(a, b)) == (a != b)
    assert not diff(merge(a, b), merge(b, a))


def test_spelling_order_duplicates_and_regex_vs_glob_are_not_differences() -> None:
    old = merge(reflect({"name": "[Ljava.lang.String;"}, {"name": "a.B", "methods": [{"name": "x", "parameterTypes": ["[B"]}]}),
                resources("\\Qkafka/kafka-version.properties\\E"))
    new = parse(FileKind.UNIFIED, {"reflection": [{"type": "a.B", "methods": [{"name": "x", "parameterTypes": ["byte[]"]}]},
                                                  {"type": "java.lang.String[]"}, {"type": "java.lang.String[]"}],
                                   "resources": [{"glob": "kafka/kafka-version.properties"}]})
    assert not diff(old, new)


def test_added_removed_and_member_changes() -> None:
    old = reflect({"name": "a.Gone"}, {"name": "a.Kept", "allDeclaredFields": True, "fields": [{"name": "f"}],
                                      "methods": [{"name": "m", "parameterTypes": []}]})
    new = reflect({"name": "a.New", "methods": [{"name": "<init>", "parameterTypes": []}]},
                  {"name": "a.Kept", "fields": [{"name": "f", "allowWrite": True}, {"name": "g"}],
                   "methods": [{"name": "m", "parameterTypes": ["int"]}]})
    changes = diff(old, new).changes
    assert Change("reflection", "removed", "a.Gone") in changes
    assert Change("reflection", "added", "a.New", details=("+ method <init>()",)) in changes
    (kept,) = [c for c in changes if c.action == "changed"]
    assert kept.entry == "a.Kept"
    assert kept.details == ("- allDeclaredFields", "+ method m(int)", "- method m()", "+ field g", "+ allowWrite on field f")


def test_a_moved_class_is_one_line() -> None:
    members = {"methods": [{"name": "<init>", "parameterTypes": []}]}
    old = reflect({"name": "kafka.tools.ConsoleProducer$LineMessageReader", **members}, {"name": "x.Other"})
    new = reflect({"name": "org.apache.kafka.tools.LineMessageReader", **members}, {"name": "x.Other"})
    assert diff(old, new).changes == (Change("reflection", "moved", "kafka.tools.ConsoleProducer$LineMessageReader",
                                             to="org.apache.kafka.tools.LineMessageReader"),)


def test_no_move_without_clear_evidence() -> None:
    # Same simple name but different members, or two candidates: plain removal and addition.
    old = reflect({"name": "a.Reader", "methods": [{"name": "x", "parameterTypes": []}]})
    new = reflect({"name": "b.Reader"})
    assert {c.action for c in diff(old, new).changes} == {"added", "removed"}
    old = reflect({"name": "a.Reader"})
    new = reflect({"name": "b.Reader"}, {"name": "c.Reader"})
    assert {c.action for c in diff(old, new).changes} == {"added"} | {"removed"}


def test_condition_change_is_one_line_with_member_changes() -> None:
    old = reflect({"name": "a.B", "condition": {"typeReachable": "x.Y"}})
    new = reflect({"name": "a.B", "condition": {"typeReachable": "x.Z"}, "allPublicMethods": True})
    (c,) = diff(old, new).changes
    assert (c.action, c.entry, c.to, c.details) == (
        "changed", "a.B [if typeReachable x.Y]", "a.B [if typeReachable x.Z]", ("+ allPublicMethods",))


def test_version_bumps_are_renames_and_other_resources_are_not() -> None:
    old = resources("\\Qlinux/amd64/libzstd-jni-1.5.6-5.so\\E", "\\Qlinux/aarch64/libzstd-jni-1.5.6-5.so\\E", "\\Qa.txt\\E")
    new = resources("\\Qlinux/amd64/libzstd-jni-1.5.6-6.so\\E", "\\Qlinux/aarch64/libzstd-jni-1.5.6-6.so\\E", "\\Qb.txt\\E")
    changes = diff(old, new).changes
    assert Change("resource_globs", "renamed", "linux/amd64/libzstd-jni-1.5.6-5.so", to="linux/amd64/libzstd-jni-1.5.6-6.so") in changes
    assert Change("resource_globs", "renamed", "linux/aarch64/libzstd-jni-1.5.6-5.so", to="linux/aarch64/libzstd-jni-1.5.6-6.so") in changes
    assert Change("resource_globs", "added", "b.txt") in changes and Change("resource_globs", "removed", "a.txt") in changes


def test_bundles_proxies_predefined() -> None:
    old = merge(parse(FileKind.RESOURCE, {"bundles": [{"name": "a.Msgs", "locales": ["en"]}]}),
                parse(FileKind.PROXY, [{"interfaces": ["a.I", "b.J"]}]),
                parse(FileKind.PREDEFINED_CLASSES, [{"type": "agent-extracted", "classes": [{"hash": "aa"}]}]))
    new = merge(parse(FileKind.RESOURCE, {"bundles": [{"name": "a.Msgs", "locales": ["en", "und"]}]}),
                parse(FileKind.PROXY, [{"interfaces": ["b.J", "a.I"]}]),
                parse(FileKind.PREDEFINED_CLASSES, [{"type": "agent-extracted", "classes": [{"hash": "bb"}]}]))
    changes = set(diff(old, new).changes)
    assert Change("bundles", "changed", "a.Msgs", details=("+ locale und",)) in changes
    assert Change("proxies", "added", "proxy(b.J, a.I)") in changes and Change("proxies", "removed", "proxy(a.I, b.J)") in changes
    assert Change("predefined_classes", "added", "hash bb") in changes


def test_reports_read_like_a_review() -> None:
    old = merge(reflect({"name": "kafka.tools.ConsoleProducer$LineMessageReader"}, {"name": "kafka.security.authorizer.AclAuthorizer"}),
                resources("\\Qlinux/amd64/libzstd-jni-1.5.6-5.so\\E"))
    new = merge(reflect({"name": "org.apache.kafka.tools.LineMessageReader"}), resources("\\Qlinux/amd64/libzstd-jni-1.5.6-6.so\\E"))
    d = diff(old, new)
    assert as_text(d) == (
        "reflection: 1 removed, 1 moved\n"
        "  - kafka.security.authorizer.AclAuthorizer\n"
        "  * kafka.tools.ConsoleProducer$LineMessageReader → org.apache.kafka.tools.LineMessageReader (moved)\n"
        "resource: 1 renamed\n"
        "  * linux/amd64/libzstd-jni-1.5.6-5.so → linux/amd64/libzstd-jni-1.5.6-6.so (renamed)\n"
    )
    assert "\033[31m" in as_text(d, colour=True)
    md = as_markdown(d)
    assert "- moved: `kafka.tools.ConsoleProducer$LineMessageReader` → `org.apache.kafka.tools.LineMessageReader`" in md
    doc = as_json(d)
    assert doc["equal"] is False and doc["summary"] == {"reflection": {"removed": 1, "moved": 1}, "resource_globs": {"renamed": 1}}
    assert json.loads(json.dumps(doc)) == doc
