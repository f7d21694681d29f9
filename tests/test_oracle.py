"""GraalVM's own configuration code as the oracle: it reads everything we write, and its
``generate`` agrees with ``merge`` (issue 11).

The oracle is ``org.graalvm.nativeimage:svm-configure`` from Maven Central (the code behind
``native-image-configure``), run on JDK 21+ by ``tests/oracle/Oracle.java`` in one JVM per
session (``graalvm_oracle.py``). Without Maven or a JDK 21+ these tests skip, except under
``CI=true``, where they fail: CI must run them.

Compared semantically with the tool's own diff, both ways, after the deliberate differences
(README, "Formats and merge semantics") are applied to GraalVM's side or to both:

- ``generate`` writes serialization-only types in the 1.0/1.1 ``serialization`` section, which
  schema 1.2 dropped; we write 1.2's ``serializable`` flag, which registers the type for
  reflection too (a reported conversion note): ``_as_schema_1_2``.
- ``generate`` keeps ``allowWrite`` in unified fields; schema 1.2 has no such key, so we drop it
  (a reported conversion note): ``_without_allow_write``.
- ``generate`` drops listed methods, constructors and fields that an ``all*`` flag of the same
  entry covers, or not, depending on input order; the merge keeps them (it cannot know a
  method's visibility, and its result never depends on order): ``_subsumed`` on both sides.
- ``generate`` drops ``customTargetConstructorClass`` (deprecated and ignored since GraalVM 24);
  the merge keeps it (GraalVM for JDK 17/21 uses it): ``_without_custom_constructor`` on both sides.
- ``generate`` turns the literal regex ``\\Qa*b\\E`` into the glob ``a*b``, a wildcard; the
  merge escapes it (``a\\*b``): ``_stars_unescaped`` on both sides.
- ``generate`` loses legacy bundles without locales, and excludes when no include is left
  beside them (it prints them in neither format); the merge keeps them:
  ``_without_lost_resources`` on both sides.

GraalVM 25.0.2's ``generate`` crashes (NullPointerException) on a method without
``parameterTypes`` (every overload), which its parsers accept: generated inputs for the
comparison always say ``parameterTypes``, and a test below shows the crash.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metadata_pipeline.cli import main
from metadata_pipeline.files.configdir import find_config_dirs, load
from metadata_pipeline.core.diff import diff
from metadata_pipeline.core.kinds import FileKind
from metadata_pipeline.core.merge import Accumulator
from metadata_pipeline.core.model import Metadata, TypeEntry
from metadata_pipeline.core.resources import glob_problems

from conftest import REFERENCE
from graalvm_oracle import Oracle, OracleUnavailable, build
from strategies import config_dir_documents


@pytest.fixture(scope="session")
def oracle(tmp_path_factory: pytest.TempPathFactory):
    work = tmp_path_factory.mktemp("graalvm-oracle")
    try:
        java_home, classpath = build(work)
    except OracleUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"GraalVM oracle unavailable in CI: {exc}")
        pytest.skip(f"GraalVM oracle unavailable: {exc}")
    o = Oracle(java_home, classpath, work)
    yield o
    o.close()


# -- the tool, as a user runs it (in-process: hundreds of cases) ------------------------------

def _merge(inputs: list[Path], out: Path, fmt: str) -> str:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(["merge", *map(str, inputs), "-o", str(out), "--format", fmt, "--no-config"])
    assert code == 0, err.getvalue()
    return err.getvalue()


# -- the deliberate differences (module docstring) ---------------------------------------------

def _as_schema_1_2(m: Metadata) -> Metadata:
    acc = Accumulator()
    acc.add_metadata(m)
    for s in m.serialization:
        if s.custom_target_constructor_class is None:
            acc.type_entry(acc.reflection, s.type, s.condition)
    return acc.build()


def _types(m: Metadata, fix) -> Metadata:
    return replace(m, reflection=tuple(map(fix, m.reflection)), jni=tuple(map(fix, m.jni)))


def _without_allow_write(m: Metadata) -> Metadata:
    return _types(m, lambda e: replace(e, fields=frozenset(replace(f, allow_write=False) for f in e.fields)))


def _subsume(e: TypeEntry) -> TypeEntry:
    methods = bool({"allPublicMethods", "allDeclaredMethods"} & e.flags)
    ctors = bool({"allPublicConstructors", "allDeclaredConstructors"} & e.flags)
    kept = lambda m: not (ctors if m.name == "<init>" else methods)  # noqa: E731
    fields = frozenset() if {"allPublicFields", "allDeclaredFields"} & e.flags else e.fields
    return replace(e, methods=frozenset(filter(kept, e.methods)),
                   queried_methods=frozenset(filter(kept, e.queried_methods)), fields=fields)


def _subsumed(m: Metadata) -> Metadata:
    return _types(m, _subsume)


def _without_custom_constructor(m: Metadata) -> Metadata:
    acc = Accumulator()
    acc.add_metadata(replace(m, serialization=()))
    acc.serialization.update(replace(s, custom_target_constructor_class=None) for s in m.serialization)
    return acc.build()


def _stars_unescaped(m: Metadata) -> Metadata:
    return replace(m, resource_globs=tuple(sorted({replace(g, glob=g.glob.replace("\\*", "*")) for g in m.resource_globs},
                                                  key=lambda g: (g.glob, g.module or "", g.condition is not None))))


def _without_lost_resources(m: Metadata) -> Metadata:
    return replace(m, bundles=tuple(b for b in m.bundles if b.locales or b.class_names), resource_excludes=())


def _comparable(m: Metadata) -> Metadata:
    return _without_lost_resources(_stars_unescaped(_subsumed(_without_allow_write(_as_schema_1_2(_without_custom_constructor(m))))))


def _same_metadata(generated: Path, merged: Path) -> None:
    theirs = _comparable(load([generated]).metadata)
    ours = _comparable(load([merged]).metadata)
    assert not diff(theirs, ours), f"generate vs merge:\n{diff(theirs, ours)}"
    assert not diff(ours, theirs), f"merge vs generate:\n{diff(ours, theirs)}"


# GraalVM 25 warns that customTargetConstructorClass is deprecated (it ignores it); GraalVM for
# JDK 17/21, which Kafka builds with, uses it, so it is written (README: deliberate differences).
_DEPRECATED_CUSTOM_CONSTRUCTOR = 'Warning: "customTargetConstructorClass" is deprecated in serialization-config.json.'


def _problems(found: list[str]) -> list[str]:
    return [p for p in found if not p.startswith(_DEPRECATED_CUSTOM_CONSTRUCTOR) or "\n" in p.strip()]


def _check(oracle: Oracle, groups: list[list[Path]], work: Path) -> int:
    """Merge each group both ways, have GraalVM read the outputs and generate over the inputs."""
    outputs, generated = [], []
    for i, inputs in enumerate(groups):
        for fmt in ("legacy", "unified"):
            _merge(inputs, work / f"{i}-{fmt}", fmt)
            outputs.append(work / f"{i}-{fmt}")
        generated.append(work / f"{i}-generated")
    for out, problems in zip(outputs, oracle.parse(outputs)):
        assert _problems(problems) == [], f"GraalVM's parsers on {out}: {problems}"
    for inputs, problems in zip(groups, oracle.generate(groups, generated)):
        assert _problems(problems) == [], f"generate over {inputs}: {problems}"
    for i, out in enumerate(generated):
        _same_metadata(out, work / f"{i}-unified")
    return len(groups)


def _reference_groups() -> list[list[Path]]:
    """Every config dir of the corpus and Kafka's seven versions one by one, and Kafka's union."""
    groups = []
    corpus, kafka = REFERENCE / "reachability-corpus", REFERENCE / "kafka-native-image-configs"
    if corpus.is_dir():
        groups += [[d.path] for d in find_config_dirs([corpus])]
    if kafka.is_dir():
        versions = [d.path for d in find_config_dirs([kafka])]
        groups += [[v] for v in versions] + [versions]
    return groups


def test_graalvm_reads_our_output_and_generate_agrees_on_real_metadata(oracle: Oracle, tmp_path: Path) -> None:
    groups = _reference_groups() or pytest.skip("reference data not available")
    assert _check(oracle, groups, tmp_path) == len(groups) >= 8


# -- generated inputs --------------------------------------------------------------------------

_LEGACY = {k for k in FileKind if k.is_legacy}


def _graalvm_input(docs: dict[FileKind, object]) -> dict[FileKind, object]:
    """What GraalVM's generate can read: typeReachable in legacy files, parameterTypes on methods."""
    out = {}
    for kind, doc in docs.items():
        text = json.dumps(doc)
        if kind in _LEGACY:
            text = text.replace('"typeReached"', '"typeReachable"')
        doc = json.loads(text)
        for entries in (doc if isinstance(doc, list) else doc.get("reflection", [])) if kind in (
                FileKind.REFLECT, FileKind.JNI, FileKind.UNIFIED) else ():
            for key in ("methods", "queriedMethods"):
                for m in entries.get(key, []):
                    m.setdefault("parameterTypes", [])
        out[kind] = doc
    return out


