"""``ClassPath``: what exists on a classpath (jars, class directories) and in the JDK.

Lookups follow the JVM: the JDK's modules come first (the boot loader answers before the
class path), then the class path in order; the first place that has a name is its origin.
Names are indexed at open; class bytes are read and parsed only when ``class_members``
asks, once per class.

Multi-release jars: an entry ``META-INF/versions/N/a/B.class`` also stands for the class
``a.B`` and the resource ``a/B.class`` (whatever N, and without reading the manifest: lint
asks whether a name can exist, not which copy a given JVM would pick).
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType
from typing import Iterator, Sequence

from metadata_pipeline.classpath.classfile import ClassFormatError, ClassMembers, read_members
from metadata_pipeline.classpath.errors import ClassPathError
from metadata_pipeline.classpath.jdk import Jdk, find_jdk
from metadata_pipeline.classpath.jimage import ImageEntry, ImageIndex, JImageFormatError, read_image_resource
from metadata_pipeline.classpath.names import PRIMITIVES, class_name_of_entry, element_type, short_name
from metadata_pipeline.classpath.sources import Origin, Source, expand, open_source

__all__ = ["ClassPath"]

_VERSIONS = "META-INF/versions/"


class ClassPath:
    """An index of class and resource names; build it with ``ClassPath.open``, then query.

    Holds the jars open (for ``class_members``): use it as a context manager or ``close()``.
    """

    def __init__(self) -> None:
        # ClassPath.open fills these; origins are referred to by their index in ``origins``.
        self.origins: list[Origin] = []
        self.jdk: Jdk | None = None
        self._sources: dict[int, Source] = {}  # jar / directory origins only
        self._names: list[list[str]] = []  # per origin: its resource names
        self._classes: dict[str, tuple[int, str]] = {}  # binary name -> (origin, entry to read)
        self._resources: dict[str, int] = {}  # resource path -> first origin
        self._by_short_name: dict[str, list[str]] | None = None
        self._module_names: dict[str, frozenset[str]] = {}
        self._members: dict[str, ClassMembers | None] = {}
        self._jdk_image: tuple[ImageIndex, dict[tuple[str, str], ImageEntry]] | None = None

    @classmethod
    def open(cls, paths: Sequence[str | os.PathLike[str]], include_jdk: bool = True,
             jdk: str | os.PathLike[str] | None = None, cache_dir: Path | None = None) -> "ClassPath":
        """Index ``paths`` and, unless ``include_jdk`` is false, the JDK's modules.

        ``paths`` take the forms described in ``metadata_pipeline.classpath.sources``.
        ``jdk`` is the JDK home (else ``$JAVA_HOME``, else the ``java`` on ``PATH``);
        ``cache_dir`` overrides where the JDK listing is cached. Raises ``ClassPathError``
        for a missing path, an unreadable jar, an empty classpath, or no JDK.
        """
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]  # one path, not a sequence of one-letter paths
        classpath = cls()
        try:
            planned = expand(paths)  # checks every path exists before any slow work
            if include_jdk:
                classpath._add_jdk(Jdk(find_jdk(jdk)), cache_dir)
            for item in planned:
                classpath._add_source(open_source(item))
            if not classpath._has_user_classes():
                shown = " ".join(str(path) for path in paths) or "(no path given)"
                raise ClassPathError(f"empty classpath: no jar and no class file found in {shown}")
        except BaseException:
            classpath.close()
            raise
        return classpath

    # -- queries ---------------------------------------------------------------------------

    def has_class(self, name: str) -> bool:
        """Whether a class exists: ``a.b.C``, ``a.b.C$Inner``, ``a.b.C[]``, ``[La.b.C;``,
        ``byte[]``, ``[B``. Arrays exist when their element does; primitives always do."""
        element = element_type(name)
        return element in PRIMITIVES or element in self._classes

    def has_resource(self, name: str, module: str | None = None) -> bool:
        """Whether a resource path (``kafka/kafka-version.properties``) exists anywhere;
        with ``module``, only inside that JDK module (jars are unnamed modules)."""
        if module is None:
            return name in self._resources
        return name in self._module_resource_names(module)

    def resources(self) -> Iterator[tuple[Origin, str]]:
        """Every (origin, resource path), in classpath order; a name may come from several
        origins. Class files are resources too (``org/slf4j/impl/StaticLoggerBinder.class``)."""
        for origin, names in zip(self.origins, self._names):
            for name in names:
                yield origin, name

    def classes_by_simple_name(self, simple: str) -> list[str]:
        """Binary names of every class whose short name (see ``names.short_name``) is
        ``simple``'s, sorted. A full binary name may be passed: its short name is used."""
        if self._by_short_name is None:
            by_short_name: dict[str, list[str]] = {}
            for binary in self._classes:
                by_short_name.setdefault(short_name(binary), []).append(binary)
            self._by_short_name = by_short_name
        return sorted(self._by_short_name.get(short_name(simple), ()))

    def class_members(self, name: str) -> ClassMembers | None:
        """The methods and fields a class declares, read from its class file on first ask.

        ``None`` when the class is not here, is a primitive or array type, or sits
        compressed in the JDK image. A class file that cannot be parsed raises
        ``ClassPathError`` naming the jar and entry.
        """
        if name in self._members:
            return self._members[name]
        found = self._classes.get(name)
        members = None if found is None else self._read_members(name, *found)
        self._members[name] = members
        return members

    def origin_of(self, name: str, module: str | None = None) -> Origin | None:
        """Where a class (by binary or array name) or else a resource path is first found."""
        if module is None:
            found = self._classes.get(element_type(name))
            if found is not None:
                return self.origins[found[0]]
            index = self._resources.get(name)
            return None if index is None else self.origins[index]
        if name in self._module_resource_names(module):
            return next(origin for origin in self.origins if origin.kind == "jdk" and origin.module == module)
        return None

    @property
    def jdk_modules(self) -> frozenset[str]:
        return frozenset(origin.module for origin in self.origins if origin.kind == "jdk" and origin.module)

    # -- lifetime --------------------------------------------------------------------------

    def close(self) -> None:
        for source in self._sources.values():
            source.close()
        self._sources.clear()

    def __enter__(self) -> "ClassPath":
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    # -- building --------------------------------------------------------------------------

    def _add_jdk(self, jdk: Jdk, cache_dir: Path | None) -> None:
        self.jdk = jdk
        for module, names in jdk.listing(cache_dir).items():
            self._index(self._new_origin(Origin("jdk", str(jdk.home), module), names), names)

    def _add_source(self, source: Source) -> None:
        origin = self._new_origin(source.origin, source.names)
        self._sources[origin] = source
        self._index(origin, source.names)

    def _new_origin(self, origin: Origin, names: list[str]) -> int:
        self.origins.append(origin)
        self._names.append(names)
        return len(self.origins) - 1

    def _index(self, origin: int, names: list[str]) -> None:
        resources = self._resources
        classes = self._classes
        versioned = []
        for name in names:
            if name not in resources:
                resources[name] = origin
            if name.startswith(_VERSIONS):
                versioned.append(name)
            elif name.endswith(".class"):
                binary = class_name_of_entry(name)
                if binary is not None and binary not in classes:
                    classes[binary] = (origin, name)
        if versioned:
            self._index_versioned(origin, names, versioned)

    def _index_versioned(self, origin: int, names: list[str], versioned: list[str]) -> None:
        # Second pass, so a plain entry of the same jar stays the one class_members reads.
        present = set(names)
        for entry in versioned:
            version, _, logical = entry[len(_VERSIONS):].partition("/")
            if not version.isdigit() or not logical:
                continue
            if logical not in present:
                present.add(logical)
                names.append(logical)  # resources() shows the name a class loader answers to
            self._resources.setdefault(logical, origin)
            binary = class_name_of_entry(logical)
            if binary is not None:
                self._classes.setdefault(binary, (origin, entry))

    def _has_user_classes(self) -> bool:
        for index, origin in enumerate(self.origins):
            if origin.kind == "jar":
                return True
            if origin.kind == "directory" and any(class_name_of_entry(n) for n in self._names[index]):
                return True
        return False

    def _module_resource_names(self, module: str) -> frozenset[str]:
        names = self._module_names.get(module)
        if names is None:
            names = frozenset(name for origin, names_of in zip(self.origins, self._names)
                              if origin.kind == "jdk" and origin.module == module for name in names_of)
            self._module_names[module] = names
        return names

    def _read_members(self, name: str, origin_index: int, entry: str) -> ClassMembers | None:
        origin = self.origins[origin_index]
        if origin.kind == "jdk":
            data = self._read_jdk(origin.module or "", entry)
        elif origin_index in self._sources:
            data = self._sources[origin_index].read(entry)
        else:
            raise ValueError("class_members on a closed ClassPath")
        if data is None:
            return None
        try:
            return read_members(data)
        except ClassFormatError as error:
            raise ClassPathError(f"{origin}: {entry}: {error}") from None

    def _read_jdk(self, module: str, entry: str) -> bytes | None:
        if self.jdk is None:
            return None
        if self._jdk_image is None:
            # The listing may have come from the cache: offsets need the image's index.
            index = self.jdk.image_index()
            if index is None:
                return None
            self._jdk_image = (index, {(e.module, e.name): e for e in index.entries})
        index, entries = self._jdk_image
        found = entries.get((module, entry))
        if found is None:
            return None
        try:
            return read_image_resource(index, found)
        except (JImageFormatError, OSError) as error:
            raise ClassPathError(f"{index.path}: cannot read {module}/{entry}: {error}") from None
