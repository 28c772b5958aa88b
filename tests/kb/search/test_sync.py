"""Keeping the index right: on-commit indexing, re-delivery, outages, rebuilds, status."""

from __future__ import annotations

import threading
import time

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from kb.content import entry_content
from kb.models import EntryStatus, ExpertiseOffer, SearchOutbox
from kb.search import reset_backend
from kb.search.query import SearchRequest
from kb.search.sync import (
    search_index_status,
    search_outbox_drain,
    search_rebuild,
    search_reconcile,
    search_sync_entries,
)
from kb.services.entries import entry_update, offer_create
from kb.services.moderation import entry_transition
from kb.tasks import search_index_entries_task
from tests.conftest import make_search_backend
from tests.factories import OfferFactory

OFFER = {
    "title": "Whistle-blower protection programme",
    "description": "Protecting reporting persons.",
    "language": "en",
    "articles": [33],
    "ta_types": ["legislative_assistance"],
}


def found(backend, text="", kinds=("offer",)):
    return {
        h.entry_id
        for h in backend.search(SearchRequest(kinds=kinds, text=text, visible_to_owners=None, limit=100)).hits
    }


def versions_match_database(backend) -> bool:
    wanted = {o.pk: o.row_version for o in ExpertiseOffer.objects.exclude(status=EntryStatus.ARCHIVED)}
    return backend.versions("offer") == wanted


