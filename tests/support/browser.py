"""A real headless Chromium (Debian's `chromium`, installed by .ci/run) driven by Playwright.

Nothing here downloads a browser: Playwright is pointed at /usr/bin/chromium, started with a fresh
user-data folder and no background networking.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("SWITCHMAN_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def require_chromium() -> None:
    if Path(CHROMIUM).exists() or shutil.which(CHROMIUM):
        return
    message = f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)."
    if os.environ.get("CI"):
        pytest.fail(message)  # CI installs it in .ci/run: missing there is a bug
    pytest.skip(message)


class Console:
    """Console errors and uncaught page errors of every page of a context."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def watch(self, page: Any) -> Any:
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        return page


@contextmanager
def playwright() -> Iterator[Any]:
    """One Playwright driver (its sync API allows one per thread at a time)."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


@contextmanager
def chromium(pw: Any, user_data: Path, viewport: dict[str, int] = DESKTOP) -> Iterator[Any]:
    """A persistent Chromium context on a fresh user-data folder (closed afterwards)."""
    context = pw.chromium.launch_persistent_context(
        str(user_data),
        executable_path=CHROMIUM,
        args=ARGS,
        headless=True,
        viewport=viewport,
    )
    try:
        yield context
    finally:
        context.close()
