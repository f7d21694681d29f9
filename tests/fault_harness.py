"""Runs ``python -m metadata_pipeline ARGS`` exactly as a user does, with a real signal sent to
the process itself at one chosen step (a test tool, not part of the product).

FAULT_ON=write (default): the steps are each call of the file-system operations a commit is
made of (mkdir, fsync, rename, replace, the atomic exchange, rmtree, copy), before
and after the call; the signal FAULT_SIGNAL (KILL, INT, TERM) goes at step FAULT_AT (1-based;
0 = none). With FAULT_COUNT_FILE set, the steps seen are written there at exit, one a line.
FAULT_ON=startup: FAULT_SIGNAL at the first command module import (argument parsing, start-up).
FAULT_ON=exit: SIGINT just after the command has returned its exit code.
"""

from __future__ import annotations

import atexit
import importlib
import os
import runpy
import shutil
import signal
import sys

ON = os.environ.get("FAULT_ON", "write")
AT = int(os.environ.get("FAULT_AT", "0"))
SIG = getattr(signal, "SIG" + os.environ.get("FAULT_SIGNAL", "KILL"))
COUNT_FILE = os.environ.get("FAULT_COUNT_FILE")
steps: list[str] = []


def _step(label: str) -> None:
    steps.append(label)
    if len(steps) == AT:
        os.kill(os.getpid(), SIG)


def _wrap(owner: object, name: str) -> None:
    original = getattr(owner, name)

    def wrapper(*args, **kwargs):
        _step(f"before {name} {args[:1]}")
        result = original(*args, **kwargs)
        _step(f"after {name} {args[:1]}")
        return result

    setattr(owner, name, wrapper)


if ON == "write":
    for name in ("mkdir", "fsync", "rename", "replace"):
        _wrap(os, name)
    for name in ("rmtree", "copytree", "copy2"):
        _wrap(shutil, name)
    try:
        import metadata_pipeline.files.fsio as fsio
    except ImportError:  # a version without it
        pass
    else:
        _wrap(fsio, "_exchange")
    if COUNT_FILE:
        atexit.register(lambda: open(COUNT_FILE, "w").write("".join(f"{s}\n" for s in steps)))
elif ON == "startup":
    real_import = importlib.import_module

    def interrupted_import(name, *args, **kwargs):
        if name.startswith("metadata_pipeline.commands."):
            importlib.import_module = real_import
            os.kill(os.getpid(), SIG)
        return real_import(name, *args, **kwargs)

    importlib.import_module = interrupted_import
elif ON == "exit":
    import metadata_pipeline.cli as cli

    real_main = cli.main

    def main_then_interrupt(*args, **kwargs):
        code = real_main(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGINT)
        return code

    cli.main = main_then_interrupt

sys.argv = ["metadata-pipeline", *sys.argv[1:]]
runpy.run_module("metadata_pipeline", run_name="__main__", alter_sys=True)
