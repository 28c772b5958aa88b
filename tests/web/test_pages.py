"""The app's own look on every page a focal point can reach: error pages (404, 403, CSRF, 500)
and the password pages, in the reader's language; the favicon."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import override

from kb.content import entry_content

pytestmark = pytest.mark.django_db


def signed_in(actor, language="en") -> Client:
    client = Client(headers={"accept-language": language})
    client.force_login(actor.user)
    return client


def assert_app_page(response, language="en"):
    page = response.content.decode()
    assert 'class="site"' in page, "not the app's layout"
    assert "Django" not in page
    assert f'lang="{language}"' in page
    return page


def test_unknown_address_is_a_styled_404_in_the_readers_language(civ):
    response = signed_in(civ, "ar").get("/no-such-page/")
    assert response.status_code == 404
    page = assert_app_page(response, "ar")
    assert 'dir="rtl"' in page
    assert "الصفحة غير موجودة" in page


def test_another_states_draft_shows_the_same_404_page(civ, kor):
    from kb.services.entries import offer_create

    offer = offer_create(
        actor=civ.user,
        organisation=civ.organisation,
        content=entry_content("offer", {"title": "T", "description": "D", "language": "en"}),
    )
    response = signed_in(kor).get(reverse("web:entry", args=["offer", offer.pk]))
    assert response.status_code == 404
    assert "Page not found" in assert_app_page(response)


def test_forbidden_page_is_styled_and_translated(civ):
    response = signed_in(civ, "zh-hans").get(reverse("web:dashboard"))
    assert response.status_code == 403
    page = assert_app_page(response, "zh-hans")
    assert "403 Forbidden" not in page
    assert "您无法打开此页面" in page


def test_an_expired_form_explains_itself(civ):
    client = Client(enforce_csrf_checks=True, headers={"accept-language": "es"})
    response = client.post(reverse("login"), {"username": "x", "password": "y"})
    assert response.status_code == 403
    assert "El formulario ha caducado" in assert_app_page(response, "es")


def test_server_error_page_needs_no_request_context():
    from django.views.defaults import server_error

    with override("ru"):
        response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    page = response.content.decode()
    assert 'class="site"' in page
    assert "Что-то пошло не так" in page


@pytest.mark.parametrize("language", ["en", "ar", "fr"])
@pytest.mark.parametrize("name", ["password_reset", "password_reset_done", "password_reset_complete"])
def test_password_reset_pages_use_the_apps_templates(name, language):
    response = Client(headers={"accept-language": language}).get(reverse(name))
    assert response.status_code == 200
    assert_app_page(response, language)


def test_password_reset_e_mail_and_confirm_page_are_the_apps(civ):
    client = Client()
    response = client.post(reverse("password_reset"), {"email": civ.user.email})
    assert response.status_code == 302
    (message,) = mail.outbox
    assert "TA Exchange" in message.subject
    assert "Someone asked to reset the password of your TA Exchange account" in message.body
    link = re.search(r"http://testserver(/accounts/reset/\S+)", message.body).group(1)
    page = client.get(link, follow=True)
    assert page.status_code == 200
    assert "Choose a new password" in assert_app_page(page)
    assert page.context["validlink"]


def test_password_change_pages_use_the_apps_templates(civ):
    client = signed_in(civ, "ru")
    assert_app_page(client.get(reverse("password_change")), "ru")
    assert_app_page(client.get(reverse("password_change_done")), "ru")


def test_invalid_reset_link_is_explained(civ):
    uid = urlsafe_base64_encode(force_bytes(civ.user.pk))
    response = Client().get(reverse("password_reset_confirm", args=[uid, "bad-token"]))
    assert response.status_code == 200
    assert "This link is not valid any more" in assert_app_page(response)
    assert default_token_generator  # the real generator decides validity


def test_every_page_names_the_favicon_and_favicon_ico_redirects_to_it(client):
    page = client.get(reverse("login")).content.decode()
    assert 'rel="icon" href="/static/web/favicon.svg"' in page
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"] == "/static/web/favicon.svg"
