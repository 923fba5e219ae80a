"""Skips for a missing service, which must not pass quietly where the service is promised.

A test that needs PostgreSQL or libfiu's fiu-run skips with `missing(...)` as its
reason where the machine lacks it. Where VAULT_TEST_REQUIRE_SERVICES=1 (.ci/run
sets it, having started PostgreSQL and installed fiu-run), such a skip is turned
into a failure: a suite that skipped them there has not tested what it says.
tests/conftest.py installs the hook below.
"""

from __future__ import annotations

import os

import pytest

REQUIRE_VARIABLE = "VAULT_TEST_REQUIRE_SERVICES"
_PREFIX = "missing service: "


def missing(what: str) -> str:
    """The reason a test gives when it skips for want of a service."""
    return _PREFIX + what


def services_required() -> bool:
    return os.environ.get(REQUIRE_VARIABLE, "").strip() == "1"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if report.skipped and call.excinfo is not None and call.excinfo.errisinstance(pytest.skip.Exception):
        reason = getattr(call.excinfo.value, "msg", "") or ""
        if reason.startswith(_PREFIX) and services_required():
            report.outcome = "failed"
            report.longrepr = f"{reason}; {REQUIRE_VARIABLE}=1 says this test must run here"
    return report
