"""The metadata file kinds native-image reads, by their conventional file names."""

from __future__ import annotations

from enum import Enum

__all__ = ["FileKind", "UNIFIED_FILE", "LEGACY_FILES", "kind_of_file"]


class FileKind(str, Enum):
    REFLECT = "reflect"
    JNI = "jni"
    PROXY = "proxy"
    RESOURCE = "resource"
    SERIALIZATION = "serialization"
    PREDEFINED_CLASSES = "predefined-classes"
    UNIFIED = "reachability-metadata"

    @property
    def file_name(self) -> str:
        return UNIFIED_FILE if self is FileKind.UNIFIED else f"{self.value}-config.json"

    @property
    def is_legacy(self) -> bool:
        return self is not FileKind.UNIFIED


UNIFIED_FILE = "reachability-metadata.json"
LEGACY_FILES: dict[str, FileKind] = {k.file_name: k for k in FileKind if k.is_legacy}


def kind_of_file(name: str) -> FileKind | None:
    """The kind a file name stands for, or None for files native-image does not read."""
    if name == UNIFIED_FILE:
        return FileKind.UNIFIED
    return LEGACY_FILES.get(name)
