"""The moderation state machine of offers and needs.

An entry's *moderation state* combines its status with its pending changes:

    draft ──submit──> submitted ──publish──> published ──archive──> archived ──restore──> draft
      ^                 │  │                  │   ^
      └────withdraw─────┘  └─return─> returned │   └─publish/withdraw─ published_changes_submitted
                                  └─submit─>    └─(edit)─────────────────────┘     │return
                                                                      published_changes_returned

``TRANSITIONS`` below is the whole truth: (action, from state) -> (to state, who, reason needed,
effect); ``core.state_machine`` provides the mechanics. ``entry_transition`` applies a person's
action; ``entry_import_status`` applies the import's system transitions (a moderator's file sets
an entry to draft, submitted or published from any state). Anything not in the table is an
``IllegalTransition`` naming the states the action is allowed from.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TypeVar

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from core.state_machine import NOBODY, Role, StateMachine, Transition
from kb.content import spec_for
from kb.models import EntryAction, EntryStatus, KnowledgeEntry, ModerationState, RevisionStatus
from kb.selectors import entry_can_manage
from kb.services.effects import entry_changed_on_commit
from kb.services.entries import entry_event_record, entry_snapshot, entry_submission_check, revision_apply
from kb.signals import entry_moderated

EntryT = TypeVar("EntryT", bound=KnowledgeEntry)


class Action(enum.StrEnum):
    """What people do: focal points to their own entries, moderators to anyone's."""

    SUBMIT = "submit"
    WITHDRAW = "withdraw"
    PUBLISH = "publish"
    RETURN = "return"
    UNPUBLISH = "unpublish"
    ARCHIVE = "archive"
    RESTORE = "restore"


class SystemAction(enum.StrEnum):
    """What the import does: set the status a moderator's file gives."""

    IMPORT_AS_DRAFT = "import_as_draft"
    IMPORT_AS_SUBMITTED = "import_as_submitted"
    IMPORT_AS_PUBLISHED = "import_as_published"


class Effect(enum.Enum):
    NONE = "none"
    APPLY_CHANGES = "apply_changes"  # copy pending changes into the entry
    DISCARD_CHANGES = "discard_changes"


@dataclass(frozen=True)
class ModerationTransition(Transition[ModerationState]):
    effect: Effect = Effect.NONE
    records: str = ""  # the EntryEvent action, when it is not the action's own code


ACTION_LABELS: dict[Action | SystemAction, Promise | str] = {
    Action.SUBMIT: gettext_lazy("Submit for moderation"),
    Action.WITHDRAW: gettext_lazy("Withdraw"),
    Action.PUBLISH: gettext_lazy("Publish"),
    Action.RETURN: gettext_lazy("Return to the authors"),
    Action.UNPUBLISH: gettext_lazy("Unpublish"),
    Action.ARCHIVE: gettext_lazy("Archive"),
    Action.RESTORE: gettext_lazy("Restore as a draft"),
}

#: The moderation actions people hear about (``kb.signals.entry_moderated``): the authors when
#: their entry is published, returned or taken down, the moderators when something is submitted.
NOTIFIED_ACTIONS = frozenset({Action.SUBMIT, Action.PUBLISH, Action.RETURN, Action.UNPUBLISH})

