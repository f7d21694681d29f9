"""What exists on a classpath: jars, class directories and the JDK's modules.

The edge that ``lint`` checks metadata against. ``ClassPath.open(paths)`` indexes the
names once; queries answer from memory:

>>> with ClassPath.open(["libs/*"]) as classpath:          # doctest: +SKIP
...     classpath.has_class("kafka.Kafka$")
...     classpath.has_resource("jdk/internal/icu/impl/data/icudt72b/nfkc.nrm", module="java.base")
...     classpath.classes_by_simple_name("LineMessageReader")

Modules: ``sources`` (path forms, jars, directories), ``jdk`` (finding and listing a
JDK, and why it is done that way), ``jimage`` (the module image's index), ``classfile``
(declared members), ``names`` (binary names and arrays), ``index`` (``ClassPath``).
"""

from metadata_pipeline.classpath.classfile import ClassMembers, MethodSignature
from metadata_pipeline.classpath.errors import ClassPathError
from metadata_pipeline.classpath.index import ClassPath
from metadata_pipeline.classpath.jdk import find_jdk
from metadata_pipeline.classpath.names import element_type, short_name
from metadata_pipeline.classpath.sources import Origin

__all__ = [
    "ClassPath", "ClassPathError", "ClassMembers", "MethodSignature", "Origin", "element_type",
    "short_name", "find_jdk",
]
