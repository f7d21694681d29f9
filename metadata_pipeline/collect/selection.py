"""``collect --tests-from FILE``: run only the tests a file lists (what ``coverage --select`` writes).

The file holds ducktape test ids, one a line; ``#`` starts a comment, blank lines are ignored.
Without TEST arguments only the files holding those tests are loaded. Every id must be one
ducktape's loader found; an id of a test marked ``@ignore`` needs ``--include-ignored``, as it
would on the command line.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from metadata_pipeline.collect.plan import Discovery
from metadata_pipeline.errors import InputError

__all__ = ["read_test_ids", "restrict", "symbols_for"]


def read_test_ids(path: Path) -> dict[str, int]:
    """Test id -> its line number, in file order."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a text file of test ids") from None
    ids: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        test_id = line.partition("#")[0].strip()
        if not test_id:
            continue
        if any(c.isspace() for c in test_id):
            raise InputError(f"{path}: line {number}: {test_id!r}: one test id a line")
        ids.setdefault(test_id, number)
    if not ids:
        raise InputError(f"{path}: lists no test ids")
    return ids


def symbols_for(kafka_dir: str | Path, path: Path) -> list[str]:
    """The test files (ducktape symbols, relative to the checkout) that hold the listed tests.

    A test id starts with its module (``kafkatest.tests.core.x_test.Class.method...``), so
    ducktape need load only those files; ids matching no file are reported by ``restrict``.
    """
    root = Path(kafka_dir)
    symbols = set()
    for test_id in read_test_ids(path):
        parts = test_id.split(".")
        for k in range(1, len(parts)):
            candidate = Path("tests", *parts[:k]).with_suffix(".py")
            if (root / candidate).is_file():
                symbols.add(candidate.as_posix())
                break
    return sorted(symbols)


def restrict(discovery: Discovery, path: Path, include_ignored: bool) -> Discovery:
    """``discovery`` with only the tests ``path`` lists; an id ducktape did not find is an error."""
    ids = read_test_ids(path)
    found = {t.test_id: t for t in discovery.tests}
    for test_id, number in ids.items():
        test = found.get(test_id)
        if test is None:
            raise InputError(f"{path}: line {number}: {test_id}: no such test among the {len(found)} ducktape "
                             f"found in {' '.join(discovery.symbols)}")
        if test.ignored and not include_ignored:
            raise InputError(f"{path}: line {number}: {test_id}: marked @ignore; pass --include-ignored to run it")
    return replace(discovery, tests=tuple(t for t in discovery.tests if t.test_id in ids))
