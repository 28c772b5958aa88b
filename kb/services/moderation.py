"""The moderation state machine of offers and needs.

An entry's *moderation state* combines its status with its pending changes:

    draft ──submit──> submitted ──publish──> published ──archive──> archived ──restore──> draft
      ^                 │  │                  │   ^
      └────withdraw─────┘  └─return─> returned │   └─publish/withdraw─ published_changes_submitted
                                  └─submit─>    └─(edit)─────────────────────┘     │return
                                                                      published_changes_returned

``TRANSITIONS`` below is the whole truth: (action, from state) -> (to state, who, reason needed,
effect). ``entry_transition`` is the only code that applies it. Anything not in the table is an
``IllegalTransition`` naming the states the action is allowed from.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from kb.exceptions import IllegalTransition
from kb.models import EntryStatus, KnowledgeEntry, ModerationState, RevisionStatus
from kb.selectors import entry_can_manage
from kb.services.effects import entry_changed_on_commit
from kb.services.entries import entry_event_record, entry_snapshot, entry_submission_check, revision_apply, spec_for


class Action(enum.StrEnum):
    SUBMIT = "submit"
    WITHDRAW = "withdraw"
    PUBLISH = "publish"
    RETURN = "return"
    UNPUBLISH = "unpublish"
    ARCHIVE = "archive"
    RESTORE = "restore"


class Role(enum.Flag):
    OWNER = enum.auto()  # a focal point of the owning organisation
    MODERATOR = enum.auto()


class Effect(enum.Enum):
    NONE = "none"
    APPLY_CHANGES = "apply_changes"  # copy pending changes into the entry
    DISCARD_CHANGES = "discard_changes"


@dataclass(frozen=True)
class Transition:
    to: ModerationState
    by: Role
    reason_required: bool = False
    effect: Effect = Effect.NONE


ACTION_LABELS = {
    Action.SUBMIT: gettext_lazy("Submit for moderation"),
    Action.WITHDRAW: gettext_lazy("Withdraw"),
    Action.PUBLISH: gettext_lazy("Publish"),
    Action.RETURN: gettext_lazy("Return to the authors"),
    Action.UNPUBLISH: gettext_lazy("Unpublish"),
    Action.ARCHIVE: gettext_lazy("Archive"),
    Action.RESTORE: gettext_lazy("Restore as a draft"),
}


def _labels() -> dict[str, str]:
    return {
        **{a.value: str(label) for a, label in ACTION_LABELS.items()},
        **{s.value: str(s.label) for s in ModerationState},
    }


S, A = ModerationState, Action
TRANSITIONS: dict[tuple[Action, ModerationState], Transition] = {
    (A.SUBMIT, S.DRAFT): Transition(S.SUBMITTED, Role.OWNER),
    (A.SUBMIT, S.RETURNED): Transition(S.SUBMITTED, Role.OWNER),
    (A.SUBMIT, S.PUBLISHED_CHANGES_RETURNED): Transition(S.PUBLISHED_CHANGES_SUBMITTED, Role.OWNER),
    (A.WITHDRAW, S.SUBMITTED): Transition(S.DRAFT, Role.OWNER),
    (A.WITHDRAW, S.PUBLISHED_CHANGES_SUBMITTED): Transition(S.PUBLISHED, Role.OWNER, effect=Effect.DISCARD_CHANGES),
    (A.WITHDRAW, S.PUBLISHED_CHANGES_RETURNED): Transition(S.PUBLISHED, Role.OWNER, effect=Effect.DISCARD_CHANGES),
    (A.PUBLISH, S.SUBMITTED): Transition(S.PUBLISHED, Role.MODERATOR),
    (A.PUBLISH, S.PUBLISHED_CHANGES_SUBMITTED): Transition(S.PUBLISHED, Role.MODERATOR, effect=Effect.APPLY_CHANGES),
    (A.RETURN, S.SUBMITTED): Transition(S.RETURNED, Role.MODERATOR, reason_required=True),
    (A.RETURN, S.PUBLISHED_CHANGES_SUBMITTED): Transition(S.PUBLISHED_CHANGES_RETURNED, Role.MODERATOR, reason_required=True),
    # Taking a published entry down: the author's latest text (pending changes included) becomes
    # the working copy, nothing they wrote is lost.
    (A.UNPUBLISH, S.PUBLISHED): Transition(S.RETURNED, Role.MODERATOR, reason_required=True),
    (A.UNPUBLISH, S.PUBLISHED_CHANGES_SUBMITTED): Transition(S.RETURNED, Role.MODERATOR, reason_required=True, effect=Effect.APPLY_CHANGES),
    (A.UNPUBLISH, S.PUBLISHED_CHANGES_RETURNED): Transition(S.RETURNED, Role.MODERATOR, reason_required=True, effect=Effect.APPLY_CHANGES),
    (A.ARCHIVE, S.PUBLISHED): Transition(S.ARCHIVED, Role.OWNER | Role.MODERATOR),
    (A.RESTORE, S.ARCHIVED): Transition(S.DRAFT, Role.OWNER),
}  # fmt: skip

_STATUS_OF = {
    S.DRAFT: (EntryStatus.DRAFT, RevisionStatus.NONE),
    S.SUBMITTED: (EntryStatus.SUBMITTED, RevisionStatus.NONE),
    S.RETURNED: (EntryStatus.RETURNED, RevisionStatus.NONE),
    S.PUBLISHED: (EntryStatus.PUBLISHED, RevisionStatus.NONE),
    S.PUBLISHED_CHANGES_SUBMITTED: (EntryStatus.PUBLISHED, RevisionStatus.SUBMITTED),
    S.PUBLISHED_CHANGES_RETURNED: (EntryStatus.PUBLISHED, RevisionStatus.RETURNED),
    S.ARCHIVED: (EntryStatus.ARCHIVED, RevisionStatus.NONE),
}


def allowed_actions(entry: KnowledgeEntry, *, is_owner: bool, is_moderator: bool) -> list[str]:
    """Actions this user may take on ``entry`` now (for UIs)."""
    state = entry.moderation_state
    roles = (Role.OWNER if is_owner else Role(0)) | (Role.MODERATOR if is_moderator else Role(0))
    return [action.value for (action, from_state), t in TRANSITIONS.items() if from_state == state and t.by & roles]


def _check_role(actor: User | None, entry: KnowledgeEntry, transition: Transition, action: Action) -> None:
    if actor is None:  # system (bulk import by a moderator on the command line)
        return
    if transition.by & Role.MODERATOR and actor.is_moderator:
        return
    if transition.by & Role.OWNER and entry_can_manage(user=actor, entry=entry):
        return
    if transition.by == Role.MODERATOR:
        raise PermissionDenied(_("Only moderators can do this: “%(action)s”.") % {"action": ACTION_LABELS[action]})
    raise PermissionDenied(
        _("Only the entry's own focal points can do this: “%(action)s”.") % {"action": ACTION_LABELS[action]}
    )


def entry_transition_unchecked(
    *, actor: User | None, entry: KnowledgeEntry, action: str, reason: str = ""
) -> KnowledgeEntry:
    """Apply one transition inside the caller's transaction (``entry`` should be locked)."""
    action = Action(action)
    state = entry.moderation_state
    transition = TRANSITIONS.get((action, state))
    if transition is None:
        allowed = [s.value for (a, s) in TRANSITIONS if a == action]
        raise IllegalTransition(action=action.value, state=state.value, allowed_from=allowed, labels=_labels())
    _check_role(actor, entry, transition, action)
    reason = (reason or "").strip()
    if transition.reason_required and not reason:
        raise ValidationError(
            {"reason": _("Give a reason for this action: “%(action)s”.") % {"action": ACTION_LABELS[action]}}
        )
    if action == Action.SUBMIT and actor is not None:
        # A focal point's submission must be complete; a moderator's bulk import (no actor)
        # follows the interchange format, where articles and types are optional.
        entry_submission_check(entry.pending_revision or entry_snapshot(entry))

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
    if action == Action.SUBMIT:
        entry.submitted_at = now
    if action == Action.PUBLISH:
        entry.published_at = now
        entry.moderation_reason = ""
    if transition.reason_required:
        entry.moderation_reason = reason
    entry.save()
    entry_event_record(
        entry=entry,
        action=action.value,
        actor=actor,
        from_status=state.value,
        to_status=transition.to.value,
        reason=reason,
    )
    entry_changed_on_commit(spec_for(entry).kind, [entry.pk])
    return entry


def entry_transition(*, actor: User, entry: KnowledgeEntry, action: str, reason: str = "") -> KnowledgeEntry:
    """Apply a moderation action to one entry, atomically, after checking who may do it."""
    with transaction.atomic(durable=True):
        locked = type(entry).objects.select_for_update().get(pk=entry.pk)
        return entry_transition_unchecked(actor=actor, entry=locked, action=action, reason=reason)


def entries_transition_bulk(*, actor: User, entries: list[KnowledgeEntry], action: str, reason: str = "") -> int:
    """Apply one action to many entries (admin bulk approve/return): all or nothing."""
    with transaction.atomic(durable=True):
        for entry in entries:
            locked = type(entry).objects.select_for_update().get(pk=entry.pk)
            entry_transition_unchecked(actor=actor, entry=locked, action=action, reason=reason)
    return len(entries)
