"""Parsing and merge semantics, case by case (GraalVM native-image-utils' rules)."""

from __future__ import annotations

import json

import pytest

from metadata_pipeline.core.errors import InvalidMetadata
from metadata_pipeline.core.kinds import FileKind
from metadata_pipeline.core.merge import Accumulator, merge
from metadata_pipeline.core.model import (
    Condition, Field, LambdaType, MethodRef, ProxyEntry, ProxyType, ResourceGlob, ResourcePattern,
)
from metadata_pipeline.core.names import descriptor_name, source_name
from metadata_pipeline.core.parse import add_to, parse
from metadata_pipeline.core.resources import glob_matches, glob_of_regex, literal_of_regex, split_module
from metadata_pipeline.core.serialize import render


@pytest.mark.parametrize("descriptor, source", [
    ("[B", "byte[]"), ("[[I", "int[][]"), ("[Ljava.lang.String;", "java.lang.String[]"),
    ("[[Lkafka.server.DelayedOperationPurgatory$WatcherList;", "kafka.server.DelayedOperationPurgatory$WatcherList[][]"),
    ("java.lang.String", "java.lang.String"),
])
def test_descriptor_and_source_names_are_one_type(descriptor: str, source: str) -> None:
    assert source_name(descriptor) == source
    assert source_name(source) == source
    assert descriptor_name(source) == (descriptor if descriptor.startswith("[") else source)


def test_malformed_descriptor_is_an_error() -> None:
    with pytest.raises(InvalidMetadata, match="malformed array type descriptor"):
        parse(FileKind.REFLECT, [{"name": "[Q"}])


def test_descriptor_and_source_spelling_merge_into_one_entry() -> None:
    m = merge(parse(FileKind.REFLECT, [{"name": "[Ljava.lang.String;"}]),
              parse(FileKind.UNIFIED, {"reflection": [{"type": "java.lang.String[]", "allDeclaredFields": True}]}))
    assert [(e.type, e.flags) for e in m.reflection] == [("java.lang.String[]", frozenset({"allDeclaredFields"}))]


def test_identity_is_type_and_condition() -> None:
    m = parse(FileKind.REFLECT, [
        {"name": "a.B", "condition": {"typeReachable": "x.Y"}},
        {"name": "a.B", "condition": {"typeReached": "x.Y"}},
        {"name": "a.B"},
        {"name": "a.B", "methods": [{"name": "run", "parameterTypes": []}]},
    ])
    # typeReachable and typeReached name one condition, as in GraalVM's generate (issue 11).
    assert [e.condition for e in m.reflection] == [None, Condition("x.Y")]
    assert m.reflection[0].methods == {MethodRef("run", ())}


