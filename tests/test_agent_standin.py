"""The stand-in for GraalVM's native-image agent (docker/agent-standin), run in real JVMs.

Every test starts a real OpenJDK 17 with the agent built by ``build.sh`` and a small Java
program from ``tests/fixtures/agent_standin``; what the files say must follow from what that
program did. Needs ``java``, ``javac`` and ``gcc`` on PATH.
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest

from conftest import REFERENCE

REPO = Path(__file__).resolve().parents[1]
BUILD_SH = REPO / "docker" / "agent-standin" / "build.sh"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "agent_standin"
SCHEMAS = REFERENCE / "graalvm-schemas"  # ../shared/reference, or MP_REFERENCE_DIR as for every test

SIX_FILES = {
    "jni-config.json": "jni-config-schema-v1.2.0.json",
    "predefined-classes-config.json": "predefined-classes-config-schema-v1.0.0.json",
    "proxy-config.json": "proxy-config-schema-v1.1.0.json",
    "reflect-config.json": "reflect-config-schema-v1.1.0.json",
    "resource-config.json": "resource-config-schema-v1.1.0.json",
    "serialization-config.json": "serialization-config-schema-v1.2.0.json",
}


@dataclass(frozen=True)
class Toolchain:
    agent: Path
    classes: Path


@pytest.fixture(scope="session")
def tools(tmp_path_factory: pytest.TempPathFactory) -> Toolchain:
    missing = [t for t in ("java", "javac", "gcc") if shutil.which(t) is None]
    if missing:
        pytest.fail(f"the agent stand-in tests need {', '.join(missing)} on PATH (openjdk-17-jdk-headless, gcc)")
    out = tmp_path_factory.mktemp("agent")
    # JAVA_HOME unset: build.sh must find the JDK from javac by itself
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    subprocess.run(["sh", str(BUILD_SH), str(out)], check=True, env=env, capture_output=True, timeout=120)
    classes = tmp_path_factory.mktemp("classes")
    sources = sorted(str(p) for p in FIXTURES.rglob("*.java"))
    subprocess.run(["javac", "-d", str(classes), *sources], check=True, capture_output=True, timeout=120)
    for data in FIXTURES.rglob("*.txt"):
        target = classes / data.relative_to(FIXTURES)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(data, target)
    return Toolchain(out / "libnative-image-agent.so", classes)


def java_cmd(tools: Toolchain, options: str, main: str, *args: str) -> list[str]:
    return ["java", f"-agentpath:{tools.agent}={options}", "-cp", str(tools.classes), main, *args]


def run_java(tools: Toolchain, options: str, main: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(java_cmd(tools, options, main, *args), capture_output=True, text=True, timeout=60)


def read_six(d: Path) -> dict[str, object]:
    names = {p.name for p in d.iterdir() if p.name.endswith(".json")}
    assert names == set(SIX_FILES), f"expected exactly the six legacy files in {d}, found {sorted(names)}"
    return {name: json.loads((d / name).read_text(encoding="utf-8")) for name in SIX_FILES}


def types(files: dict[str, object]) -> dict[str, dict]:
    entries = files["reflect-config.json"]
    names = [e["name"] for e in entries]
    assert names == sorted(names), "reflect-config.json must be sorted by name"
    return {e["name"]: e for e in entries}


def methods(entry: dict) -> list[tuple[str, tuple[str, ...]]]:
    return [(m["name"], tuple(m["parameterTypes"])) for m in entry.get("methods", [])]


def resources(files: dict[str, object]) -> list[str]:
    return [r["pattern"] for r in files["resource-config.json"]["resources"]["includes"]]


def proxies(files: dict[str, object]) -> list[list[str]]:
    return [p["interfaces"] for p in files["proxy-config.json"]]


def assert_finished_cleanly(d: Path) -> None:
    assert not (d / ".lock").exists(), ".lock must be removed after the final write"
    assert not list(d.glob("agent-pid*.tmp")), "temporary write directories must be removed"


def wait_for_line(proc: subprocess.Popen[str], prefix: str, timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            line = proc.stdout.readline()
            if line.startswith(prefix):
                return line
            if line == "":
                break
    proc.kill()
    raise AssertionError(f"no line starting with {prefix!r}; stderr: {proc.stderr.read()}")


# -- what the program did ends up in the files ----------------------------------------------

def test_program_a_records_exactly_its_reflection_resource_and_proxy(tools: Toolchain, tmp_path: Path) -> None:
    out = tmp_path / "a"
    res = run_java(tools, f"config-output-dir={out}", "standin.ProgramA")
    assert res.returncode == 0, res.stderr
    files = read_six(out)
    assert_finished_cleanly(out)
    # The launcher's lookup of main and JDK-internal reflection are filtered (builtin caller
    # filter); the missing class and the missing method are not recorded.
    assert set(types(files)) == {"standin.TargetA"}
    target = types(files)["standin.TargetA"]
    assert target.get("queryAllDeclaredMethods") is True
    assert [f["name"] for f in target["fields"]] == ["count", "label"]
    assert methods(target) == [("<init>", ("int",)), ("greet", ("java.lang.String", "byte[]"))]
    assert resources(files) == [r"\Qstandin/data-a.txt\E"]
    assert proxies(files) == [["java.lang.Runnable", "java.lang.AutoCloseable"]]
    assert files["jni-config.json"] == []
    assert files["serialization-config.json"] == {"types": [], "lambdaCapturingTypes": [], "proxies": []}
    assert files["predefined-classes-config.json"] == [{"type": "agent-extracted", "classes": []}]
    assert files["resource-config.json"]["bundles"] == []


def test_program_b_records_different_entries_and_system_exit_writes(tools: Toolchain, tmp_path: Path) -> None:
    out_a, out_b = tmp_path / "a", tmp_path / "b"
    assert run_java(tools, f"config-output-dir={out_a}", "standin.ProgramA").returncode == 0
    res = run_java(tools, f"config-output-dir={out_b}", "standin.ProgramB")
    assert res.returncode == 3, res.stderr  # System.exit(3): VM death still writes
    files = read_six(out_b)
    assert_finished_cleanly(out_b)
    found = types(files)
    assert set(found) == {"[Ljava.lang.String;", "standin.TargetB"}
    assert not set(found) & set(types(read_six(out_a)))
    target = found["standin.TargetB"]
    assert target.get("allPublicFields") is True
    assert [f["name"] for f in target["fields"]] == ["CONSTANT"]
    # getMethod on a class loaded with initialize=false (not linked yet) is still resolved
    assert methods(target) == [("<init>", ()), ("add", ("long[]", "java.util.List"))]
    # "\E" inside a name is quoted the way java.util.regex.Pattern.quote does it
    assert resources(files) == ['\\Qodd "name\\E\\\\E\\Q\u00e9.txt\\E', r"\Qstandin/data-b.txt\E"]
    assert proxies(files) == []


def test_many_threads_record_everything(tools: Toolchain, tmp_path: Path) -> None:
    out = tmp_path / "t"
    res = run_java(tools, f"config-output-dir={out}", "standin.Threads")
    assert res.returncode == 0, res.stderr
    files = read_six(out)
    expected = {f"java.util.{n}" for n in
                ("ArrayList", "HashMap", "TreeMap", "LinkedList", "ArrayDeque", "HashSet", "TreeSet", "Vector")}
    assert set(types(files)) == expected
    for entry in types(files).values():
        assert methods(entry) == [("<init>", ()), ("size", ())]
    # distinct names from all threads at once: the set grows while they insert
    assert resources(files) == sorted(rf"\Qstandin/thread-{t}-{i}.txt\E" for t in range(8) for i in range(100))


def test_without_builtin_caller_filter_jdk_lookups_appear(tools: Toolchain, tmp_path: Path) -> None:
    out = tmp_path / "n"
    res = run_java(tools, f"config-output-dir={out},builtin-caller-filter=false", "standin.ProgramA")
    assert res.returncode == 0, res.stderr
    found = types(read_six(out))
    # the launcher looks up main(String[]) reflectively: only visible without the filter
    assert ("main", ("java.lang.String[]",)) in methods(found["standin.ProgramA"])
    assert "standin.TargetA" in found


@pytest.mark.skipif(not SCHEMAS.is_dir(), reason="../shared/reference is not available")
def test_files_match_graalvm_schemas(tools: Toolchain, tmp_path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    for main in ("standin.ProgramA", "standin.ProgramB"):
        out = tmp_path / main
        run_java(tools, f"config-output-dir={out}", main)
        for name, data in read_six(out).items():
            schema = json.loads((SCHEMAS / SIX_FILES[name]).read_text(encoding="utf-8"))
            jsonschema.validate(data, schema)


# -- options --------------------------------------------------------------------------------

def test_unknown_option_stops_the_jvm(tools: Toolchain, tmp_path: Path) -> None:
    out = tmp_path / "u"
    res = run_java(tools, f"config-output-dir={out},bogus-option=1", "standin.ProgramA")
    assert res.returncode != 0
    assert "unknown option: 'bogus-option=1'" in res.stderr
    assert "pid=" not in res.stdout, "main must not run"
    assert not out.exists()


@pytest.mark.parametrize("options, message", [
    ("config-merge-dir={out}", "config-merge-dir= is not supported by this stand-in"),
    ("", "needs config-output-dir="),
    ("config-output-dir={out},config-write-period-secs=0", "config-write-period-secs must be an integer greater than 0"),
])
def test_unsupported_or_invalid_options_stop_the_jvm(tools: Toolchain, tmp_path: Path, options: str,
                                                     message: str) -> None:
    out = tmp_path / "o"
    res = run_java(tools, options.format(out=out), "standin.ProgramA")
    assert res.returncode != 0
    assert message in res.stderr
    assert not out.exists()


def test_options_it_cannot_honour_are_accepted(tools: Toolchain, tmp_path: Path) -> None:
    out = tmp_path / "x"
    options = (f"config-output-dir={out},experimental-class-define-support,track-reflection-metadata=false,"
               "builtin-heuristic-filter=true,config-write-initial-delay-secs=30")
    res = run_java(tools, options, "standin.ProgramA")
    assert res.returncode == 0, res.stderr
    assert "standin.TargetA" in types(read_six(out))


def test_pid_and_datetime_are_substituted(tools: Toolchain, tmp_path: Path) -> None:
    before = datetime.now(timezone.utc).replace(microsecond=0)
    res = run_java(tools, f"config-output-dir={tmp_path}/run-{{pid}}-{{datetime}}", "standin.ProgramA")
    assert res.returncode == 0, res.stderr
    pid = re.search(r"pid=(\d+)", res.stdout).group(1)
    [made] = list(tmp_path.iterdir())
    match = re.fullmatch(r"run-(\d+)-(\d{8}T\d{6}Z)", made.name)
    assert match and match.group(1) == pid, made.name
    stamp = datetime.strptime(match.group(2), "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    assert before <= stamp <= datetime.now(timezone.utc)
    read_six(made)


def test_agentlib_finds_the_library_through_ld_library_path(tools: Toolchain, tmp_path: Path) -> None:
    out = tmp_path / "lib"
    env = dict(os.environ, LD_LIBRARY_PATH=str(tools.agent.parent))
    res = subprocess.run(["java", f"-agentlib:native-image-agent=config-output-dir={out}", "-cp",
                          str(tools.classes), "standin.ProgramA"], capture_output=True, text=True, env=env,
                         timeout=60)
    assert res.returncode == 0, res.stderr
    assert set(types(read_six(out))) == {"standin.TargetA"}


def test_build_script_needs_an_output_dir() -> None:
    res = subprocess.run(["sh", str(BUILD_SH)], capture_output=True, text=True, timeout=30)
    assert res.returncode == 2
    assert "usage" in res.stderr


# -- filters --------------------------------------------------------------------------------

def write_filter(path: Path, *rules: tuple[str, str]) -> Path:
    path.write_text(json.dumps({"rules": [{key: value} for key, value in rules]}), encoding="utf-8")
    return path


def test_access_filter_excludes_a_class(tools: Toolchain, tmp_path: Path) -> None:
    flt = write_filter(tmp_path / "f.json", ("excludeClasses", "standin.TargetA"))
    out = tmp_path / "o"
    res = run_java(tools, f"config-output-dir={out},access-filter-file={flt}", "standin.ProgramA")
    assert res.returncode == 0, res.stderr
    files = read_six(out)
    assert types(files) == {}
    # only type names are filtered: the resource and the proxy of java.lang interfaces stay
    assert resources(files) == [r"\Qstandin/data-a.txt\E"]
    assert proxies(files) == [["java.lang.Runnable", "java.lang.AutoCloseable"]]


def test_later_filter_rules_win_across_files(tools: Toolchain, tmp_path: Path) -> None:
    first = write_filter(tmp_path / "1.json", ("excludeClasses", "standin.**"), ("excludeClasses", "java.lang.*"))
    second = write_filter(tmp_path / "2.json", ("includeClasses", "standin.*"))
    out = tmp_path / "o"
    res = run_java(tools, f"config-output-dir={out},access-filter-file={first},access-filter-file={second}",
                   "standin.ProgramA")
    assert res.returncode == 0, res.stderr
    files = read_six(out)
    assert set(types(files)) == {"standin.TargetA"}
    assert proxies(files) == []  # its interfaces are java.lang.*: excluded


def test_caller_filter_drops_calls_made_by_excluded_code(tools: Toolchain, tmp_path: Path) -> None:
    flt = write_filter(tmp_path / "c.json", ("excludeClasses", "standin.ProgramA"))
    out = tmp_path / "o"
    res = run_java(tools, f"config-output-dir={out},caller-filter-file={flt}", "standin.ProgramA")
    assert res.returncode == 0, res.stderr
    files = read_six(out)
    assert (types(files), resources(files), proxies(files)) == ({}, [], [])


def test_broken_filter_file_stops_the_jvm(tools: Toolchain, tmp_path: Path) -> None:
    flt = tmp_path / "broken.json"
    flt.write_text('{"rules": [{"includeClasses": "standin.**"}', encoding="utf-8")
    res = run_java(tools, f"config-output-dir={tmp_path / 'o'},access-filter-file={flt}", "standin.ProgramA")
    assert res.returncode != 0
    assert f"cannot parse filter file {flt}" in res.stderr


# -- the .lock protocol and when files are written ------------------------------------------

def test_locked_directory_refuses_to_start(tools: Toolchain, tmp_path: Path) -> None:
    out = tmp_path / "locked"
    out.mkdir()
    (out / ".lock").write_text("424242")
    res = run_java(tools, f"config-output-dir={out}", "standin.ProgramA")
    assert res.returncode != 0
    assert f"Output directory '{out}' is locked by process 424242" in res.stderr
    assert "pid=" not in res.stdout
    assert [p.name for p in out.iterdir()] == [".lock"]
    assert (out / ".lock").read_text() == "424242"


def test_sigterm_writes_the_final_files(tools: Toolchain, tmp_path: Path) -> None:
    out = tmp_path / "term"
    proc = subprocess.Popen(java_cmd(tools, f"config-output-dir={out}", "standin.Sleeper"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        pid = wait_for_line(proc, "READY").split("pid=")[1].strip()
        assert (out / ".lock").read_text() == pid
        assert not list(out.glob("*.json")), "nothing is written before exit without periodic snapshots"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 128 + signal.SIGTERM
    finally:
        proc.kill()
        proc.communicate()
    files = read_six(out)
    assert_finished_cleanly(out)
    assert methods(types(files)["standin.TargetA"]) == [("<init>", ())]


def test_sigkill_after_a_periodic_snapshot_leaves_it_and_a_stale_lock(tools: Toolchain, tmp_path: Path) -> None:
    out = tmp_path / "kill"
    options = f"config-output-dir={out},config-write-period-secs=1,config-write-initial-delay-secs=0"
    proc = subprocess.Popen(java_cmd(tools, options, "standin.Sleeper"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        pid = wait_for_line(proc, "READY").split("pid=")[1].strip()
        deadline = time.monotonic() + 15
        snapshot: dict[str, object] = {}
        while time.monotonic() < deadline and "standin.TargetA" not in types(snapshot or {"reflect-config.json": []}):
            time.sleep(0.2)
            if (out / "reflect-config.json").exists():
                # files are renamed into place whole, so any read parses
                snapshot = {"reflect-config.json": json.loads((out / "reflect-config.json").read_text())}
        assert "standin.TargetA" in types(snapshot), "no periodic snapshot with the program's lookups"
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        proc.kill()
        proc.communicate()
    files = read_six(out)
    assert methods(types(files)["standin.TargetA"]) == [("<init>", ())]
    assert (out / ".lock").read_text() == pid, "a killed JVM leaves its .lock behind"
