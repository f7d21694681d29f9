"""Predefined classes' bytes: ``agent-extracted-predefined-classes/<hash>.classdata``.

``predefined-classes-config.json`` only lists hashes; native-image defines each class from the
file of that hash beside the config, so a merged config without the files is useless. As
GraalVM's ``generate`` does, ``merge`` copies each listed hash's file from the input dir that
has it into the output (one file per hash: equal hashes are equal bytes).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Iterable

from metadata_pipeline.files.configdir import ConfigDir
from metadata_pipeline.core.model import PredefinedClass

__all__ = ["CLASSDATA_DIR", "classdata_sources", "copy_classdata"]

CLASSDATA_DIR = "agent-extracted-predefined-classes"
_SUFFIX = ".classdata"


def classdata_sources(dirs: Iterable[ConfigDir], classes: Iterable[PredefinedClass]) -> tuple[dict[str, Path], list[str]]:
    """(hash -> the first input file holding its bytes, hashes no input has a file for)."""
    wanted = {c.hash for c in classes}
    found: dict[str, Path] = {}
    for cdir in dirs:
        if len(found) == len(wanted):
            break
        folder = cdir.path / CLASSDATA_DIR
        if not folder.is_dir():
            continue
        for hash_ in wanted - found.keys():
            path = folder / (hash_ + _SUFFIX)
            if path.is_file():
                found[hash_] = path
    return found, sorted(wanted - found.keys())


def copy_classdata(sources: dict[str, Path], out_dir: Path) -> None:
    """Copy the class files into ``out_dir`` (the not yet swapped-in output directory)."""
    if not sources:
        return
    target = out_dir / CLASSDATA_DIR
    target.mkdir(exist_ok=True)
    for hash_, path in sorted(sources.items()):
        shutil.copyfile(path, target / (hash_ + _SUFFIX))
