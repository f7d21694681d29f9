"""Java class names as the classpath sees them: binary names, arrays, entry paths.

Metadata names a class by its binary name (``a.b.Outer$Inner``), arrays either in source
form (``byte[]``, ``a.b.C[][]``) or as JVM descriptors (``[B``, ``[La.b.C;``). A jar or
the JDK image holds the class as the entry ``a/b/Outer$Inner.class``.
"""

from __future__ import annotations

__all__ = ["PRIMITIVES", "element_type", "short_name", "class_name_of_entry", "entry_of_class"]

PRIMITIVES = frozenset({"boolean", "byte", "char", "short", "int", "long", "float", "double", "void"})
_PRIMITIVE_BY_CODE = {
    "B": "byte", "C": "char", "D": "double", "F": "float",
    "I": "int", "J": "long", "S": "short", "Z": "boolean",
}


def element_type(name: str) -> str:
    """The class an (array) type name stands for: ``a.b.C[][]`` and ``[[La.b.C;`` give ``a.b.C``.

    A primitive array gives the primitive (``[B`` -> ``byte``). A malformed descriptor is
    returned unchanged, so that a lookup of it simply fails.
    """
    if name.startswith("["):
        element = name.lstrip("[")
        if element.startswith("L") and element.endswith(";") and len(element) > 2:
            return element[1:-1]
        return _PRIMITIVE_BY_CODE.get(element, name)
    while name.endswith("[]"):
        name = name[:-2]
    return name


def short_name(binary_name: str) -> str:
    """The name a class is known by without its package or enclosing classes.

    ``a.b.Outer$Inner`` -> ``Inner``; ``a.b.C`` -> ``C``. A trailing ``$`` (Scala's companion
    ``Foo$``) is not a nesting step, so ``a.Foo$`` -> ``Foo``. Moved classes are found by
    this name (``kafka.tools.ConsoleProducer$LineMessageReader`` became the top-level
    ``org.apache.kafka.tools.LineMessageReader``).
    """
    simple = element_type(binary_name).rpartition(".")[2]
    parts = [part for part in simple.split("$") if part]
    return parts[-1] if parts else simple


def class_name_of_entry(entry: str) -> str | None:
    """``a/b/C$D.class`` -> ``a.b.C$D``; ``None`` for resources and module/package descriptors."""
    if not entry.endswith(".class"):
        return None
    path = entry[:-6]
    leaf = path.rpartition("/")[2]
    # module-info is not a loadable class; package-info is (Class.forName finds it), keep it.
    if not leaf or leaf == "module-info":
        return None
    return path.replace("/", ".")


def entry_of_class(binary_name: str) -> str:
    return binary_name.replace(".", "/") + ".class"
