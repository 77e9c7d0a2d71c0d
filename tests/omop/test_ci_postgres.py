"""The PostgreSQL tests cannot pass silently in CI: without a server they fail under CI=true."""

from __future__ import annotations

import pytest

from .conftest import postgres_url


def test_missing_server_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MMRWE_TEST_POSTGRES_URL", raising=False)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="MMRWE_TEST_POSTGRES_URL"):
        postgres_url()


def test_missing_server_skips_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MMRWE_TEST_POSTGRES_URL", raising=False)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        postgres_url()
