"""Debian's Chromium driven by Playwright from PyPI (``playwright install`` is never used)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from support.paths import BUILD

CHROMIUM = Path(os.environ.get("FINCOME_CHROMIUM", "/usr/bin/chromium"))
#: Screenshots for review land here (``build/`` is git-ignored).
SCREENSHOTS = BUILD / "ui"


def require_chromium() -> None:
    """Fail in CI, skip elsewhere, naming what is missing, when Chromium is not installed."""
    if CHROMIUM.exists():
        return
    message = f"Chromium is missing at {CHROMIUM} (.ci/run installs Debian's chromium package)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium (Playwright's ``Browser``), closed at the end; each test opens its own
    context in it (:func:`new_page`), so that one launch can serve a module's tests."""
    from playwright.sync_api import sync_playwright

    require_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def new_page(browser: Any) -> Iterator[Any]:
    """A page (1400x1000, downloads accepted) in a context of its own: no cookie, storage or
    cache of an earlier page of ``browser``."""
    context = browser.new_context(accept_downloads=True, viewport={"width": 1400, "height": 1000})
    try:
        yield context.new_page()
    finally:
        context.close()


@contextmanager
def chromium_page() -> Iterator[Any]:
    """A fresh page in a Chromium of its own."""
    with chromium() as browser, new_page(browser) as page:
        yield page


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
