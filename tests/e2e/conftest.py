"""End-to-end tests in a real headless Chromium (Debian's package) driven by Selenium through
Debian's chromedriver — nothing downloads a browser. Screenshots of the key pages go to
``test-artifacts/screenshots/`` (git-ignored)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def _binary(env: str, *candidates: str) -> str:
    for path in (os.environ.get(env), *candidates):
        if path and shutil.which(path):
            return shutil.which(path)
    pytest.fail(f"{candidates[0]} is not installed: run the tests with bin/test (it installs Debian's chromium)")


@pytest.fixture
def chrome(tmp_path):
    """A fresh browser per test (cookies and language never leak between tests)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = _binary("TA_CHROMIUM", "chromium", "/usr/bin/chromium")
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync", "--window-size=1280,1000",
        "--lang=en", f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):  # fmt: skip
        options.add_argument(flag)
    service = Service(executable_path=_binary("TA_CHROMEDRIVER", "chromedriver", "/usr/bin/chromedriver"))
    driver = webdriver.Chrome(service=service, options=options)
    driver.implicitly_wait(5)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


@pytest.fixture
def screenshot(chrome):
    def take(name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        chrome.save_screenshot(str(path))
        return path

    return take
