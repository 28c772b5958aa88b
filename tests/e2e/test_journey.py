"""A need posted in French goes through moderation, matching and engagement in a real browser;
the Arabic home page reads right to left."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.expected_conditions import staleness_of
from selenium.webdriver.support.ui import Select, WebDriverWait

from kb.content import entry_content
from kb.models import AssistanceNeed, Country, EntryStatus, Organisation
from kb.services.entries import offer_create
from kb.services.moderation import entry_transition
from matching.models import Engagement
from tests.factories import MembershipFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PASSWORD = "pass-word-123"


@pytest.fixture
def people(settings):
    settings.SEARCH_BACKEND = "embedded"
    settings.MATCHING_INCREMENTAL = False
    from kb.search import reset_backend

    reset_backend(None)
    from accounts.services import user_make_moderator

    civ_org = Organisation.objects.create(
        name="Haute Autorité pour la Bonne Gouvernance", country=Country.objects.get(iso3="CIV")
    )
    rwa_org = Organisation.objects.create(name="Office of the Ombudsman", country=Country.objects.get(iso3="RWA"))
    recipient = MembershipFactory(
        organisation=civ_org, is_provider_focal_point=False, user__preferred_language="fr"
    ).user
    provider = MembershipFactory(organisation=rwa_org, is_recipient_focal_point=False).user
    moderator = UserFactory()
    user_make_moderator(user=moderator)
    offer = offer_create(
        actor=provider,
        organisation=rwa_org,
        content=entry_content(
            "offer",
            {
                "title": "Online asset declaration system",
                "description": "We share our online system for filing and verifying asset declarations of public officials.",
                "language": "en",
                "articles": [8],
                "ta_types": ["technology"],
                "thematic_areas": ["asset_declarations"],
                "working_languages": ["en", "fr"],
                "capacity": 2,
            },
        ),
    )
    entry_transition(actor=provider, entry=offer, action="submit")
    entry_transition(actor=moderator, entry=offer, action="publish")
    return {"recipient": recipient, "provider": provider, "moderator": moderator, "offer": offer}


def sign_in(chrome, live_server, user, language="en"):
    chrome.delete_all_cookies()
    chrome.get(live_server.url + "/accounts/login/")
    chrome.add_cookie({"name": "django_language", "value": language})
    chrome.get(live_server.url + "/accounts/login/")
    chrome.find_element(By.NAME, "username").send_keys(user.email)
    chrome.find_element(By.NAME, "password").send_keys(PASSWORD)
    chrome.find_element(By.CSS_SELECTOR, "form.stack button[type=submit]").click()
    WebDriverWait(chrome, 10).until(lambda driver: "/accounts/login/" not in driver.current_url)


def click_and_wait(chrome, xpath: str) -> None:
    """Submit a form button and wait for the next page (clicks do not wait for navigation)."""
    old = chrome.find_element(By.TAG_NAME, "html")
    chrome.find_element(By.XPATH, xpath).click()
    WebDriverWait(chrome, 10).until(staleness_of(old))


def test_need_from_french_recipient_to_engagement(chrome, live_server, people, screenshot):
    recipient, provider, moderator = people["recipient"], people["provider"], people["moderator"]

    # The recipient posts a need in French, in a French interface.
    sign_in(chrome, live_server, recipient, "fr")
    chrome.get(live_server.url + "/needs/new/")
    assert chrome.find_element(By.TAG_NAME, "html").get_attribute("lang") == "fr"
    chrome.find_element(By.NAME, "title").send_keys("Vérification des déclarations de patrimoine")
    chrome.find_element(By.NAME, "description").send_keys(
        "Nous avons besoin d'appui pour vérifier les déclarations de patrimoine des agents publics."
    )
    # The text's language starts as the interface's (French here).
    assert Select(chrome.find_element(By.ID, "id_language")).first_selected_option.get_attribute("value") == "fr"
    chrome.find_element(By.XPATH, "//details[contains(@class,'chapter')][2]/summary").click()
    chrome.find_element(By.CSS_SELECTOR, "input[name=articles][value='8']").click()
    chrome.find_element(By.CSS_SELECTOR, "input[name=ta_types][value='capacity_building']").click()
    Select(chrome.find_element(By.NAME, "south_south")).select_by_value("prefer")
    screenshot("need-form-fr")
    click_and_wait(chrome, "//button[@name='submit']")
    need = AssistanceNeed.objects.get(title="Vérification des déclarations de patrimoine")
    assert need.status == EntryStatus.SUBMITTED
    assert need.language_id == "fr"

    # A moderator publishes it and starts a matching run.
    sign_in(chrome, live_server, moderator)
    chrome.get(f"{live_server.url}/needs/{need.pk}/")
    click_and_wait(chrome, "//form[contains(@action,'/publish/')]/button")
    need.refresh_from_db()
    assert need.status == EntryStatus.PUBLISHED
    chrome.get(live_server.url + "/runs/")
    click_and_wait(chrome, "//form[contains(@action,'/runs/start/')]/button")
    screenshot("runs")
    engagement = Engagement.objects.get(need=need)
    assert engagement.offer == people["offer"]

    # The recipient sees the ranked match with its reasons and says it is interested.
    sign_in(chrome, live_server, recipient, "fr")
    chrome.get(f"{live_server.url}/needs/{need.pk}/matches/")
    page = chrome.page_source
    assert "Online asset declaration system" in page
    screenshot("matches-fr")
    click_and_wait(chrome, "//form[contains(@action,'/interest/')]/button")
    engagement.refresh_from_db()
    assert engagement.state == "interested"

    # The provider accepts.
    sign_in(chrome, live_server, provider)
    chrome.get(live_server.url + "/inbox/")
    chrome.find_element(By.PARTIAL_LINK_TEXT, "Vérification des déclarations").click()
    WebDriverWait(chrome, 10).until(lambda driver: "/engagements/" in driver.current_url)
    click_and_wait(chrome, "//form[contains(@action,'/accept/')]/button")
    engagement.refresh_from_db()
    assert engagement.state == "accepted"
    screenshot("engagement-provider")

    # The recipient sees the engagement, accepted.
    sign_in(chrome, live_server, recipient, "fr")
    chrome.get(live_server.url + "/")
    chrome.get(f"{live_server.url}/engagements/{engagement.pk}/")
    assert "Online asset declaration system" in chrome.page_source
    assert chrome.find_elements(By.XPATH, "//form[contains(@action,'/agree/')]")
    screenshot("engagement-recipient-fr")


def test_arabic_home_page_reads_right_to_left(chrome, live_server, people, screenshot):
    sign_in(chrome, live_server, people["recipient"], "ar")
    chrome.get(live_server.url + "/")
    html = chrome.find_element(By.TAG_NAME, "html")
    assert html.get_attribute("dir") == "rtl"
    assert html.get_attribute("lang") == "ar"
    # The layout really flows right to left: the brand sits at the right edge of the header.
    brand = chrome.find_element(By.CSS_SELECTOR, "header.site .brand").rect
    assert brand["x"] > 600
    screenshot("home-ar")
    chrome.get(live_server.url + "/browse/")
    screenshot("browse-ar")
    chrome.set_window_size(390, 900)  # a phone
    chrome.get(live_server.url + "/")
    width = chrome.execute_script("return document.documentElement.scrollWidth")
    assert width <= 400  # nothing overflows sideways
    screenshot("home-ar-phone")
    chrome.set_window_size(1280, 1000)


def test_both_sides_talk_and_rate_and_the_rating_forms_disappear(chrome, live_server, people, screenshot):
    """A provider sees a proposal, writes to the recipient, the recipient answers; the engagement
    goes to completion and both rate it, after which neither side sees a rating form."""
    from kb.services.entries import need_create
    from matching.services.runs import match_run_start

    recipient, provider, moderator = people["recipient"], people["provider"], people["moderator"]
    need = need_create(
        actor=recipient,
        organisation=recipient.memberships.get().organisation,
        content=entry_content(
            "need",
            {
                "title": "Vérification des déclarations de patrimoine",
                "description": "Nous avons besoin d'appui pour vérifier les déclarations de patrimoine des agents publics.",
                "language": "fr",
                "articles": [8],
                "ta_types": ["technology"],
                "thematic_areas": ["asset_declarations"],
            },
        ),
        submit=True,
    )
    entry_transition(actor=moderator, entry=need, action="publish")
    match_run_start(trigger="command")
    engagement = Engagement.objects.get(need=need)
    assert engagement.state == "proposed"

    # The provider sees the proposal in its inbox and writes to the recipient.
    sign_in(chrome, live_server, provider)
    chrome.get(live_server.url + "/inbox/")
    chrome.find_element(By.PARTIAL_LINK_TEXT, "Vérification des déclarations").click()
    WebDriverWait(chrome, 10).until(lambda driver: f"/engagements/{engagement.pk}/" in driver.current_url)
    chrome.find_element(By.NAME, "body").send_keys("We can send two experts in March. Would that suit you?")
    click_and_wait(chrome, "//form[@id='message-form']//button")
    assert (
        "We can send two experts in March."
        in chrome.find_element(By.ID, "thread").find_element(By.XPATH, "following-sibling::ol").text
    )
    click_and_wait(chrome, "//form[contains(@action,'/accept/')]/button")
    screenshot("engagement-thread-provider")

    # The recipient reads it in French and answers, then confirms the agreement.
    sign_in(chrome, live_server, recipient, "fr")
    chrome.get(f"{live_server.url}/engagements/{engagement.pk}/")
    assert "We can send two experts in March." in chrome.page_source
    chrome.find_element(By.NAME, "body").send_keys("Oui, mars nous convient. Merci !")
    click_and_wait(chrome, "//form[@id='message-form']//button")
    assert "Oui, mars nous convient. Merci !" in chrome.page_source
    click_and_wait(chrome, "//form[contains(@action,'/agree/')]/button")
    click_and_wait(chrome, "//form[contains(@action,'/start/')]/button")
    click_and_wait(chrome, "//form[contains(@action,'/complete/')]/button")
    engagement.refresh_from_db()
    assert engagement.state == "completed"

    # The recipient rates; its rating form disappears.
    chrome.find_element(By.CSS_SELECTOR, "#rating-form input[name=score][value='5']").click()
    click_and_wait(chrome, "//form[@id='rating-form']//button")
    assert not chrome.find_elements(By.ID, "rating-form")
    screenshot("engagement-rated-recipient-fr")

    # The provider sees the answer, rates; its form disappears too.
    sign_in(chrome, live_server, provider)
    chrome.get(f"{live_server.url}/engagements/{engagement.pk}/")
    assert "Oui, mars nous convient. Merci !" in chrome.page_source
    chrome.find_element(By.CSS_SELECTOR, "#rating-form input[name=score][value='4']").click()
    click_and_wait(chrome, "//form[@id='rating-form']//button")
    assert not chrome.find_elements(By.ID, "rating-form")
    assert engagement.ratings.count() == 2
    screenshot("engagement-rated-provider")

    # In Arabic the page reads right to left; the Latin messages keep their own direction.
    chrome.add_cookie({"name": "django_language", "value": "ar"})
    chrome.get(f"{live_server.url}/engagements/{engagement.pk}/")
    assert chrome.find_element(By.TAG_NAME, "html").get_attribute("dir") == "rtl"
    bodies = chrome.find_elements(By.CSS_SELECTOR, ".message-body")
    assert [b.get_attribute("dir") for b in bodies] == ["auto", "auto"]
    assert chrome.execute_script("return document.documentElement.scrollWidth") <= 1280
    screenshot("engagement-thread-ar")
