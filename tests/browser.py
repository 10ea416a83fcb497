"""Headless Chromium for the browser tests: Debian's chromium, driven by Playwright (never its own download).

Where Chromium is missing the test is skipped on a developer's machine and FAILS in CI (``CI=true``):
a browser test that silently does not run proves nothing.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

#: flags for a sandbox without a display, GPU or network
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
OUTPUT = Path(__file__).resolve().parents[1] / "test-output"


def chromium_or_skip() -> str:
    """The path of Chromium; skip (or fail in CI) when there is none."""
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    message = "Chromium is not installed (scripts/chromium-local installs Debian's chromium)"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{message}: a browser test may not be skipped in CI")
    pytest.skip(message)