def test_types_are_ordered_by_type_then_condition_whatever_the_input_order() -> None:
    # The order of a merged table, and the legacy writer's (by descriptor), for every shape that
    # the sort by name alone must hand over to the full key: a name under several conditions,
    # proxy and lambda types; arrays, whose descriptors sort apart from their source names.
    plain = [{"type": "java.lang.String"}, {"type": "byte[]"}, {"type": "a.A[]"}, {"type": "a.B"}]
    conditions = [{"type": "a.B", "condition": {"typeReached": "z.Z"}},
                  {"type": "a.B", "condition": {"typeReached": "m.M"}}]
    others = [{"type": {"proxy": ["b.I"]}, "allPublicMethods": True},  # a flag: registered for reflection too
              {"type": {"proxy": ["a.I", "b.I"]}, "allPublicMethods": True},
              {"type": {"lambda": {"declaringClass": "a.B", "interfaces": ["java.lang.Runnable"]}}}]
    names = ["a.A[]", "a.B", "byte[]", "java.lang.String"]
    descriptors = ["[B", "[La.A;", "a.B", "java.lang.String"]
    for entries, expected, legacy in (
        (plain, [(n, None) for n in names], [(n, None) for n in descriptors]),
        (plain + conditions, [(n, None) for n in names[:2]] + [("a.B", Condition("m.M")), ("a.B", Condition("z.Z"))]
         + [(n, None) for n in names[2:]],
         [(n, None) for n in descriptors[:3]] + [("a.B", {"typeReachable": "m.M"}), ("a.B", {"typeReachable": "z.Z"}),
                                                 ("java.lang.String", None)]),
        (plain + others, [(n, None) for n in names] + [(ProxyType(("a.I", "b.I")), None), (ProxyType(("b.I",)), None),
                                                       (others[2]["type"], None)],
         [(n, None) for n in descriptors]),
    ):
        for order in (entries, entries[::-1], entries[3:] + entries[:3]):
            m = merge(*(parse(FileKind.UNIFIED, {"reflection": [e]}) for e in order))
            identities = [e.identity for e in m.reflection]
            if isinstance(identities[-1][0], LambdaType):
                assert identities[-1][0].declaring_class == "a.B"
                identities[-1] = (others[2]["type"], None)
            assert identities == expected
            written = json.loads(render(m, "legacy")["reflect-config.json"])
            assert [(e["name"], e.get("condition")) for e in written] == legacy
            unified = json.loads(render(m, "unified")["reachability-metadata.json"])["reflection"]
            shown = lambda t: t if isinstance(t, str) else tuple(t.get("proxy", ["lambda"]))  # noqa: E731
            assert [(shown(e["type"]), e.get("condition")) for e in unified] == [
                (t if isinstance(t, str) else t.interfaces if isinstance(t, ProxyType) else ("lambda",),
                 c and {"typeReached": c.type_name}) for t, c in expected]


def test_accessed_beats_queried() -> None:
    m = parse(FileKind.REFLECT, [
        {"name": "a.B", "queryAllDeclaredMethods": True, "queriedMethods": [{"name": "get", "parameterTypes": []}]},
        {"name": "a.B", "allDeclaredMethods": True, "methods": [{"name": "get", "parameterTypes": []}]},
    ])
    (entry,) = m.reflection
    assert entry.flags == {"allDeclaredMethods"}
    assert entry.methods == {MethodRef("get", ())} and not entry.queried_methods


def test_false_flags_are_absent_and_fields_or_their_access() -> None:
    m = parse(FileKind.REFLECT, [
        {"name": "a.B", "allDeclaredFields": False, "fields": [{"name": "x"}]},
        {"name": "a.B", "fields": [{"name": "x", "allowWrite": True}, {"name": "y", "allowUnsafeAccess": True}]},
    ])
    (entry,) = m.reflection
    assert entry.flags == frozenset()
    assert entry.fields == {Field("x", allow_write=True), Field("y", allow_unsafe_access=True)}


def test_a_field_list_of_names_then_access_bits_keeps_every_field() -> None:
    (entry,) = parse(FileKind.REFLECT, [{"name": "a.B", "fields": [{"name": "x"}, {"name": "y", "allowWrite": True}]}]).reflection
    assert entry.fields == {Field("x"), Field("y", allow_write=True)}


def test_methods_without_parameter_types_are_every_overload_and_distinct() -> None:
    (entry,) = parse(FileKind.REFLECT, [{"name": "a.B", "methods": [
        {"name": "get"}, {"name": "get", "parameterTypes": []}, {"name": "get", "parameterTypes": ["[B"]}]}]).reflection
    assert entry.methods == {MethodRef("get"), MethodRef("get", ()), MethodRef("get", ("byte[]",))}


def test_proxies_are_ordered_interface_lists() -> None:
    m = parse(FileKind.PROXY, [{"interfaces": ["a.I", "b.J"]}, {"interfaces": ["b.J", "a.I"]}, {"interfaces": ["a.I", "b.J"]}])
    assert m.proxies == (ProxyEntry(("a.I", "b.J")), ProxyEntry(("b.J", "a.I")))


def test_bare_unified_proxy_type_is_a_proxy_definition() -> None:
    m = parse(FileKind.UNIFIED, {"reflection": [{"type": {"proxy": ["a.I"]}},
                                                {"type": {"proxy": ["b.J"]}, "allPublicMethods": True}]})
    assert m.proxies == (ProxyEntry(("a.I",)), ProxyEntry(("b.J",)))
    assert [e.type for e in m.reflection] == [ProxyType(("b.J",))]


