"""Fixtures of the browser tests: one headless Chromium (Debian's, see tests/e2e/browser.py) per module."""
from __future__ import annotations

import pytest
from playwright.sync_api import sync_playwright
from tests.e2e.browser import launch


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()
