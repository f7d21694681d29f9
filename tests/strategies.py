"""Hypothesis strategies: agent-shaped metadata documents and model values."""

from __future__ import annotations

from hypothesis import strategies as st

from metadata_pipeline.core.kinds import FileKind
from metadata_pipeline.core.merge import Accumulator
from metadata_pipeline.core.model import Metadata
from metadata_pipeline.core.parse import add_to

# Small alphabets so that generated inputs overlap, as real per-test outputs do.
class_names = st.sampled_from([
    "kafka.Kafka", "kafka.server.KafkaConfig", "org.apache.kafka.common.Node", "java.lang.String",
    "org.apache.kafka.tools.LineMessageReader", "a.B$Inner", "byte[]", "[B", "[Ljava.lang.String;",
    "java.lang.String[]", "int[][]",
])
plain_classes = st.sampled_from(["kafka.Kafka", "a.B", "a.C", "org.x.Y"])
member_names = st.sampled_from(["<init>", "get", "set", "value", "run"])
params = st.one_of(st.none(), st.lists(st.sampled_from(["int", "java.lang.String", "byte[]", "[B"]), max_size=2))
conditions = st.one_of(
    st.none(),
    st.builds(lambda k, t: {k: t}, st.sampled_from(["typeReached", "typeReachable"]), plain_classes),
)
unified_conditions = st.one_of(st.none(), st.builds(lambda t: {"typeReached": t}, plain_classes))
legacy_flags = st.sampled_from([
    "allDeclaredMethods", "queryAllDeclaredMethods", "allPublicConstructors", "queryAllPublicConstructors",
    "allDeclaredFields", "unsafeAllocated", "allDeclaredClasses",
])
unified_flags = st.sampled_from(["allDeclaredMethods", "allPublicConstructors", "unsafeAllocated",
                                 "jniAccessible", "serializable"])


def _method():
    return st.builds(lambda n, p: {"name": n} if p is None else {"name": n, "parameterTypes": p}, member_names, params)


def _with_condition(entry: dict, condition) -> dict:
    if condition is not None:
        entry["condition"] = condition
    return entry


@st.composite
def legacy_type_entry(draw, legacy: bool = True, flag_values=st.booleans()):
    """A reflect/jni entry (``legacy``) or a unified reflection entry; ``flag_values``: what a
    flag may be set to (an agent writes only true)."""
    entry: dict = {"name": draw(class_names)} if legacy else {"type": draw(class_names)}
    for flag in draw(st.lists(legacy_flags if legacy else unified_flags, max_size=3, unique=True)):
        entry[flag] = draw(flag_values)
    if draw(st.booleans()):
        entry["methods"] = draw(st.lists(_method(), max_size=3))
    if legacy and draw(st.booleans()):
        entry["queriedMethods"] = draw(st.lists(_method(), max_size=3))
    if draw(st.booleans()):
        entry["fields"] = draw(st.lists(st.builds(
            lambda n, w: {"name": n, "allowWrite": True} if w else {"name": n}, member_names, st.booleans()), max_size=2))
    return _with_condition(entry, draw(conditions if legacy else unified_conditions))


resource_names = st.sampled_from(["kafka/kafka-version.properties", "linux/amd64/libzstd-jni-1.5.6-6.so",
                                  "META-INF/services/x.Y", "a*b"])


@st.composite
def legacy_resource(draw):
    includes = []
    for name in draw(st.lists(resource_names, max_size=3)):
        module = draw(st.sampled_from(["", "java.base:"]))
        pattern = module + draw(st.sampled_from([
            "\\Q" + name + "\\E", name.replace(".", "\\."), "\\Q" + name.split("/")[0] + "/\\E.*"]))
        includes.append(_with_condition({"pattern": pattern}, draw(conditions)))
    bundles = [_with_condition({"name": n, "locales": draw(st.lists(st.sampled_from(["en", "und", "fr"]), max_size=2))},
                               draw(conditions))
               for n in draw(st.lists(st.sampled_from(["a.Messages", "sun.security.util.Resources"]), max_size=2))]
    doc = {"resources": {"includes": includes}, "bundles": bundles}
    if draw(st.booleans()):
        doc["resources"]["excludes"] = [{"pattern": ".*\\.txt"}]
    return doc


@st.composite
def unified_document(draw):
    doc = {"reflection": draw(st.lists(legacy_type_entry(legacy=False), max_size=4))}
    doc["resources"] = [_with_condition({"glob": g}, draw(unified_conditions))
                        for g in draw(st.lists(st.sampled_from(["kafka/*.properties", "**/x.so", "plain.txt"]), max_size=3))]
    if draw(st.booleans()):
        doc["reflection"].append({"type": {"proxy": draw(st.lists(plain_classes, min_size=1, max_size=2))}})
    return doc


@st.composite
def config_dir_documents(draw) -> dict[FileKind, object]:
    """One agent-shaped config dir: some legacy files, maybe a unified file too."""
    docs: dict[FileKind, object] = {}
    if draw(st.booleans()):
        docs[FileKind.REFLECT] = draw(st.lists(legacy_type_entry(), max_size=5))
    if draw(st.booleans()):
        docs[FileKind.JNI] = draw(st.lists(legacy_type_entry(), max_size=2))
    if draw(st.booleans()):
        docs[FileKind.RESOURCE] = draw(legacy_resource())
    if draw(st.booleans()):
        docs[FileKind.PROXY] = [_with_condition({"interfaces": i}, draw(conditions))
                                for i in draw(st.lists(st.lists(plain_classes, min_size=1, max_size=3), max_size=2))]
    if draw(st.booleans()):
        docs[FileKind.SERIALIZATION] = {
            "types": [_with_condition({"name": n, **({"customTargetConstructorClass": "java.lang.Object"} if c else {})},
                                      draw(conditions))
                      for n, c in draw(st.lists(st.tuples(plain_classes, st.booleans()), max_size=3))],
            "lambdaCapturingTypes": [{"name": n} for n in draw(st.lists(plain_classes, max_size=1))],
            "proxies": [],
        }
    if draw(st.booleans()):
        docs[FileKind.PREDEFINED_CLASSES] = [{"type": "agent-extracted", "classes": [
            {"hash": h, "nameInfo": "x.Y"} for h in draw(st.lists(st.sampled_from(["ab12", "cd34"]), max_size=2))]}]
    if draw(st.booleans()):
        docs[FileKind.UNIFIED] = draw(unified_document())
    return docs


def metadata_of(docs: dict[FileKind, object]) -> Metadata:
    acc = Accumulator()
    for kind, data in docs.items():
        add_to(acc, kind, data)
    return acc.build()


metadata_values = config_dir_documents().map(metadata_of)


def reparse(files: dict[str, str]) -> Metadata:
    """Parse rendered files back (file name -> text) into one value."""
    import json

    from metadata_pipeline.core.kinds import kind_of_file

    acc = Accumulator()
    for name, text in files.items():
        add_to(acc, kind_of_file(name), json.loads(text))
    return acc.build()
