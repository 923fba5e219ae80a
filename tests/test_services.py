"""A skip for a missing service passes on a bare machine and fails where the service is promised."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.services import REQUIRE_VARIABLE

REPOSITORY = Path(__file__).resolve().parents[1]
# Plugins the little run has no use for, left out because they are slow to load.
QUIET_PLUGINS = ("-p", "no:cacheprovider", "-p", "no:schemathesis", "-p", "no:hypothesispytest")

SKIPPING_TESTS = """
import pytest

from tests.services import missing


def test_needs_a_database():
    pytest.skip(missing("no database here"))


@pytest.mark.skipif(True, reason=missing("no fault injector here"))
def test_needs_a_tool():
    pass


def test_skips_for_another_reason():
    pytest.skip("nothing to do with a service")
"""


def run_pytest(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    (tmp_path / "test_skipping.py").write_text(SKIPPING_TESTS)
    environ = {key: value for key, value in os.environ.items() if key != REQUIRE_VARIABLE}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.services", *QUIET_PLUGINS, "-q", "-rA", str(tmp_path)],
        cwd=REPOSITORY,
        env={**environ, "PYTHONPATH": str(REPOSITORY), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_missing_service_is_a_skip_by_default(tmp_path):
    result = run_pytest(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 skipped" in result.stdout


# Rule: where VAULT_TEST_REQUIRE_SERVICES=1 (CI), a test skipped for a missing service fails the run.
def test_a_missing_service_fails_where_services_are_required(tmp_path):
    result = run_pytest(tmp_path, **{REQUIRE_VARIABLE: "1"})
    assert result.returncode == 1, result.stdout + result.stderr
    # A skip in a test's setup (skipif, or a fixture) fails as an error, one in its body as a failure.
    assert "1 failed, 1 skipped, 1 error" in result.stdout
    assert f"{REQUIRE_VARIABLE}=1 says this test must run here" in result.stdout