S, A, T = ModerationState, Action, ModerationTransition
_IMPORTED_AS = {
    EntryStatus.DRAFT: SystemAction.IMPORT_AS_DRAFT,
    EntryStatus.SUBMITTED: SystemAction.IMPORT_AS_SUBMITTED,
    EntryStatus.PUBLISHED: SystemAction.IMPORT_AS_PUBLISHED,
}
TRANSITIONS: dict[tuple[Action | SystemAction, ModerationState], ModerationTransition] = {
    (A.SUBMIT, S.DRAFT): T(S.SUBMITTED, Role.OWNER),
    (A.SUBMIT, S.RETURNED): T(S.SUBMITTED, Role.OWNER),
    (A.SUBMIT, S.PUBLISHED_CHANGES_RETURNED): T(S.PUBLISHED_CHANGES_SUBMITTED, Role.OWNER),
    (A.WITHDRAW, S.SUBMITTED): T(S.DRAFT, Role.OWNER),
    (A.WITHDRAW, S.PUBLISHED_CHANGES_SUBMITTED): T(S.PUBLISHED, Role.OWNER, effect=Effect.DISCARD_CHANGES),
    (A.WITHDRAW, S.PUBLISHED_CHANGES_RETURNED): T(S.PUBLISHED, Role.OWNER, effect=Effect.DISCARD_CHANGES),
    (A.PUBLISH, S.SUBMITTED): T(S.PUBLISHED, Role.MODERATOR),
    (A.PUBLISH, S.PUBLISHED_CHANGES_SUBMITTED): T(S.PUBLISHED, Role.MODERATOR, effect=Effect.APPLY_CHANGES),
    (A.RETURN, S.SUBMITTED): T(S.RETURNED, Role.MODERATOR, reason_required=True),
    (A.RETURN, S.PUBLISHED_CHANGES_SUBMITTED): T(S.PUBLISHED_CHANGES_RETURNED, Role.MODERATOR, reason_required=True),
    # Taking a published entry down: the author's latest text (pending changes included) becomes
    # the working copy, nothing they wrote is lost.
    (A.UNPUBLISH, S.PUBLISHED): T(S.RETURNED, Role.MODERATOR, reason_required=True),
    (A.UNPUBLISH, S.PUBLISHED_CHANGES_SUBMITTED): T(S.RETURNED, Role.MODERATOR, reason_required=True, effect=Effect.APPLY_CHANGES),
    (A.UNPUBLISH, S.PUBLISHED_CHANGES_RETURNED): T(S.RETURNED, Role.MODERATOR, reason_required=True, effect=Effect.APPLY_CHANGES),
    (A.ARCHIVE, S.PUBLISHED): T(S.ARCHIVED, Role.OWNER | Role.MODERATOR),
    (A.RESTORE, S.ARCHIVED): T(S.DRAFT, Role.OWNER),
    # The import writes the file's version over whatever the entry held (pending changes
    # included) and gives it the file's status, from any state.
    **{
        (action, state): T(S(status.value), Role.SYSTEM, records=EntryAction.IMPORTED)
        for status, action in _IMPORTED_AS.items()
        for state in S
    },
}  # fmt: skip

MODERATION: StateMachine[Action | SystemAction, ModerationState, ModerationTransition] = StateMachine(
    TRANSITIONS,
    action_labels=ACTION_LABELS,
    illegal_message=gettext_lazy(
        "“%(action)s” is not possible for an entry that is “%(state)s”; it is possible from: %(allowed)s."
    ),
)

_STATUS_OF = {
    S.DRAFT: (EntryStatus.DRAFT, RevisionStatus.NONE),
    S.SUBMITTED: (EntryStatus.SUBMITTED, RevisionStatus.NONE),
    S.RETURNED: (EntryStatus.RETURNED, RevisionStatus.NONE),
    S.PUBLISHED: (EntryStatus.PUBLISHED, RevisionStatus.NONE),
    S.PUBLISHED_CHANGES_SUBMITTED: (EntryStatus.PUBLISHED, RevisionStatus.SUBMITTED),
    S.PUBLISHED_CHANGES_RETURNED: (EntryStatus.PUBLISHED, RevisionStatus.RETURNED),
    S.ARCHIVED: (EntryStatus.ARCHIVED, RevisionStatus.NONE),
}


def _roles(actor: User, entry: KnowledgeEntry) -> Role:
    owner = Role.OWNER if entry_can_manage(user=actor, entry=entry) else NOBODY
    return owner | (Role.MODERATOR if actor.is_moderator else NOBODY)


def allowed_actions(entry: KnowledgeEntry, *, is_owner: bool, is_moderator: bool) -> list[str]:
    """Actions this user may take on ``entry`` now (for UIs)."""
    roles = (Role.OWNER if is_owner else NOBODY) | (Role.MODERATOR if is_moderator else NOBODY)
    return [action.value for action in MODERATION.allowed_actions(entry.moderation_state, roles)]


