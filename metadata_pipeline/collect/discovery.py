"""Find Kafka's system tests with ducktape's own loader, in a subprocess.

Why a subprocess: Kafka pins an old ducktape (0.12.0) and its ``kafkatest`` package imports
what its own environment provides, while this project installs ducktape 0.17.0. Importing the
user's ``kafkatest`` into our process would also leave it cached there. So the loader runs in a
child Python (ours by default, or ``--python`` = the Kafka tests' own environment) with the
checkout's ``tests/`` first on ``PYTHONPATH``, so ``import kafkatest`` is the user's checkout
and not an installed copy; ``PYTHONDONTWRITEBYTECODE`` keeps ``__pycache__`` out of the
checkout (it is mounted read-only on the nodes later). Both ducktape versions load Kafka's
tests to the same test ids.

Test selection uses ducktape's syntax: ``path`` (a file, a directory or a glob),
``path::Class``, ``path::Class.method``, paths relative to the Kafka checkout as Kafka's
ducker-ak takes them; ``--exclude`` takes the same symbols.
"""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Sequence

from metadata_pipeline.collect.plan import Discovery, PlannedTest
from metadata_pipeline.errors import InputError, UsageError

__all__ = [
    "Discovery",
    "DiscoveryFailed",
    "NotAKafkaCheckout",
    "DEFAULT_SYMBOL",
    "check_kafka_dir",
    "discover",
]

DEFAULT_SYMBOL = "tests/kafkatest/tests"
_SCRIPT = Path(__file__).with_name("ducktape_discover.py")
_TIMEOUT_SECONDS = 600


class NotAKafkaCheckout(InputError):
    """``--kafka-dir`` is not a Kafka source checkout with its system tests."""


class DiscoveryFailed(InputError):
    """ducktape could not load the tests (missing ducktape, a broken import, a bad symbol)."""


def check_kafka_dir(kafka_dir: str | os.PathLike[str]) -> Path:
    path = Path(kafka_dir).resolve()
    if not path.is_dir():
        raise NotAKafkaCheckout(f"{kafka_dir}: no such directory")
    if not (path / "tests" / "kafkatest" / "__init__.py").is_file():
        raise NotAKafkaCheckout(f"{kafka_dir}: not a Kafka checkout (no tests/kafkatest package)")
    return path


def discover(kafka_dir: str | os.PathLike[str], symbols: Sequence[str] = (), exclude: Sequence[str] = (),
             python: str | None = None) -> Discovery:
    root = check_kafka_dir(kafka_dir)
    symbols = tuple(symbols) or (DEFAULT_SYMBOL,)
    request = {
        "tests_dir": str(root / "tests"),
        "symbols": [_absolute_symbol(root, s) for s in symbols],
        "exclude": [_absolute_symbol(root, s) for s in exclude],
    }
    interpreter = python or sys.executable
    result = _run_script(root, interpreter, request)
    if "error" in result:
        raise _failure(root, interpreter, result["error"])
    tests = tuple(sorted((_planned(root, t) for t in result["tests"]), key=lambda t: t.test_id))
    return Discovery(kafka_dir=str(root), symbols=symbols, exclude=tuple(exclude), python=result["python"],
                     ducktape_version=result["ducktape_version"], tests=tests)


def _absolute_symbol(root: Path, symbol: str) -> str:
    path, sep, rest = symbol.partition("::")
    if not path:
        raise UsageError(f"test symbol {symbol!r}: no path before '::'")
    full = os.path.normpath(os.path.join(root, path))
    if full != str(root) and not full.startswith(str(root) + os.sep):
        raise UsageError(f"test symbol {symbol!r}: {path} is outside the Kafka checkout {root}")
    if not glob.has_magic(full) and not os.path.exists(full):
        raise UsageError(f"test symbol {symbol!r}: {path} does not exist in {root}")
    return full + sep + rest


def _run_script(root: Path, python: str, request: dict) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root / "tests"), env.get("PYTHONPATH", "")) if p)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    with tempfile.TemporaryDirectory(prefix="metadata-pipeline-discovery-") as tmp:
        request_file, result_file = Path(tmp, "request.json"), Path(tmp, "result.json")
        request_file.write_text(json.dumps(request))
        try:
            proc = subprocess.run([python, str(_SCRIPT), str(request_file), str(result_file)], cwd=root, env=env,
                                  stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                  timeout=_TIMEOUT_SECONDS)
        except FileNotFoundError:
            raise DiscoveryFailed(f"{python}: no such Python interpreter") from None
        except PermissionError:
            raise DiscoveryFailed(f"{python}: not executable") from None
        except subprocess.TimeoutExpired:
            raise DiscoveryFailed(f"ducktape test discovery did not finish in {_TIMEOUT_SECONDS} s") from None
        if proc.returncode != 0 or not result_file.exists():
            last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise DiscoveryFailed(f"test discovery with {python} failed (exit {proc.returncode}): {last}")
        return json.loads(result_file.read_text())


def _failure(root: Path, python: str, error: dict) -> DiscoveryFailed:
    kind, message = error["kind"], error["message"]
    if kind == "no-ducktape":
        return DiscoveryFailed(
            f"{python} cannot import ducktape ({message}); install Kafka's test environment "
            f"(pip install -e {root}/tests) and pass its interpreter with --python")
    if kind == "import":
        module = error.get("module") or "a test module"
        where = _module_file(root, module)
        more = error.get("more", 0)
        suffix = f" (and {more} more failed import{'s' if more > 1 else ''})" if more else ""
        return DiscoveryFailed(
            f"{where}: cannot import {module}: {message}{suffix}; run discovery in the Kafka tests' own "
            "environment with --python")
    if kind == "shadowed":
        return DiscoveryFailed(f"{message}: remove the installed kafkatest from {python}'s environment")
    return DiscoveryFailed(f"ducktape: {message}")


def _module_file(root: Path, module: str) -> str:
    base = root / "tests" / Path(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return str(candidate.relative_to(root))
    return str(root / "tests")


def _planned(root: Path, entry: dict) -> PlannedTest:
    file = Path(entry["file"])
    try:
        file = file.resolve().relative_to(root)
    except ValueError:
        pass  # a test outside the checkout (a symbol through a symlink): keep its absolute path
    return PlannedTest(
        test_id=entry["test_id"],
        file=file.as_posix(),
        cls=entry["class"],
        method=entry["method"],
        injected_args=entry["injected_args"],
        ignored=entry["ignored"],
        nodes=entry["nodes"],
    )