@st.composite
def _edge_cases(draw) -> dict[FileKind, object]:
    """Shapes issue 11 found mishandled, on top of an agent-shaped dir."""
    docs = _graalvm_input(draw(config_dir_documents()))
    unified = docs.setdefault(FileKind.UNIFIED, {"reflection": []})
    unified.setdefault("reflection", [])
    if draw(st.booleans()):  # a proxy type with flags, a serializable proxy
        unified["reflection"].append({"type": {"proxy": ["a.I", "a.J"]}, "allDeclaredMethods": True})
        unified["reflection"].append({"type": {"proxy": ["a.K"]}, "serializable": True})
    if draw(st.booleans()):
        unified["reason"], unified["comment"] = "why", ["notes"]
    if draw(st.booleans()):  # a regex no glob can say, beside a literal one
        docs[FileKind.RESOURCE] = {"comment": "c", "resources": {"includes": [
            {"pattern": "org/.*\\.xml"}, {"pattern": "\\Qorg/x.xml\\E", "condition": {"typeReachable": "a.B"}}]}}
    if draw(st.booleans()):
        docs[FileKind.SERIALIZATION] = {"types": [], "lambdaCapturingTypes": [{"name": "a.M$$Lambda$12/0x0000000800c1d000"}],
                                        "proxies": [{"interfaces": ["a.K"]}]}
    if draw(st.booleans()):
        docs.setdefault(FileKind.REFLECT, []).append(
            {"name": "a.B", "fields": [{"name": "f", "allowWrite": True, "allowUnsafeAccess": True}]})
    return docs


