"""Headless Chromium for the browser tests: Debian's chromium driven by Playwright (no browser download).

Without Chromium (or Playwright) a browser test is skipped on a developer's machine, and fails in
CI (``CI`` set), where a skipped browser test would hide a broken page.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run"]
OUTPUT = Path(__file__).resolve().parents[1] / "test-output"


def in_ci() -> bool:
    """Whether the tests run in CI, where a browser test may not be skipped."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def chromium_or_skip() -> str:
    """The Chromium binary to drive; skip the test without one (fail it in CI)."""
    candidates = [os.environ.get("ORETRAIL_CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium"]
    path = next((c for c in candidates if c and os.access(c, os.X_OK)), None)
    reason = None if path else "no Chromium: run scripts/chromium-local (or set ORETRAIL_CHROMIUM)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reason = "the playwright package is not installed (pip install -e '.[test]')"
    if reason is not None:
        if in_ci():
            pytest.fail(f"{reason}; CI must run the browser tests")
        pytest.skip(reason)
    return path