@pytest.mark.django_db
def test_saving_indexes_after_commit(search_backend, civ, moderator, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        offer = offer_create(actor=civ.user, organisation=civ.organisation, content=entry_content("offer", OFFER))
    assert len(callbacks) == 1
    assert offer.pk in found(search_backend, "whistle")  # drafts are indexed (for their owners)
    assert not SearchOutbox.objects.filter(entry_id=offer.pk).exists()

    with django_capture_on_commit_callbacks(execute=True):
        entry_transition(actor=civ.user, entry=offer, action="submit")
    with django_capture_on_commit_callbacks(execute=True):
        entry_transition(actor=moderator.user, entry=offer, action="publish")
    published = search_backend.search(SearchRequest(kinds=("offer",), text="whistle", visible_to_owners=()))
    assert [h.entry_id for h in published.hits] == [offer.pk]

    with django_capture_on_commit_callbacks(execute=True):
        entry_transition(actor=civ.user, entry=offer, action="archive")
    assert offer.pk not in found(search_backend, "whistle")


@pytest.mark.django_db
def test_nothing_is_queued_when_the_transaction_rolls_back(search_backend, civ, django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        offer_create_unchecked_then_fail(civ)
    assert callbacks == []
    assert not ExpertiseOffer.objects.exists()
    assert found(search_backend) == set()


def offer_create_unchecked_then_fail(civ):
    from kb.services.entries import offer_create_unchecked

    offer_create_unchecked(actor=civ.user, organisation=civ.organisation, content=entry_content("offer", OFFER))
    raise RuntimeError("something later in the same transaction failed")


@pytest.mark.django_db
def test_redelivered_index_task_changes_nothing(search_backend):
    offer = OfferFactory(status=EntryStatus.PUBLISHED)
    search_index_entries_task.apply(args=["offer", [offer.pk]])
    first = search_backend.versions("offer")
    search_index_entries_task.apply(args=["offer", [offer.pk]])
    search_index_entries_task.apply(args=["offer", [offer.pk]])
    assert search_backend.versions("offer") == first
    assert search_backend.count("offer") == 1


@pytest.mark.django_db
def test_a_stale_write_never_overwrites_a_newer_one(search_backend):
    from kb.search.documents import build_documents

    offer = OfferFactory(status=EntryStatus.PUBLISHED, title="Old title")
    (old,), _ = build_documents("offer", [offer.pk])
    ExpertiseOffer.objects.filter(pk=offer.pk).update(title="New title")
    search_outbox_drain(backend=search_backend)
    search_backend.write("offer", [old])  # a late, slow task delivering the old state
    hit = search_backend.search(SearchRequest(kinds=("offer",), visible_to_owners=None)).hits[0]
    assert hit.source["title"] == "New title"


@pytest.mark.django_db
def test_deleted_entries_leave_the_index(search_backend, civ, django_capture_on_commit_callbacks):
    from kb.services.entries import entry_delete

    with django_capture_on_commit_callbacks(execute=True):
        offer = offer_create(actor=civ.user, organisation=civ.organisation, content=entry_content("offer", OFFER))
    with django_capture_on_commit_callbacks(execute=True):
        entry_delete(actor=civ.user, entry=offer)
    assert search_backend.count("offer") == 0


@pytest.mark.django_db
def test_bulk_updates_reach_the_index_through_reconcile(search_backend):
    offers = [OfferFactory(status=EntryStatus.PUBLISHED) for _ in range(3)]
    search_outbox_drain(backend=search_backend)
    ExpertiseOffer.objects.filter(pk__in=[o.pk for o in offers]).update(title="Renamed in bulk")
    assert found(search_backend, "renamed") == set()
    search_reconcile(backend=search_backend)
    assert found(search_backend, "renamed") == {o.pk for o in offers}
    assert versions_match_database(search_backend)


@pytest.mark.django_db
def test_full_reconcile_repairs_an_index_edited_behind_our_back(search_backend):
    keep = OfferFactory(status=EntryStatus.PUBLISHED)
    search_outbox_drain(backend=search_backend)
    search_backend.write("offer", [], {keep.pk: keep.row_version})  # someone deleted a document by hand
    ghost = OfferFactory(status=EntryStatus.PUBLISHED)
    search_outbox_drain(backend=search_backend)
    SearchOutbox.objects.all().delete()
    ExpertiseOffer.objects.filter(pk=ghost.pk).delete()
    SearchOutbox.objects.all().delete()  # and the outbox row of that delete got lost
    report = search_reconcile(full=True, backend=search_backend)
    assert report["repaired"]["indexed"]["offer"] == 1
    assert report["repaired"]["deleted"]["offer"] == 1
    assert versions_match_database(search_backend)


@pytest.mark.django_db
@pytest.mark.elasticsearch
def test_elasticsearch_down_saves_succeed_and_reconcile_catches_up(
    elasticsearch_url, civ, moderator, django_capture_on_commit_callbacks
):
    """An outage is a node nobody answers on: a closed port (the shared test node stays up)."""
    from kb.search.backends.elasticsearch import ElasticsearchBackend

    live = make_search_backend("elasticsearch")
    down = ElasticsearchBackend(live.prefix, url="http://127.0.0.1:9")  # nothing listens on port 9
    reset_backend(down)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            offer = offer_create(actor=civ.user, organisation=civ.organisation, content=entry_content("offer", OFFER))
        with django_capture_on_commit_callbacks(execute=True):
            entry_update(
                actor=civ.user, entry=offer, content=entry_content(offer, {"title": "Saved while search was down"})
            )
        offer.refresh_from_db()
        assert offer.title == "Saved while search was down"
        assert SearchOutbox.objects.filter(entry_id=offer.pk).exists()

        with pytest.raises(Exception):  # noqa: B017, PT011 - reconcile reports the outage
            search_reconcile(backend=down)

        reset_backend(live)  # the node is back
        search_reconcile(backend=live)
        assert offer.pk in found(live, "saved while search")
        assert not SearchOutbox.objects.exists()
        assert versions_match_database(live)
    finally:
        live.drop_all()
        reset_backend(None)


@pytest.mark.django_db
@pytest.mark.redis
def test_redis_down_saves_succeed_and_reconcile_catches_up(
    search_backend, settings, civ, django_capture_on_commit_callbacks
):
    from tests.outages import real_broker, refused_redis_url

    with real_broker(refused_redis_url()):  # a broker that is down
        started = time.monotonic()
        with django_capture_on_commit_callbacks(execute=True):
            offer = offer_create(actor=civ.user, organisation=civ.organisation, content=entry_content("offer", OFFER))
        assert time.monotonic() - started < 15  # publishing gives up quickly
        assert ExpertiseOffer.objects.filter(pk=offer.pk).exists()
        assert SearchOutbox.objects.filter(entry_id=offer.pk).exists()
    search_reconcile(backend=search_backend)
    assert offer.pk in found(search_backend, "whistle")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_rebuild_while_writes_continue_loses_nothing(search_backend):
    from kb.models import Language, Organisation

    organisation = Organisation.objects.create(name="Agency")
    english = Language.objects.get(code="en")
    for i in range(300):
        ExpertiseOffer.objects.create(
            organisation=organisation,
            language=english,
            title=f"Offer {i}",
            description="d",
            status=EntryStatus.PUBLISHED,
        )
    search_outbox_drain(backend=search_backend)
    before = search_backend.current_index("offer")

    stop = threading.Event()
    written: list[int] = []

    def writer():
        i = 0
        try:
            while not stop.is_set():
                offer = ExpertiseOffer.objects.create(
                    organisation=organisation,
                    language=english,
                    title=f"Written during rebuild {i}",
                    description="d",
                    status=EntryStatus.PUBLISHED,
                )
                ExpertiseOffer.objects.filter(pk=offer.pk - 5).update(title=f"Edited during rebuild {i}")
                search_sync_entries(kind="offer", entry_ids=[offer.pk, offer.pk - 5], backend=search_backend)
                written.append(offer.pk)
                i += 1
        finally:
            connection.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        time.sleep(0.2)
        report = search_rebuild(kind="offer", backend=search_backend)
        time.sleep(0.2)
    finally:
        stop.set()
        thread.join()
    search_outbox_drain(backend=search_backend)

    assert written, "the writer made no changes during the rebuild"
    assert report.previous_index == before
    assert search_backend.current_index("offer") == report.new_index != before
    assert versions_match_database(search_backend)
    assert search_backend.count("offer") == ExpertiseOffer.objects.count()


@pytest.mark.django_db
def test_status_command_reports_database_and_index_counts(search_backend, capsys):
    OfferFactory(status=EntryStatus.PUBLISHED)
    call_command("search_index_status")
    out = capsys.readouterr().out
    assert "not in sync" in out
    rows = {r.kind: r for r in search_index_status(backend=search_backend)}
    assert (rows["offer"].database, rows["offer"].index, rows["offer"].outbox_pending) == (1, 0, 1)
    call_command("search_reconcile")
    rows = {r.kind: r for r in search_index_status(backend=search_backend)}
    assert rows["offer"].in_sync
    call_command("search_index_status")
    assert "in sync" in capsys.readouterr().out


@pytest.mark.django_db
def test_rebuild_command(search_backend, capsys):
    OfferFactory(status=EntryStatus.PUBLISHED)
    call_command("rebuild_search_index")
    assert "1 documents" in capsys.readouterr().out
    assert search_backend.count("offer") == 1
