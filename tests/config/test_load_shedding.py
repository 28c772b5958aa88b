"""Load shedding: with every request slot of a process taken (and its queue full), the next request
is answered 503 with Retry-After at once, in the API's error shape or as the busy page; health checks and
static files are never shed; a waiting request gets the slot that frees up.

No timing is asserted: the tests hold the slots with events and check what the next request gets.
"""

from __future__ import annotations

import json
import threading

import pytest
from django.conf import settings as django_settings
from django.http import HttpResponse
from django.test import RequestFactory

from config.middleware import LoadSheddingMiddleware

# A bound on how long a broken test can hang, never an assertion about speed.
HANG = 30


class Held:
    """A view that blocks until released, so a test can hold a request slot."""

    def __init__(self) -> None:
        self.entered = threading.Semaphore(0)
        self.release = threading.Event()

    def __call__(self, request):
        if request.path.startswith("/hold"):
            self.entered.release()
            assert self.release.wait(HANG)
        return HttpResponse("done")


@pytest.fixture
def shedding(settings):
    settings.LOAD_SHED_MAX_IN_FLIGHT = 1
    settings.LOAD_SHED_QUEUE = 0
    settings.LOAD_SHED_WAIT_SECONDS = 0
    settings.LOAD_SHED_RETRY_AFTER = 3
    view = Held()

    def build() -> tuple[LoadSheddingMiddleware, Held]:
        return LoadSheddingMiddleware(view), view

    return build


def _in_thread(middleware, path: str) -> tuple[threading.Thread, list]:
    answers: list = []
    thread = threading.Thread(target=lambda: answers.append(middleware(RequestFactory().get(path))))
    thread.start()
    return thread, answers


def test_a_full_process_answers_503_at_once_then_serves_again(shedding):
    middleware, view = shedding()
    holder, held = _in_thread(middleware, "/hold")
    assert view.entered.acquire(timeout=HANG)

    api = middleware(RequestFactory().get("/api/v1/offers/"))
    assert api.status_code == 503
    assert api["Retry-After"] == "3"
    body = json.loads(api.content)
    assert body["type"] == "server_error"
    assert [error["code"] for error in body["errors"]] == ["overloaded"]
    assert body["errors"][0]["attr"] is None

    page = middleware(RequestFactory().get("/offers/"))
    assert page.status_code == 503
    assert page["Retry-After"] == "3"
    assert b"The service is busy" in page.content

    # Health checks and static files pass while the process is full.
    assert middleware(RequestFactory().get("/health/live")).status_code == 200
    assert middleware(RequestFactory().get("/health/ready")).status_code == 200
    assert middleware(RequestFactory().get("/static/web/app.css")).status_code == 200

    view.release.set()
    holder.join(HANG)
    assert held[0].status_code == 200
    assert middleware(RequestFactory().get("/api/v1/offers/")).status_code == 200


def test_the_busy_answer_is_in_the_callers_language(shedding):
    middleware, view = shedding()
    holder, _ = _in_thread(middleware, "/hold")
    assert view.entered.acquire(timeout=HANG)
    try:
        api = middleware(RequestFactory().get("/api/v1/needs/", HTTP_ACCEPT_LANGUAGE="fr"))
        assert "réessayer" in json.loads(api.content)["errors"][0]["detail"]
        page = middleware(RequestFactory().get("/needs/", HTTP_ACCEPT_LANGUAGE="ar"))
        assert page.status_code == 503
        assert 'dir="rtl"' in page.content.decode()
    finally:
        view.release.set()
        holder.join(HANG)


def test_a_queued_request_gets_the_freed_slot_and_the_queue_is_bounded(settings, shedding):
    settings.LOAD_SHED_QUEUE = 1
    settings.LOAD_SHED_WAIT_SECONDS = HANG
    middleware, view = shedding()
    holder, held = _in_thread(middleware, "/hold")
    assert view.entered.acquire(timeout=HANG)
    waiter, waited = _in_thread(middleware, "/api/v1/offers/")
    for _ in range(HANG * 100):  # until the second request is waiting for the slot
        if middleware.waiting == 1:
            break
        threading.Event().wait(0.01)
    assert middleware.waiting == 1

    # The queue is full: a third request is not queued, it is answered at once.
    assert middleware(RequestFactory().get("/api/v1/offers/")).status_code == 503

    view.release.set()
    holder.join(HANG)
    waiter.join(HANG)
    assert held[0].status_code == 200
    assert waited[0].status_code == 200
    assert middleware.waiting == 0


def test_zero_turns_it_off(settings, shedding):
    settings.LOAD_SHED_MAX_IN_FLIGHT = 0
    middleware, view = shedding()
    holder, _ = _in_thread(middleware, "/hold")
    assert view.entered.acquire(timeout=HANG)
    try:
        assert middleware(RequestFactory().get("/api/v1/offers/")).status_code == 200
    finally:
        view.release.set()
        holder.join(HANG)


def test_it_runs_first_and_gunicorn_has_threads_to_spare():
    """First, so a shed request costs no session or database work; the Dockerfile's threads
    outnumber slots plus queue, or requests would wait in gunicorn's queue unseen."""
    assert django_settings.MIDDLEWARE[0] == "config.middleware.LoadSheddingMiddleware"
    command = (django_settings.BASE_DIR / "Dockerfile").read_text().split("CMD", 1)[1]
    threads = int(command.split('"--threads", "', 1)[1].split('"', 1)[0])
    assert threads > django_settings.LOAD_SHED_MAX_IN_FLIGHT + django_settings.LOAD_SHED_QUEUE