def test_unified_flags_fan_out_to_jni_and_serialization() -> None:
    m = parse(FileKind.UNIFIED, {"reflection": [
        {"type": "a.Native", "jniAccessible": True, "fields": [{"name": "ptr"}]},
        {"type": "a.Ser", "serializable": True},
    ]})
    assert [e.type for e in m.reflection] == ["a.Native", "a.Ser"]
    assert [(e.type, e.fields) for e in m.jni] == [("a.Native", frozenset({Field("ptr")}))]
    assert [s.type for s in m.serialization] == ["a.Ser"]


def test_resource_regex_literal_is_the_same_resource_as_the_glob() -> None:
    legacy = parse(FileKind.RESOURCE, {"resources": {"includes": [
        {"pattern": "\\Qkafka/kafka-version.properties\\E"},
        {"pattern": "java.base:\\Qjdk/internal/icu/impl/data/icudt72b/nfkc.nrm\\E"},
    ]}})
    unified = parse(FileKind.UNIFIED, {"resources": [
        {"glob": "kafka/kafka-version.properties"},
        {"module": "java.base", "glob": "jdk/internal/icu/impl/data/icudt72b/nfkc.nrm"},
    ]})
    assert legacy == unified
    assert ResourceGlob("jdk/internal/icu/impl/data/icudt72b/nfkc.nrm", "java.base") in legacy.resource_globs


def test_real_regexes_stay_regexes() -> None:
    m = parse(FileKind.RESOURCE, {"resources": {"includes": [
        {"pattern": "[a-z]+/[a-z0-9]+/libzstd-jni-[0-9.-]+(so|dll|dylib)"}]}})
    assert m.resource_patterns == (ResourcePattern("[a-z]+/[a-z0-9]+/libzstd-jni-[0-9.-]+(so|dll|dylib)"),)


@pytest.mark.parametrize("regex, glob", [
    ("\\Qa/b.txt\\E", "a/b.txt"), ("a/b\\.txt", "a/b.txt"), ("\\Qa/\\E[^/]*\\Q.so\\E", "a/*.so"),
    ("\\Qlib/\\E.*", "lib/**"), ("(.*/)?\\Qx.so\\E", "**/x.so"), ("\\Qa*b\\E", "a\\*b"),
    ("a.txt", None), ("(so|dll)", None), ("\\d+", None),
])
def test_glob_of_regex(regex: str, glob: str | None) -> None:
    assert glob_of_regex(regex) == glob


def test_module_prefix_only_for_module_names() -> None:
    assert split_module("java.base:\\Qa\\E") == ("java.base", "\\Qa\\E")
    assert split_module("\\Qa:b\\E") == (None, "\\Qa:b\\E")
    assert literal_of_regex("\\Qa\\Eb\\.c") == "ab.c"


@pytest.mark.parametrize("glob, name, hit", [
    ("kafka/*.properties", "kafka/kafka-version.properties", True),
    ("kafka/*.properties", "kafka/sub/x.properties", False),
    ("**/x.so", "a/b/x.so", True), ("**/x.so", "x.so", True), ("lib/**", "lib/a/b", True),
])
def test_glob_matching(glob: str, name: str, hit: bool) -> None:
    assert glob_matches(glob, name) is hit


def test_bundles_union_locales_per_identity() -> None:
    m = parse(FileKind.RESOURCE, {"bundles": [{"name": "a.Msgs", "locales": ["en"]},
                                              {"name": "a.Msgs", "locales": ["und"], "classNames": ["a.Msgs"]}]})
    (b,) = m.bundles
    assert b.locales == {"en", "und"} and b.class_names == {"a.Msgs"}


def test_serialization_identity_includes_custom_constructor() -> None:
    m = parse(FileKind.SERIALIZATION, {"types": [{"name": "a.B"}, {"name": "a.B", "customTargetConstructorClass": "java.lang.Object"}],
                                       "lambdaCapturingTypes": [], "proxies": []})
    assert len(m.serialization) == 2


