"""Headless Chromium for the browser tests: Debian's chromium, driven by Playwright (never its own download).

Where Chromium (or Playwright) is missing the test is skipped on a developer's machine and FAILS in
CI (``CI`` set): a browser test that silently does not run proves nothing.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from tests.waiting import skip_or_fail

#: flags for a sandbox without a display, GPU or network
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
LAUNCH_ARGS = CHROMIUM_ARGS
OUTPUT = Path(__file__).resolve().parents[1] / "test-output"


def chromium_or_skip() -> str:
    """The path of Chromium; skip the test without one (fail it in CI)."""
    candidates = (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser"))
    path = next((c for c in candidates if c and os.access(c, os.X_OK)), None)
    reason = None if path else "Chromium is not installed (scripts/chromium-local installs Debian's chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reason = "the playwright package is not installed (pip install -e '.[test]')"
    if reason is not None:
        skip_or_fail(reason)
    return path
