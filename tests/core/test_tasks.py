"""Side effects are queued one way (``core.tasks``): after commit, only a broker outage caught, a
bug in a task raised; entry changes reach other apps through ``kb.signals``."""

from __future__ import annotations

import logging

import pytest
from celery import Celery, shared_task
from django.db import transaction

from core.tasks import enqueue, enqueue_on_commit, registered
from kb.content import entry_content
from kb.services.entries import offer_create
from kb.signals import entries_committed, entry_features_ready
from matching.services import notifications, runs

pytestmark = pytest.mark.django_db

OFFER = {"title": "Asset declarations", "description": "Verification systems.", "language": "en"}
done: list[int] = []


@shared_task
def _record(value: int) -> None:
    done.append(value)


@shared_task
def _broken(value: int) -> None:
    raise ZeroDivisionError(value)


def test_a_task_is_queued_only_once_the_transaction_commits(django_capture_on_commit_callbacks):
    done.clear()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        enqueue_on_commit(_record, 7)
        assert done == []
    assert len(callbacks) == 1
    assert done == [7]


def _write_then_fail() -> None:
    with transaction.atomic():
        enqueue_on_commit(_record, 8)
        raise RuntimeError("rolled back")


def test_a_rolled_back_write_queues_nothing(django_capture_on_commit_callbacks):
    done.clear()
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        _write_then_fail()
    assert callbacks == []
    assert done == []


def test_a_bug_in_a_task_is_not_swallowed(django_capture_on_commit_callbacks):
    """Four ``try: .delay() except Exception`` blocks used to log and drop this."""
    with pytest.raises(ZeroDivisionError), django_capture_on_commit_callbacks(execute=True):
        enqueue_on_commit(_broken, 1)


@pytest.mark.redis
def test_a_broker_that_is_down_is_logged_and_the_caller_goes_on(caplog):
    # An application of its own: the project's reads its broker from the Django settings once.
    down = Celery("down", broker="redis://127.0.0.1:9/0", set_as_current=False)  # nothing listens on 9
    down.conf.task_always_eager = False

    @down.task(name="tests.core.unreachable")
    def unreachable(value: int) -> None:
        done.append(value)

    try:
        with caplog.at_level(logging.WARNING, logger="core.tasks"):
            assert enqueue(unreachable, 9) is False
    finally:
        down.close()
    assert "broker unavailable" in caplog.text


def test_entry_changes_reach_other_apps_after_commit_once_per_kind(civ, django_capture_on_commit_callbacks):
    committed: list[tuple[str, list[int]]] = []
    ready: list[tuple[str, list[int]]] = []

    def on_committed(sender, ids, **kwargs):
        committed.append((sender, ids))

    def on_ready(sender, ids, **kwargs):
        ready.append((sender, ids))

    entries_committed.connect(on_committed)
    entry_features_ready.connect(on_ready)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            offer = offer_create(actor=civ.user, organisation=civ.organisation, content=entry_content("offer", OFFER))
            assert committed == []
    finally:
        entries_committed.disconnect(on_committed)
        entry_features_ready.disconnect(on_ready)
    assert committed == [("offer", [offer.pk])]
    # The vectors task ran (eagerly) and then told the other apps the entry is ready.
    assert ready == [("offer", [offer.pk])]


def test_a_task_can_be_queued_by_its_registered_name(django_capture_on_commit_callbacks):
    """Services start tasks of their own app by name: its tasks module imports them."""
    done.clear()
    with django_capture_on_commit_callbacks(execute=True):
        enqueue_on_commit(_record.name, 11)
    assert enqueue(_record.name, 12) is True
    assert done == [11, 12]


def test_an_unknown_task_name_is_an_error_naming_it():
    with pytest.raises(LookupError, match="matching.tasks.no_such_task"):
        enqueue("matching.tasks.no_such_task", 1)


@pytest.mark.parametrize(
    "name",
    [
        runs.RUN_TASK,
        runs.RESCORE_NEEDS_TASK,
        runs.RESCORE_OFFERS_TASK,
        notifications.SEND_EMAILS_TASK,
    ],
)
def test_the_names_matching_services_queue_are_registered_tasks(name):
    assert registered(name).name == name
