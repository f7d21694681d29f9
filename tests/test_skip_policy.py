"""The CI skip policy (tests/skip_policy.py), in real pytest sessions run by pytester."""

from __future__ import annotations

import pytest

from skip_policy import KAFKA_DIR_VARIABLE

TESTS = """
import pytest

def test_runs():
    pass

def test_skips():
    pytest.skip("needs something CI did not install")

@pytest.mark.kafka_checkout
def test_needs_kafka():
    pass
"""


@pytest.fixture
def session(pytester, monkeypatch):
    """Run pytest with the skip policy on ``source``, in CI or not."""
    pytester.makeini("[pytest]\nmarkers =\n    kafka_checkout: opt-in\n")
    monkeypatch.delenv(KAFKA_DIR_VARIABLE, raising=False)

    def run(source: str | None, *, ci: bool, **env: str) -> pytest.RunResult:
        monkeypatch.setenv("CI", "true") if ci else monkeypatch.delenv("CI", raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        if source is not None:
            pytester.makepyfile(test_sample=source)
        return pytester.runpytest("-p", "skip_policy", "-p", "no:cacheprovider")
    return run


def test_in_ci_a_skip_fails_the_session_and_is_named(session):
    result = session(TESTS, ci=True)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=1, skipped=2)
    result.stdout.fnmatch_lines(["*skipped in CI (CI=true)*",
                                 "SKIPPED test_sample.py::test_skips: needs something CI did not install"])
    assert "test_needs_kafka" not in result.stdout.str()  # the opt-in skip is allowed


def test_in_ci_the_opt_in_kafka_checkout_skip_alone_passes(session):
    result = session(TESTS.replace('pytest.skip("needs something CI did not install")', "pass"), ci=True)
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=2, skipped=1)
    assert "skipped in CI" not in result.stdout.str()


def test_a_kafka_checkout_test_runs_when_the_checkout_is_given(session, tmp_path):
    result = session(TESTS, ci=True, **{KAFKA_DIR_VARIABLE: str(tmp_path)})
    result.assert_outcomes(passed=2, skipped=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # test_skips still fails it


def test_another_skip_of_a_kafka_checkout_test_is_not_the_opt_in_one(session, tmp_path):
    source = "import pytest\n\n@pytest.mark.kafka_checkout\ndef test_x():\n    pytest.skip('no ducktape')\n"
    result = session(source, ci=True, **{KAFKA_DIR_VARIABLE: str(tmp_path)})
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["SKIPPED test_sample.py::test_x: no ducktape"])


def test_in_ci_a_module_skipped_at_import_fails_the_session(session):
    result = session("import pytest\npytest.importorskip('no_such_module_here')\n", ci=True)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["SKIPPED test_sample.py: *no_such_module_here*"])


def test_outside_ci_skips_are_allowed(session):
    result = session(TESTS, ci=False)
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=1, skipped=2)


def test_no_tests_is_exit_5_and_said_in_ci(session):
    result = session(None, ci=True)
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    result.stdout.fnmatch_lines(["no tests ran: that is a failure in CI too (exit 5)"])
