"""Pytest plugin: in CI a skipped test is a failure, except the opt-in Kafka-checkout tests.

A test that skips in CI never runs anywhere (the ducktape-hook tests did, for want of sshd),
so under ``CI=true`` the session fails when any test or module skipped, naming each with its
reason. The one allowed skip is the opt-in one: tests marked ``kafka_checkout`` need a fetched
apache/kafka checkout (``METADATA_PIPELINE_KAFKA_DIR``), which CI does not have and a
maintainer sets up by hand; this plugin skips them itself when the variable is unset, so
their skip has one known reason.

Loaded from conftest.py (``pytest_plugins``); ``tests/test_skip_policy.py`` runs it in pytester
sessions. Exit 5 (no test collected) is left as pytest reports it: a failure for CI too.
"""

from __future__ import annotations

import os

import pytest

__all__ = ["KAFKA_CHECKOUT", "KAFKA_DIR_VARIABLE", "OPT_IN_REASON"]

KAFKA_CHECKOUT = "kafka_checkout"  # the marker (registered in pyproject.toml)
KAFKA_DIR_VARIABLE = "METADATA_PIPELINE_KAFKA_DIR"
OPT_IN_REASON = f"opt-in: set {KAFKA_DIR_VARIABLE} to an apache/kafka checkout"


def _in_ci() -> bool:
    return os.environ.get("CI") == "true"


def _opted_out() -> bool:
    return not os.environ.get(KAFKA_DIR_VARIABLE)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker(KAFKA_CHECKOUT) is not None and _opted_out():
        pytest.skip(OPT_IN_REASON)


def _reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # (path, line, "Skipped: reason")
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


class _Gate:
    """Records every skip that is not the opt-in one; fails the session if there is any."""

    def __init__(self) -> None:
        self.unexpected: list[tuple[str, str]] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if not report.skipped or hasattr(report, "wasxfail"):  # xfail is reported as skipped too
            return
        if KAFKA_CHECKOUT in report.keywords and _opted_out() and _reason(report) == OPT_IN_REASON:
            return
        self.unexpected.append((report.nodeid, _reason(report)))

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.skipped:  # a whole module skipped (pytest.skip at import, importorskip)
            self.unexpected.append((report.nodeid, _reason(report)))

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.unexpected and session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter, exitstatus: int) -> None:  # type: ignore[no-untyped-def]
        if self.unexpected:
            terminalreporter.section("skipped in CI (CI=true): each must run here", sep="=", red=True, bold=True)
            for nodeid, reason in self.unexpected:
                terminalreporter.line(f"SKIPPED {nodeid}: {reason}", red=True)
            terminalreporter.line(f"only tests marked {KAFKA_CHECKOUT} ({OPT_IN_REASON}) may skip in CI")
        elif exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
            terminalreporter.line("no tests ran: that is a failure in CI too (exit 5)", red=True)


def pytest_configure(config: pytest.Config) -> None:
    if _in_ci():
        config.pluginmanager.register(_Gate(), "skip_policy_gate")
