"""The database triggers behind search synchronisation see every write, whatever made it."""

from __future__ import annotations

import pytest
from django.db import connection

from kb.db_triggers import installed_trigger_names
from kb.models import ExpertiseOffer, SearchOutbox, UncacArticle
from tests.factories import NeedFactory, OfferFactory

pytestmark = pytest.mark.django_db


def _outbox(kind: str, entry_id: int) -> int:
    return SearchOutbox.objects.filter(entry_kind=kind, entry_id=entry_id).count()


def test_triggers_are_installed():
    names = installed_trigger_names(connection)
    assert any("expertiseoffer" in n for n in names)
    assert any("assistanceneed" in n for n in names)


def test_insert_update_delete_each_leave_an_outbox_row():
    offer = OfferFactory()
    assert _outbox("offer", offer.pk) == 1
    offer.title = "Changed"
    offer.save()
    assert _outbox("offer", offer.pk) == 2
    pk = offer.pk
    offer.delete()
    assert _outbox("offer", pk) == 3


def test_queryset_update_bumps_the_version_and_reaches_the_outbox():
    need = NeedFactory()
    SearchOutbox.objects.all().delete()
    version = need.row_version
    type(need).objects.filter(pk=need.pk).update(title="Bulk-edited title")
    need.refresh_from_db()
    assert need.row_version == version + 1
    assert _outbox("need", need.pk) == 1


def test_many_to_many_changes_count_as_a_change_of_the_entry():
    offer = OfferFactory()
    SearchOutbox.objects.all().delete()
    version = ExpertiseOffer.objects.get(pk=offer.pk).row_version
    offer.articles.set(UncacArticle.objects.filter(number__in=[8, 9]))
    after_add = ExpertiseOffer.objects.get(pk=offer.pk).row_version
    assert after_add > version
    offer.articles.clear()
    assert ExpertiseOffer.objects.get(pk=offer.pk).row_version > after_add
    assert _outbox("offer", offer.pk) >= 2


def test_saving_a_stale_instance_still_increases_the_version():
    offer = OfferFactory()
    stale = ExpertiseOffer.objects.get(pk=offer.pk)
    ExpertiseOffer.objects.filter(pk=offer.pk).update(title="Someone else")
    current = ExpertiseOffer.objects.get(pk=offer.pk).row_version
    stale.capacity = 7
    stale.save()
    assert ExpertiseOffer.objects.get(pk=offer.pk).row_version == current + 1