def test_predefined_classes_by_hash() -> None:
    m = parse(FileKind.PREDEFINED_CLASSES, [{"type": "agent-extracted", "classes": [{"hash": "ab", "nameInfo": "x.Y"}, {"hash": "ab"}]}])
    assert [(p.hash, p.name_info) for p in m.predefined_classes] == [("ab", "x.Y")]


@pytest.mark.parametrize("kind, data, entry, problem", [
    (FileKind.REFLECT, {"name": "a"}, "/", "expected an array"),
    (FileKind.REFLECT, [{"name": "a", "bogus": 1}], "/0", "unknown key 'bogus'"),
    (FileKind.REFLECT, [{"name": "a", "allDeclaredMethods": "yes"}], "/0/allDeclaredMethods", "expected true or false"),
    (FileKind.REFLECT, [{}], "/0", "exactly one of 'name' or 'type'"),
    (FileKind.REFLECT, [{"name": "a", "methods": [{"parameterTypes": []}]}], "/0/methods/0", "missing required key 'name'"),
    (FileKind.REFLECT, [{"name": "a", "condition": {}}], "/0/condition", "exactly one"),
    (FileKind.UNIFIED, {"reflection": [{"type": "a", "condition": {"typeReachable": "b"}}]}, "/reflection/0/condition", "unknown key"),
    (FileKind.RESOURCE, {"resources": {"includes": [{"pattern": 3}]}}, "/resources/includes/0/pattern", "expected a string"),
    (FileKind.UNIFIED, {"reflection": [{"type": {"lambda": {"declaringClass": "a", "interfaces": []}}}]},
     "/reflection/0/type/lambda/interfaces", "at least one"),
    # Past the fast checks of the common shape: the walk that says where.
    (FileKind.REFLECT, [{"name": "a", "methods": [{"name": "m", "parameterTypes": ["int", 1]}]}],
     "/0/methods/0/parameterTypes/1", "expected a string"),
    (FileKind.UNIFIED, {"reflection": [{"type": "a", "methods": [{"name": "m", "parameterTypes": [["int"]]}]}]},
     "/reflection/0/methods/0/parameterTypes/0", "expected a string"),
    (FileKind.REFLECT, [{"name": "a", "fields": [{"name": "x"}, {"name": 1}]}], "/0/fields/1/name", "expected a string"),
    (FileKind.UNIFIED, {"reflection": [{"type": "a", "jniAccessible": "yes"}]}, "/reflection/0/jniAccessible",
     "expected true or false"),
    (FileKind.UNIFIED, {"reflection": [{"type": {"lambda": {"declaringClass": "a", "interfaces": ["b.I"],
                                                             "declaringMethod": {"name": 3}}}}]},
     "/reflection/0/type/lambda/declaringMethod/name", "expected a string"),
])
def test_invalid_input_names_the_entry(kind, data, entry, problem) -> None:
    with pytest.raises(InvalidMetadata) as info:
        parse(kind, data)
    assert info.value.entry == entry
    assert problem in info.value.problem


def test_a_method_list_known_by_its_text_is_checked_and_shared_safely() -> None:
    # Method lists are looked up by their canonical text: a bad one stays an error, with its
    # pointer, every time; a good one is shared between types and never changed for another.
    bad = [{"name": "m", "parameterTypes": ["[X"]}]
    for where in ("methods", "queriedMethods"):
        for _ in range(2):
            with pytest.raises(InvalidMetadata) as info:
                parse(FileKind.REFLECT, [{"name": "ok.Ok"}, {"name": "a.A", where: bad}])
            assert info.value.entry == f"/1/{where}/0/parameterTypes/0"
    run = [{"name": "run", "parameterTypes": []}]
    acc = Accumulator()
    add_to(acc, FileKind.REFLECT, [{"name": "a.A", "methods": run}, {"name": "b.B", "methods": run}])
    add_to(acc, FileKind.REFLECT, [{"name": "a.A", "methods": [{"name": "stop", "parameterTypes": []}]}])
    m = acc.build()
    assert [(e.type, sorted(x.name for x in e.methods)) for e in m.reflection] == [("a.A", ["run", "stop"]),
                                                                                    ("b.B", ["run"])]
