"""Java type names: JVM descriptors (``[B``) and source names (``byte[]``) are one type.

The model keeps source names (the unified format's spelling); the legacy writer turns
array types back into descriptors, as the agent writes them in reflect/jni configs.
"""

from __future__ import annotations

from functools import lru_cache

from metadata_pipeline.core.errors import InvalidMetadata

__all__ = ["source_name", "descriptor_name", "is_array", "element_name", "simple_name", "package_name"]

_PRIMITIVE_BY_CODE = {
    "B": "byte", "C": "char", "D": "double", "F": "float",
    "I": "int", "J": "long", "S": "short", "Z": "boolean", "V": "void",
}
_CODE_BY_PRIMITIVE = {v: k for k, v in _PRIMITIVE_BY_CODE.items()}


@lru_cache(maxsize=None)
def source_name(name: str) -> str:
    """``[Ljava.lang.String;`` -> ``java.lang.String[]``; other names unchanged."""
    if not name.startswith("["):
        return name
    dims = len(name) - len(name.lstrip("["))
    element = name[dims:]
    if element.startswith("L") and element.endswith(";") and len(element) > 2:
        element = element[1:-1]
    elif element in _PRIMITIVE_BY_CODE and element != "V":
        element = _PRIMITIVE_BY_CODE[element]
    else:
        raise InvalidMetadata(f"malformed array type descriptor {name!r}")
    return element + "[]" * dims


@lru_cache(maxsize=None)
def descriptor_name(name: str) -> str:
    """``java.lang.String[]`` -> ``[Ljava.lang.String;``; non-array names unchanged."""
    if not name.endswith("[]"):
        return name
    element = name.rstrip("[]")
    dims = (len(name) - len(element)) // 2
    code = _CODE_BY_PRIMITIVE.get(element)
    return "[" * dims + (code if code else f"L{element};")


def is_array(name: str) -> bool:
    return name.endswith("[]") or name.startswith("[")


def element_name(name: str) -> str:
    """The element type of an array (``byte[][]`` -> ``byte``), else the name itself."""
    return source_name(name).replace("[]", "")


def package_name(name: str) -> str:
    element = element_name(name)
    return element.rpartition(".")[0]


def simple_name(name: str) -> str:
    return element_name(name).rpartition(".")[2]