def _write_input(root: Path, docs: dict[FileKind, object]) -> Path:
    root.mkdir(parents=True)
    for kind, doc in docs.items():
        (root / kind.file_name).write_text(json.dumps(doc))
    for group in docs.get(FileKind.PREDEFINED_CLASSES, []):  # the agent writes the bytes beside the config
        (root / "agent-extracted-predefined-classes").mkdir(exist_ok=True)
        for c in group["classes"]:
            (root / "agent-extracted-predefined-classes" / f"{c['hash']}.classdata").write_bytes(bytes.fromhex("cafebabe") + c["hash"].encode())
    return root


@given(st.lists(st.lists(_edge_cases(), min_size=1, max_size=3), min_size=2, max_size=2))
def test_graalvm_reads_our_output_and_generate_agrees_on_generated_inputs(oracle: Oracle, batch) -> None:
    # Two cases per example, sent to the JVM as one batch (400 cases under the ci profile).
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        groups = [[_write_input(work / f"in-{i}-{j}", docs) for j, docs in enumerate(case)] for i, case in enumerate(batch)]
        _check(oracle, groups, work)


@given(st.lists(st.text(alphabet="ab*/?\\.", min_size=1, max_size=8), min_size=20, max_size=20))
def test_glob_problems_agree_with_graalvm(oracle: Oracle, globs: list[str]) -> None:
    # GraalVM's GlobUtils.validatePattern rejects a subset of what we report; the rest ('**' not
    # alone in its level) it reads differently from us instead of rejecting.
    globs = [g for g in globs if "\t" not in g]
    (answer,) = oracle.run([["globs", *globs]]) if globs else [{"errors": []}]
    rejected = {int(e.split(":", 1)[0]) for e in answer["errors"]}
    for i, glob in enumerate(globs):
        ours = glob_problems(glob)
        if i in rejected:
            assert ours, glob
        else:
            assert all("not alone in its level" in p for p in ours), (glob, ours)


