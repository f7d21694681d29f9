"""Schema and semantic checks of metadata files: the one code path of ``validate`` and ``build``.

``validate`` prints every finding; ``build`` refuses a configs directory that has any, before a
ten-minute native-image run would trip over it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from metadata_pipeline.files.configdir import LOCK_FILE, find_config_dirs, read_json
from metadata_pipeline.core.checks import semantic_findings
from metadata_pipeline.core.errors import InvalidMetadata
from metadata_pipeline.core.kinds import FileKind
from metadata_pipeline.errors import InputError
from metadata_pipeline.files.schema import schema_errors

__all__ = ["Validation", "validate_paths"]


@dataclass(frozen=True)
class Validation:
    files: int  # metadata files checked
    findings: tuple[str, ...]  # one line each: FILE: JSON-POINTER: PROBLEM
    notes: tuple[str, ...] = ()  # only redundant (a duplicate entry): FILE: JSON-POINTER: note: PROBLEM

    @property
    def ok(self) -> bool:
        return not self.findings


def validate_paths(paths: Iterable[str | Path]) -> Validation:
    """Check every metadata file under ``paths`` (config dirs, files, or trees holding them).

    Raises ``InputError`` for a path that does not exist, holds no metadata, or has a file
    that is not JSON at all.
    """
    findings: list[str] = []
    notes: list[str] = []
    files = 0
    for cdir in find_config_dirs(paths):
        if cdir.locked:
            findings.append(f"{cdir.path / LOCK_FILE}: agent lock file left behind "
                            "(the agent is still running or was killed; its output may be incomplete)")
        for kind, path in cdir.files:
            files += 1
            try:
                data = read_json(path)
            except InvalidMetadata as exc:
                raise InputError(str(exc)) from None
            errors = schema_errors(kind, data)
            findings += [f"{path}: {e.entry}: {e.problem}" for e in errors]
            if not errors:  # semantic checks assume the shape the schema promises
                for f in semantic_findings(kind, data):
                    if f.note:
                        notes.append(f"{path}: {f.entry}: note: {f.problem}")
                    else:
                        findings.append(f"{path}: {f.entry}: {f.problem}")
                if kind is FileKind.PREDEFINED_CLASSES:
                    findings += _missing_classdata(cdir.path, path, data)
    return Validation(files, tuple(findings), tuple(notes))


def _missing_classdata(cdir: Path, path: Path, data: list) -> list[str]:
    """native-image defines a predefined class from its bytes beside the config; without them it cannot."""
    from metadata_pipeline.files.classdata import CLASSDATA_DIR

    return [f"{path}: /{i}/classes/{j}: no class data {CLASSDATA_DIR}/{c['hash']}.classdata beside the config"
            for i, group in enumerate(data) for j, c in enumerate(group.get("classes", []))
            if not (cdir / CLASSDATA_DIR / f"{c['hash']}.classdata").is_file()]
