"""Build real jars at test time: zip files holding compiled classes and resources.

Classes come from ``javac`` (``compile_java``) or, for name-only needs, from
``class_file``, which writes a minimal valid class file in Python (an abstract class:
fields and abstract methods need no bytecode). ``write_jar`` zips any entries, with a
manifest when asked (``Multi-Release: true`` for multi-release jars).
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zipfile
from pathlib import Path
from typing import Mapping, Sequence

__all__ = ["javac", "compile_java", "class_file", "write_jar", "entry_of"]

_ACC_PUBLIC, _ACC_SUPER, _ACC_ABSTRACT = 0x0001, 0x0020, 0x0400


def javac() -> str:
    """The javac of $JAVA_HOME, else of PATH; fails loudly: CI installs a JDK."""
    home = os.environ.get("JAVA_HOME")
    if home and os.access(Path(home, "bin", "javac"), os.X_OK):
        return str(Path(home, "bin", "javac"))
    found = shutil.which("javac")
    if not found:
        raise RuntimeError("javac not found: install a JDK or set JAVA_HOME")
    return found


def compile_java(sources: Mapping[str, str], work: Path) -> dict[str, bytes]:
    """Compile ``{"a/b/C.java": source}`` in one javac run; return ``{entry: class bytes}``
    for every class file produced (nested and anonymous classes included)."""
    source_root = work / "src"
    out = work / "classes"
    for relative, text in sources.items():
        target = source_root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    out.mkdir(parents=True, exist_ok=True)
    command = [javac(), "-encoding", "UTF-8", "-nowarn", "-d", str(out),
               *(str(source_root / relative) for relative in sources)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"javac failed:\n{done.stderr}")
    return {path.relative_to(out).as_posix(): path.read_bytes() for path in sorted(out.rglob("*.class"))}


def entry_of(binary_name: str) -> str:
    return binary_name.replace(".", "/") + ".class"


def class_file(binary_name: str, fields: Sequence[tuple[str, str]] = (),
               methods: Sequence[tuple[str, str]] = (), major: int = 52) -> bytes:
    """A minimal valid class file: abstract class ``binary_name`` extending Object, with
    ``fields`` and abstract ``methods`` given as (name, JVM descriptor) pairs."""
    pool: list[bytes] = []
    indexes: dict[tuple[int, bytes], int] = {}

    def constant(tag: int, payload: bytes) -> int:
        if (tag, payload) not in indexes:
            pool.append(bytes([tag]) + payload)
            indexes[(tag, payload)] = len(pool)
        return indexes[(tag, payload)]

    def utf8(text: str) -> int:
        raw = text.encode("utf-8")
        return constant(1, struct.pack(">H", len(raw)) + raw)

    def class_ref(binary: str) -> int:
        return constant(7, struct.pack(">H", utf8(binary.replace(".", "/"))))

    this_class = class_ref(binary_name)
    super_class = class_ref("java.lang.Object")
    members = []
    for table, flags in ((fields, _ACC_PUBLIC), (methods, _ACC_PUBLIC | _ACC_ABSTRACT)):
        encoded = [struct.pack(">HHHH", flags, utf8(name), utf8(descriptor), 0) for name, descriptor in table]
        members.append(struct.pack(">H", len(encoded)) + b"".join(encoded))
    return b"".join([
        struct.pack(">IHHH", 0xCAFEBABE, 0, major, len(pool) + 1),
        *pool,
        struct.pack(">HHHH", _ACC_PUBLIC | _ACC_SUPER | _ACC_ABSTRACT, this_class, super_class, 0),
        *members,
        struct.pack(">H", 0),  # class attributes
    ])


def write_jar(path: Path, entries: Mapping[str, bytes | str], manifest: Mapping[str, str] | None = None,
              directories: bool = True) -> Path:
    """Zip ``entries`` (name -> bytes or text) into ``path``, as the ``jar`` tool lays them
    out: manifest first, then a directory entry for every parent folder (unless
    ``directories`` is false), then the files."""
    path.parent.mkdir(parents=True, exist_ok=True)
    names: dict[str, bytes] = {}
    if manifest is not None:
        lines = ["Manifest-Version: 1.0", *(f"{key}: {value}" for key, value in manifest.items())]
        names["META-INF/MANIFEST.MF"] = ("\r\n".join(lines) + "\r\n\r\n").encode()
    for name, content in entries.items():
        names[name] = content.encode() if isinstance(content, str) else content
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as jar:
        written: set[str] = set()
        for name, content in names.items():
            if directories:
                parts = name.split("/")[:-1]
                for depth in range(1, len(parts) + 1):
                    folder = "/".join(parts[:depth]) + "/"
                    if folder not in written:
                        written.add(folder)
                        jar.writestr(folder, b"")
            jar.writestr(name, content)
    return path
