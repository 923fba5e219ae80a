"""Fixtures of the reliability tests."""

from tests.process.conftest import vault_process  # noqa: F401  (the real process, shared with tests/process)
