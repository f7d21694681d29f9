"""The configs directory a native image is built with, checked before anything runs.

Refused: a directory that still holds an agent ``.lock`` (native-image refuses it too, but
only after minutes of work), one with no metadata files directly inside, and one whose files
fail ``validate`` — the same checks, through the same code (``metadata_pipeline.files.validation``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from metadata_pipeline.nativebuild.options import ConfigSet
from metadata_pipeline.files.configdir import LOCK_FILE
from metadata_pipeline.core.kinds import FileKind, kind_of_file
from metadata_pipeline.errors import InputError

__all__ = ["CheckedConfigs", "check_configs"]


@dataclass(frozen=True)
class CheckedConfigs:
    directory: Path
    kinds: tuple[FileKind, ...]  # the metadata files present, in FileKind order

    def at(self, directory: str) -> ConfigSet:
        """The same files as native-image sees them under ``directory`` (host or mount path)."""
        return ConfigSet(directory, self.kinds)

    @property
    def format(self) -> str:
        return self.at(str(self.directory)).format

    def describe(self) -> str:
        return f"{self.format}, {len(self.kinds)} file{'s' if len(self.kinds) != 1 else ''}"


def check_configs(directory: Path) -> CheckedConfigs:
    from metadata_pipeline.files.validation import validate_paths

    if not directory.is_dir():
        raise InputError(f"{directory}: no such configs directory (write one with: metadata-pipeline merge ... -o {directory})")
    if (directory / LOCK_FILE).exists():
        raise InputError(f"{directory / LOCK_FILE}: the configs directory holds an agent lock file (the agent is "
                         "still running or was killed; merge the agent's output into a clean directory first)")
    present = {kind_of_file(entry.name) for entry in directory.iterdir() if entry.is_file()}
    kinds = tuple(kind for kind in FileKind if kind in present)
    if not kinds:
        raise InputError(f"{directory}: no metadata files directly inside (expected reflect-config.json, ... "
                         "or reachability-metadata.json)")
    result = validate_paths([directory / kind.file_name for kind in kinds])
    if not result.ok:
        raise InputError(f"{directory}: fails validate with {len(result.findings)} finding(s), the first: "
                         f"{result.findings[0]} (see all: metadata-pipeline validate {directory})")
    return CheckedConfigs(directory, kinds)