def _check_role(actor: User, entry: KnowledgeEntry, transition: ModerationTransition, action: Action) -> None:
    if transition.by & _roles(actor, entry):
        return
    if transition.by == Role.MODERATOR:
        raise PermissionDenied(_("Only moderators can do this: “%(action)s”.") % {"action": ACTION_LABELS[action]})
    raise PermissionDenied(
        _("Only the entry's own focal points can do this: “%(action)s”.") % {"action": ACTION_LABELS[action]}
    )


def _apply(
    entry: EntryT,
    action: Action | SystemAction,
    transition: ModerationTransition,
    *,
    actor: User | None,
    reason: str,
) -> EntryT:
    """Move ``entry`` (locked, in the caller's transaction) along ``transition``; record it."""
    state = entry.moderation_state
    if transition.effect == Effect.APPLY_CHANGES:
        revision_apply(entry)
    elif transition.effect == Effect.DISCARD_CHANGES:
        entry.pending_revision = None
    status, revision_status = _STATUS_OF[transition.to]
    entry.status = status
    entry.revision_status = revision_status
    if revision_status == RevisionStatus.NONE:
        entry.pending_revision = None
    now = timezone.now()
    if action == Action.SUBMIT or (status == EntryStatus.SUBMITTED and entry.submitted_at is None):
        entry.submitted_at = now
    if action == Action.PUBLISH:
        entry.published_at = now
        entry.moderation_reason = ""
    elif status == EntryStatus.PUBLISHED and entry.published_at is None:
        entry.published_at = now
    if transition.reason_required:
        entry.moderation_reason = reason
    entry.save()
    entry_event_record(
        entry=entry,
        action=transition.records or action.value,
        actor=actor,
        from_status=state.value,
        to_status=transition.to.value,
        reason=reason,
    )
    entry_changed_on_commit(spec_for(entry).kind, [entry.pk])
    if action in NOTIFIED_ACTIONS:
        entry_moderated.send(sender=spec_for(entry).kind, entry=entry, action=action.value, actor=actor, reason=reason)
    return entry


def entry_transition_unchecked(*, actor: User, entry: EntryT, action: str, reason: str = "") -> EntryT:
    """Apply one person's action inside the caller's transaction (``entry`` should be locked)."""
    chosen = Action(action)
    transition = MODERATION.transition(chosen, entry.moderation_state)
    _check_role(actor, entry, transition, chosen)
    reason = MODERATION.reason(transition, chosen, reason)
    if chosen == Action.SUBMIT:
        # A focal point's submission must be complete; the import (its own system transitions)
        # follows the interchange format, where articles and types are optional.
        entry_submission_check(entry.pending_revision or entry_snapshot(entry))
    return _apply(entry, chosen, transition, actor=actor, reason=reason)


def entry_import_status(*, actor: User | None, entry: KnowledgeEntry, status: str) -> KnowledgeEntry:
    """The import's system transition to ``status`` (inside the import's transaction)."""
    action = _IMPORTED_AS[EntryStatus(status)]
    transition = MODERATION.transition(action, entry.moderation_state)
    # No reason text: the event's action ("Imported", translated) says it, and a stored English
    # "bulk import" showed in every language's history.
    return _apply(entry, action, transition, actor=actor, reason="")


def entry_transition(*, actor: User, entry: EntryT, action: str, reason: str = "") -> EntryT:
    """Apply a moderation action to one entry, atomically, after checking who may do it."""
    with transaction.atomic(durable=True):
        locked = type(entry)._default_manager.select_for_update().get(pk=entry.pk)
        return entry_transition_unchecked(actor=actor, entry=locked, action=action, reason=reason)


def entries_transition_bulk(*, actor: User, entries: list[KnowledgeEntry], action: str, reason: str = "") -> int:
    """Apply one action to many entries (admin bulk approve/return): all or nothing."""
    with transaction.atomic(durable=True):
        for entry in entries:
            locked = type(entry)._default_manager.select_for_update().get(pk=entry.pk)
            entry_transition_unchecked(actor=actor, entry=locked, action=action, reason=reason)
    return len(entries)
