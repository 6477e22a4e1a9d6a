"""Fixtures of the browser tests: one headless Chromium (Debian's, see idp_testing.browser) per module."""
from __future__ import annotations

import pytest
from playwright.sync_api import sync_playwright

from idp_testing.browser import launch


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()
