"""The main pages in all six languages, at desktop and phone width, in a real Chromium, on the
demo knowledge base; screenshots land in ``test-artifacts/screenshots/<language>/`` for a person
to look at. What a reader would notice is asserted on the way: the page's language and direction,
nothing wider than a phone, results before filters on a phone, the menu behind a button there, a
Swagger UI that renders from the app's own files."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from accounts.models import User
from kb.models import AssistanceNeed, EntryStatus
from tests.e2e.conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PASSWORD = "pass-word-123"
LANGUAGES = ["en", "ar", "zh-hans", "fr", "ru", "es"]
PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True}


@pytest.fixture
def demo(settings, tmp_path):
    """The demo knowledge base bin/start loads, matched, with known passwords."""
    from kb.search import reset_backend
    from kb.services.demo import demo_content_load

    settings.SEARCH_BACKEND = "embedded"
    settings.MATCHING_INCREMENTAL = False
    settings.VAR_DIR = tmp_path
    reset_backend(None)
    demo_content_load()
    call_command("run_matching", "--sync", stdout=open("/dev/null", "w"))  # noqa: SIM115
    for user in User.objects.filter(email__in=["civ.focal@example.org", "moderator@example.org"]):
        user.set_password(PASSWORD)
        user.save()
    need = AssistanceNeed.objects.filter(country__iso3="CIV", status=EntryStatus.PUBLISHED).order_by("pk").first()
    return {"need": need}


def sign_in(chrome, base, email, language):
    chrome.delete_all_cookies()
    chrome.get(base + "/accounts/login/")
    chrome.add_cookie({"name": "django_language", "value": language})
    chrome.get(base + "/accounts/login/")
    chrome.find_element(By.NAME, "username").send_keys(email)
    chrome.find_element(By.NAME, "password").send_keys(PASSWORD)
    chrome.find_element(By.CSS_SELECTOR, "form.stack button[type=submit]").click()
    WebDriverWait(chrome, 10).until(lambda driver: "/accounts/login/" not in driver.current_url)


def open_page(chrome, url, language, name, *, phone=False):
    """Open ``url``, check its language and direction, keep a full-page screenshot."""
    chrome.get(url)
    html = chrome.find_element(By.TAG_NAME, "html")
    assert html.get_attribute("lang") == language, (name, url)
    assert html.get_attribute("dir") == ("rtl" if language == "ar" else "ltr"), (name, url)
    width = chrome.execute_script("return document.documentElement.scrollWidth")
    viewport = chrome.execute_script("return window.innerWidth")
    assert width <= viewport, f"{name} ({language}) is {width} px wide in a {viewport} px window"
    folder = ARTIFACTS / language
    folder.mkdir(parents=True, exist_ok=True)
    height = min(chrome.execute_script("return document.documentElement.scrollHeight"), 5000)
    metrics = PHONE if phone else {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False}
    chrome.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {**metrics, "height": max(height, metrics["height"])})
    chrome.save_screenshot(str(folder / f"{name}{'-phone' if phone else ''}.png"))
    chrome.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)


def test_main_pages_in_six_languages_and_at_phone_width(chrome, live_server, demo):
    base = live_server.url
    need = demo["need"]
    focal_pages = {
        "home": "/",
        "browse": "/browse/",
        "my-entries": "/mine/",
        "need": f"/needs/{need.pk}/",
        "matches": f"/needs/{need.pk}/matches/",
        "new-need": "/needs/new/",
        "inbox": "/inbox/",
        "notifications": "/notifications/",
        "account": "/account/",
        "password-change": "/accounts/password_change/",
    }
    moderator_pages = {
        "dashboard": "/dashboard/",
        "report": "/dashboard/report/",
        "people": "/people/",
        "runs": "/runs/",
        "moderation": "/moderation/",
    }
    for language in LANGUAGES:
        desktop = {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False}
        chrome.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", desktop)
        chrome.delete_all_cookies()
        chrome.get(base + "/accounts/login/")
        chrome.add_cookie({"name": "django_language", "value": language})
        for name, path in {"welcome": "/", "sign-in": "/accounts/login/", "password-reset": "/accounts/password_reset/",
                           "not-found": "/no-such-page/"}.items():  # fmt: skip
            open_page(chrome, base + path, language, name)
        sign_in(chrome, base, "civ.focal@example.org", language)
        for name, path in focal_pages.items():
            open_page(chrome, base + path, language, name)
        open_page(chrome, base + "/dashboard/", language, "forbidden")
        chrome.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
        for name in ("home", "browse", "need", "new-need"):
            open_page(chrome, base + focal_pages[name], language, name, phone=True)
        sign_in(chrome, base, "moderator@example.org", language)
        chrome.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", desktop)
        for name, path in moderator_pages.items():
            open_page(chrome, base + path, language, name)
        chrome.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
        open_page(chrome, base + "/dashboard/", language, "dashboard", phone=True)


def test_phone_browse_shows_results_first_and_a_menu_button(chrome, live_server, demo):
    sign_in(chrome, live_server.url, "civ.focal@example.org", "ar")
    chrome.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
    chrome.get(live_server.url + "/browse/")
    first_result = chrome.find_element(By.CSS_SELECTOR, "article.result").rect
    assert first_result["y"] < PHONE["height"], first_result  # was 2,800 px down, below the facets
    facet = chrome.find_element(By.CSS_SELECTOR, ".facet")
    assert not facet.is_displayed()  # the filters wait in their drawer
    chrome.find_element(By.CSS_SELECTOR, ".filters-drawer > summary").click()
    assert facet.is_displayed()
    browse_link = chrome.find_element(By.CSS_SELECTOR, "header.site nav a[href='/browse/']")
    assert not browse_link.is_displayed()  # the menu is behind its button
    header = chrome.find_element(By.CSS_SELECTOR, "header.site").rect
    assert header["height"] < 80
    chrome.find_element(By.CSS_SELECTOR, ".nav-menu > summary").click()
    assert browse_link.is_displayed()
    chrome.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {**PHONE, "width": 1280, "mobile": False})
    chrome.get(live_server.url + "/browse/")
    assert chrome.find_element(By.CSS_SELECTOR, "header.site nav a[href='/browse/']").is_displayed()
    assert chrome.find_element(By.CSS_SELECTOR, ".facet").is_displayed()


def test_swagger_ui_renders_from_the_apps_own_files(chrome, live_server):
    chrome.get(live_server.url + "/api/docs/")
    title = WebDriverWait(chrome, 20).until(
        lambda driver: driver.find_elements(By.CSS_SELECTOR, ".swagger-ui .info .title")
    )
    assert "TA Exchange API" in title[0].text
    folder = ARTIFACTS / "en"
    folder.mkdir(parents=True, exist_ok=True)
    chrome.save_screenshot(str(folder / "api-docs.png"))


def test_a_moderators_russian_header_keeps_its_controls_on_the_brands_row(chrome, live_server, demo):
    """At 1280 px a moderator's ten Russian links pushed the language and sign-out onto a third line
    of a 120 px header; the links now wrap in their own column."""
    sign_in(chrome, live_server.url, "moderator@example.org", "ru")
    chrome.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {**PHONE, "width": 1280, "mobile": False})
    chrome.get(live_server.url + "/runs/")
    first_link = chrome.find_element(By.CSS_SELECTOR, "header.site nav a").rect
    sign_out = chrome.find_element(By.CSS_SELECTOR, "header.site form[action='/accounts/logout/'] button").rect
    language = chrome.find_element(By.CSS_SELECTOR, "header.site select").rect
    for control in (sign_out, language):
        assert control["y"] < first_link["y"] + first_link["height"], (control, first_link)
        assert control["x"] > first_link["x"]  # after the links, at the end of the row
    assert chrome.find_element(By.CSS_SELECTOR, "header.site").rect["height"] < 90