# -- each deliberate difference, shown on GraalVM's own output ------------------------------------

_DIFFERENCES = {
    "serialization section": ({"serialization-config.json": {"types": [{"name": "a.S"}], "lambdaCapturingTypes": [], "proxies": []}}, _as_schema_1_2),
    "allowWrite": ({"reflect-config.json": [{"name": "a.B", "fields": [{"name": "f", "allowWrite": True}]}]},
                   _without_allow_write),
    "members under all* flags": ({"reachability-metadata.json": {"reflection": [
        {"type": "a.B", "allPublicMethods": True, "methods": [{"name": "writeReplace", "parameterTypes": []}]}]}}, _subsumed),
    "customTargetConstructorClass": ({"serialization-config.json": {"types": [
        {"name": "a.S", "customTargetConstructorClass": "java.lang.Object"}], "lambdaCapturingTypes": [], "proxies": []}},
        _without_custom_constructor),
    "literal star": ({"resource-config.json": {"resources": {"includes": [{"pattern": "\\Qa*b\\E"}]}}}, _stars_unescaped),
    "lost resources": ({"resource-config.json": {"resources": {"includes": [], "excludes": [{"pattern": ".*\\.txt"}]},
                                                 "bundles": [{"name": "a.Messages", "locales": []}]}}, _without_lost_resources),
}


@pytest.mark.parametrize("name", sorted(_DIFFERENCES))
def test_each_deliberate_difference_is_real_and_only_that(oracle: Oracle, tmp_path: Path, name: str) -> None:
    files, normalise = _DIFFERENCES[name]
    src = tmp_path / "in"
    src.mkdir()
    for file, doc in files.items():
        (src / file).write_text(json.dumps(doc))
    _merge([src], tmp_path / "merged", "unified")
    (problems,) = oracle.generate([[src]], [tmp_path / "generated"])
    assert _problems(problems) == [], problems
    theirs, ours = load([tmp_path / "generated"]).metadata, load([tmp_path / "merged"]).metadata
    assert diff(theirs, ours), f"{name}: no difference any more: drop it from the README and here"
    assert not diff(normalise(theirs), normalise(ours))


def test_generate_crashes_on_a_method_without_parameter_types(oracle: Oracle, tmp_path: Path) -> None:
    # Every overload of a method: GraalVM's parsers accept it, its generate throws; we merge it.
    src = tmp_path / "in"
    src.mkdir()
    (src / "reflect-config.json").write_text(json.dumps([{"name": "a.B", "methods": [{"name": "run"}]}]))
    (problems,) = oracle.generate([[src]], [tmp_path / "generated"])
    assert any("NullPointerException" in p for p in problems), problems
    for fmt in ("legacy", "unified"):
        _merge([src], tmp_path / fmt, fmt)
    assert oracle.parse([tmp_path / "legacy", tmp_path / "unified"]) == [[], []]
