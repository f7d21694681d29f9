"""Shared test configuration.

``REFERENCE`` is ../shared/reference beside the checkout: real public metadata and GraalVM's
schemas. Tests that read it skip when it is absent (a checkout without ../shared).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Docker engine and image fixtures (a private engine, images built without a registry); in CI,
# no skips but the opt-in Kafka-checkout tests (skip_policy).
pytest_plugins = ["docker_fixtures", "skip_policy", "pytester"]

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = Path(os.environ.get("MP_REFERENCE_DIR", ROOT.parent / "shared" / "reference"))

settings.register_profile("ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# A long hunt for counterexamples before a release: MP_HYPOTHESIS_PROFILE=stress pytest ...
settings.register_profile("stress", max_examples=3000, deadline=None, suppress_health_check=list(HealthCheck))
settings.load_profile(os.environ.get("MP_HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") == "true" else "dev"))


def reference(*parts: str) -> Path:
    path = REFERENCE.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"reference data not available: {path}")
    return path
