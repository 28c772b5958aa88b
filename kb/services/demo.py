"""Demo content for the one-command start: the sample knowledge base and a few demo accounts.

Passwords are generated when an account is created (never fixed in code) and written, with the
sign-in addresses, to ``var/demo-credentials.txt`` (not committed), which the start command prints.
Loading again changes nothing: entries are imported idempotently and existing accounts are kept.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from accounts.models import User
from accounts.services import membership_grant, user_create, user_make_moderator
from kb.content import entry_content
from kb.models import AssistanceNeed, EntryStatus, ExpertiseOffer, Organisation, RevisionStatus
from kb.services.entries import entry_update
from kb.services.importing import ImportReport, entries_import_file

DEMO_FILE = Path(__file__).resolve().parent.parent / "demo_data" / "entries.jsonl"


@dataclass(frozen=True)
class DemoAccount:
    email: str
    full_name: str
    language: str
    organisation: str | None  # organisation name in the demo file; None for the moderator
    country: str | None
    provider: bool = False
    recipient: bool = False


DEMO_ACCOUNTS = (
    DemoAccount("moderator@example.org", "Secretariat moderator", "en", None, None),
    DemoAccount("civ.focal@example.org", "Aminata Koné", "fr", "Haute Autorité pour la Bonne Gouvernance (HABG)", "CIV", provider=True, recipient=True),
    DemoAccount("pry.focal@example.org", "Lucía Benítez", "es", "Secretaría Nacional Anticorrupción (SENAC)", "PRY", recipient=True),
    DemoAccount("pse.focal@example.org", "Rania Haddad", "ar", "هيئة مكافحة الفساد", "PSE", recipient=True),
    DemoAccount("kor.focal@example.org", "Min-jun Park", "en", "Anti-Corruption and Civil Rights Commission", "KOR", provider=True),
    DemoAccount("rwa.focal@example.org", "Jean-Paul Mugisha", "en", "Office of the Ombudsman of Rwanda", "RWA", provider=True),
)  # fmt: skip


def credentials_file() -> Path:
    return Path(settings.VAR_DIR) / "demo-credentials.txt"


def _remember(email: str, password: str) -> None:
    path = credentials_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(f"{email}\t{password}\n")
    path.chmod(0o600)


def demo_accounts_ensure() -> list[str]:
    """Create missing demo accounts; returns the e-mails created now."""
    created = []
    for account in DEMO_ACCOUNTS:
        user = User.objects.filter(email=account.email).first()
        if user is None:
            password = secrets.token_urlsafe(12)
            user = user_create(
                email=account.email, password=password, full_name=account.full_name, preferred_language=account.language
            )
            _remember(account.email, password)
            created.append(account.email)
            if account.organisation is None:
                user.is_superuser = True
                user.save(update_fields=["is_superuser"])
                user_make_moderator(user=user)
        if account.organisation:
            organisation = Organisation.objects.get(name=account.organisation, country__iso3=account.country)
            membership_grant(
                user=user, organisation=organisation, provider=account.provider, recipient=account.recipient
            )
    return created


def demo_content_load() -> tuple[ImportReport, list[str]]:
    with open(DEMO_FILE, "rb") as stream:
        report = entries_import_file(stream=stream, publish=True)
    if not report.ok:
        raise ValueError("demo file is invalid: " + "; ".join(str(e) for e in report.errors[:5]))
    created = demo_accounts_ensure()
    demo_review_queue_ensure()
    return report, created


def demo_review_queue_ensure() -> None:
    """Something in the moderators' queue on the first day, written as a focal point would: a
    published offer of the Ivorian demo organisation with changes submitted for review (once:
    nothing is added while anything awaits review)."""
    if ExpertiseOffer.objects.filter(revision_status=RevisionStatus.SUBMITTED).exists() or (
        ExpertiseOffer.objects.filter(status=EntryStatus.SUBMITTED).exists()
        or AssistanceNeed.objects.filter(status=EntryStatus.SUBMITTED).exists()
    ):
        return
    author = User.objects.filter(email=DEMO_ACCOUNTS[1].email).first()
    offer = (
        ExpertiseOffer.objects.filter(organisation__name=DEMO_ACCOUNTS[1].organisation, status=EntryStatus.PUBLISHED)
        .order_by("pk")
        .first()
    )
    if author is None or offer is None:
        return
    entry_update(
        actor=author,
        entry=offer,
        content=entry_content(
            offer, {"description": offer.description + " Les sessions peuvent aussi se tenir à distance, en français."}
        ),
    )
