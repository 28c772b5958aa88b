"""The look: screenshots of the main pages of a running TA Exchange (``bin/start``), in the six
languages at 1280 and 390 px, for a person to look at. Not a test: run it by hand with ``bin/look``.

    TA_PORT=8111 bin/start &           # in another terminal, from the same checkout
    TA_PORT=8111 bin/look /tmp/look    # then open /tmp/look/*.png

It signs in with the demo accounts bin/start wrote to var/demo-credentials.txt (a focal point of
Côte d'Ivoire and the moderator) and prints each page's width, flagging any wider than the window."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

LANGUAGES = ["en", "ar", "zh-hans", "fr", "ru", "es"]
WIDTHS = (1280, 390)


def main(out: Path) -> int:
    base = f"http://{os.environ.get('TA_HOST', '127.0.0.1')}:{os.environ.get('TA_PORT', '8000')}"
    lines = (Path(__file__).resolve().parents[2] / "var" / "demo-credentials.txt").read_text().splitlines()
    passwords = dict(line.split()[:2] for line in lines if "@" in line and len(line.split()) >= 2)
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("TA_CHROMIUM", "/usr/bin/chromium")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--lang=en"):
        options.add_argument(flag)
    chrome = webdriver.Chrome(
        service=Service(os.environ.get("TA_CHROMEDRIVER", "/usr/bin/chromedriver")), options=options
    )
    chrome.implicitly_wait(3)
    out.mkdir(parents=True, exist_ok=True)
    wide = 0

    def sign_in(email: str, language: str) -> None:
        chrome.delete_all_cookies()
        chrome.get(base + "/accounts/login/")
        chrome.add_cookie({"name": "django_language", "value": language})
        chrome.get(base + "/accounts/login/")
        chrome.find_element(By.NAME, "username").send_keys(email)
        chrome.find_element(By.NAME, "password").send_keys(passwords[email])
        chrome.find_element(By.CSS_SELECTOR, "form.stack button[type=submit]").click()
        WebDriverWait(chrome, 10).until(lambda driver: "/accounts/login/" not in driver.current_url)

    def shoot(language: str, name: str, path: str, width: int) -> None:
        nonlocal wide
        metrics = {"width": width, "height": 900 if width > 400 else 844, "deviceScaleFactor": 1, "mobile": width < 400}
        chrome.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
        chrome.get(base + path)
        page_width = chrome.execute_script("return document.documentElement.scrollWidth")
        height = min(chrome.execute_script("return document.documentElement.scrollHeight"), 5000)
        chrome.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride", {**metrics, "height": max(height, metrics["height"])}
        )
        file = out / f"{language}-{name}-{width}.png"
        chrome.save_screenshot(str(file))
        wide += page_width > width
        flag = "WIDER THAN THE WINDOW" if page_width > width else ""
        sys.stdout.write(f"{file} {page_width} px wide {flag}\n")

    sign_in("civ.focal@example.org", "en")
    chrome.get(base + "/mine/")
    need = re.search(r'href="/needs/(\d+)/"', chrome.page_source)
    chrome.get(base + "/inbox/")
    engagement = re.search(r'href="(/engagements/\d+/)"', chrome.page_source)
    focal = {"home": "/", "browse": "/browse/", "mine": "/mine/", "inbox": "/inbox/", "new-need": "/needs/new/"}
    if need:
        focal["need"] = f"/needs/{need.group(1)}/"
        focal["matches"] = f"/needs/{need.group(1)}/matches/"
    if engagement:
        focal["engagement"] = engagement.group(1)
    moderator = {"dashboard": "/dashboard/", "people": "/people/", "moderation": "/moderation/"}
    for language in LANGUAGES:
        for email, pages in (("civ.focal@example.org", focal), ("moderator@example.org", moderator)):
            sign_in(email, language)
            for width in WIDTHS:
                for name, path in pages.items():
                    shoot(language, name, path, width)
    chrome.quit()
    return 1 if wide else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "test-artifacts/look")))
