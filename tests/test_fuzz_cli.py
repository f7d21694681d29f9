"""Fuzzing merge, validate, diff and lint with mutations of real metadata (issue 15).

Seeds are Kafka's real configs (``../shared/reference/kafka-native-image-configs``) and the
reference corpus when present, the repository's own committed configs otherwise. Each case
mutates one file a few times (bytes flipped, cut, repeated; tokens that broke the tool once:
deep nesting, duplicate keys, NUL, form feeds, huge numbers and strings) and runs the commands
in-process, as the entry point does. The promise checked:

- exit 0, 1 or 2, and never an exception out of ``main`` (a traceback for the user);
- on 2 exactly one ``error:`` line on stderr, naming the mutated file or its directory;
- the output directory (pre-filled) and every input untouched on failure.

``MP_HYPOTHESIS_PROFILE=stress`` runs thousands of cases; CI runs a few hundred.
"""

from __future__ import annotations

import contextlib
import io
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metadata_pipeline.cli import main as cli
from metadata_pipeline.core.kinds import kind_of_file

from conftest import REFERENCE, ROOT

FILTER = ROOT / "system-test-overrides" / "filters" / "kafka.json"


def _seeds() -> list[Path]:
    found: list[Path] = []
    kafka = REFERENCE / "kafka-native-image-configs"
    if kafka.is_dir():
        found += sorted(p for p in kafka.rglob("*.json") if kind_of_file(p.name))
    corpus = REFERENCE / "reachability-corpus"
    if corpus.is_dir():
        found += sorted(p for p in corpus.rglob("*.json") if kind_of_file(p.name) and p.stat().st_size < 200_000)
    return found or sorted(p for p in (ROOT / "native-image-configs").iterdir() if kind_of_file(p.name))


SEEDS = _seeds()
# Tokens that once broke a reader: each is inserted whole.
TOKENS = [b'"', b"{", b"}", b"[", b"]", b",", b":", b"\\", b"\x00", b"\f", b"\xff", b"\xef\xbb\xbf",
          b"[" * 1000, b"{\"a\":" * 300, b"18446744073709551616", b"1e400", b"NaN", b'"\\u0000"', b'"\\u003a"',
          b'"name":"x",', b'"name":"",', b'"typeReachable":"["', b'"condition":{"typeReachable":"[Q"},',
          b'"' + b"x" * 100_000 + b'"', b"\n},\n{", b'"\\ud800"', b"-0", b"true", b"null"]


@st.composite
def mutated_file(draw) -> tuple[Path, bytes]:
    seed = draw(st.sampled_from(SEEDS))
    data = bytearray(seed.read_bytes())
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["flip", "delete", "insert", "truncate", "repeat"]))
        if op == "flip" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif op == "delete":
            del data[at:at + draw(st.integers(1, 16))]
        elif op == "insert":
            data[at:at] = draw(st.sampled_from(TOKENS))
        elif op == "truncate":
            del data[at:]
        elif op == "repeat":
            data[at:at] = data[at:at + draw(st.integers(1, 400))]
    return seed, bytes(data)


def _run(*args: object) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli([str(a) for a in args])
        except SystemExit as exc:  # argparse only
            code = exc.code if isinstance(exc.code, int) else 2
    return code, out.getvalue(), err.getvalue()


def _classpath(base: Path) -> Path:
    """One jar with one class: lint needs a classpath, its content does not matter here."""
    jar = base / "classpath" / "dummy.jar"
    jar.parent.mkdir()
    with zipfile.ZipFile(jar, "w") as z:
        z.writestr("org/example/Dummy.class", b"\xca\xfe\xba\xbe")
    return jar.parent


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _check(result: tuple[int, str, str], bad_file: Path, what: str) -> None:
    code, _out, err = result
    assert code in (0, 1, 2), (what, code, err[-2000:])
    assert "Traceback" not in err, (what, err[-2000:])
    if code == 2:
        lines = err.splitlines()
        errors = [line for line in lines if line.startswith("error:")]
        assert len(errors) == 1, (what, err[-2000:])
        assert str(bad_file) in errors[0] or str(bad_file.parent) in errors[0], (what, errors[0][:500])
        assert len(errors[0]) < 1000, (what, errors[0][:500])


@settings(suppress_health_check=list(HealthCheck), deadline=None)
@given(case=mutated_file(), unified=st.booleans(), with_filter=st.booleans())
def test_fuzzed_input_keeps_the_promise(tmp_path_factory: pytest.TempPathFactory, case, unified: bool,
                                        with_filter: bool) -> None:
    seed, data = case
    base = tmp_path_factory.mktemp("fuzz")
    good = base / "good"
    good.mkdir()
    (good / seed.name).write_bytes(seed.read_bytes())
    bad_dir = base / "bad"
    bad_dir.mkdir()
    bad = bad_dir / seed.name
    bad.write_bytes(data)
    out = base / "out"
    out.mkdir()
    (out / "reflect-config.json").write_text('[\n  {\n    "name": "previous.Output"\n  }\n]\n')
    (out / "README.md").write_text("kept\n")
    inputs_before = _tree(good), _tree(bad_dir)
    out_before = _tree(out)
    extra = ["--format", "unified"] if unified else []
    extra += ["--filter", FILTER] if with_filter else []

    merge = _run("merge", bad_dir, good, "-o", out, "--no-config", *extra)
    _check(merge, bad, "merge")
    if merge[0] != 0:
        assert _tree(out) == out_before, "a failed merge touched the output"
    _check(_run("merge", bad_dir, "-o", base / "never", "--no-config", "--strict-schema"), bad, "merge --strict-schema")
    skip = _run("merge", bad_dir, good, "-o", base / "skipped", "--no-config", "--skip-invalid")
    _check(skip, bad, "merge --skip-invalid")
    _check(_run("validate", bad_dir), bad, "validate")
    _check(_run("diff", good, bad_dir), bad, "diff")
    _check(_run("lint", bad_dir, "--classpath", _classpath(base), "--no-jdk"), bad, "lint")
    assert (_tree(good), _tree(bad_dir)) == inputs_before, "an input was modified"
