"""A browser test without Chromium is skipped on a developer's machine and fails in CI."""
from __future__ import annotations

import pytest

from tests import browser


@pytest.fixture
def no_chromium(monkeypatch):
    monkeypatch.delenv("CHROMIUM", raising=False)
    monkeypatch.setattr(browser.os, "access", lambda path, mode: False)


def test_without_chromium_a_developer_gets_a_skip(no_chromium, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        browser.chromium_or_skip()


def test_without_chromium_ci_fails(no_chromium, monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="may not be skipped in CI"):
        browser.chromium_or_skip()
