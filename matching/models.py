"""Matching: runs, scored candidates, the plan's outcomes, and engagements from proposal to
completion.

Invariants:
- A ``MatchCandidate`` is unique per (run, need, offer): a re-delivered task rewrites, never
  duplicates. For each need, the current candidates are those of the run of its current
  ``NeedOutcome`` (``MatchCandidate.objects.current()``): switching a need to a newer run updates
  one outcome row, not its candidates.
- At most one full run is queued or running at a time (a partial unique index).
- An ``Engagement`` is unique per (need, offer) while open; its state changes only through
  ``matching.services.engagements`` and its transition table. Engagements from ``accepted`` on
  use up the offer's yearly capacity, and so does help a provider offers (``offered``).
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.attachments import Attachment


class MatchingSettings(models.Model):
    """Weights and limits of matching, tuned by moderators in the admin (one row).

    Defaults come from ``settings.MATCHING_DEFAULTS``; a value here overrides them.
    """

    weight_text = models.FloatField(_("weight: text relevance"), validators=[MinValueValidator(0)])
    # Added with the text encoders: empty means the fitted default (settings.MATCHING_DEFAULTS).
    weight_semantic = models.FloatField(
        _("weight: meaning (any language)"), validators=[MinValueValidator(0)], null=True, blank=True
    )
    weight_articles = models.FloatField(_("weight: UNCAC articles"), validators=[MinValueValidator(0)])
    weight_ta_type = models.FloatField(_("weight: TA type"), validators=[MinValueValidator(0)])
    weight_thematic = models.FloatField(_("weight: thematic area"), validators=[MinValueValidator(0)])
    weight_language = models.FloatField(_("weight: shared working language"), validators=[MinValueValidator(0)])
    weight_south_south = models.FloatField(_("weight: South-South"), validators=[MinValueValidator(0)])
    weight_proximity = models.FloatField(_("weight: same sub-region / region"), validators=[MinValueValidator(0)])
    weight_capacity = models.FloatField(_("weight: capacity left"), validators=[MinValueValidator(0)])
    weight_feedback = models.FloatField(_("weight: past feedback"), validators=[MinValueValidator(0)])
    context_share = models.FloatField(
        _("share of the score context can move"), validators=[MinValueValidator(0), MaxValueValidator(1)]
    )
    south_south_prefer_bonus = models.FloatField(
        _("bonus when the need prefers South-South"), validators=[MinValueValidator(0), MaxValueValidator(1)]
    )
    candidates_per_need = models.PositiveSmallIntegerField(
        _("candidates fetched from search per need"), validators=[MinValueValidator(5), MaxValueValidator(200)]
    )
    stored_per_need = models.PositiveSmallIntegerField(
        _("candidates kept per need"), validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    min_score = models.FloatField(
        _("minimum score to propose"), validators=[MinValueValidator(0), MaxValueValidator(1)]
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("matching settings")
        verbose_name_plural = _("matching settings")

    def __str__(self) -> str:
        return str(_("Matching settings"))


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    COMPLETED = "completed", _("Completed")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class RunScope(models.TextChoices):
    FULL = "full", _("Full run")
    INCREMENTAL = "incremental", _("Incremental re-scoring")


class RunTrigger(models.TextChoices):
    NIGHTLY = "nightly", _("Nightly schedule")
    ADMIN = "admin", _("Admin")
    API = "api", _("API")
    COMMAND = "command", _("Command line")
    ENTRY_CHANGE = "entry_change", _("An entry changed")


ACTIVE_RUN_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)


class MatchRun(models.Model):
    scope = models.CharField(_("scope"), max_length=12, choices=RunScope.choices, default=RunScope.FULL)
    trigger = models.CharField(_("trigger"), max_length=12, choices=RunTrigger.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED, db_index=True
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    need_ids = models.JSONField(_("needs (incremental runs)"), default=list, blank=True)
    created_at = models.DateTimeField(_("queued"), auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    lease_expires_at = models.DateTimeField(_("worker lease until"), null=True, blank=True)
    # The worker holding the lease renews it while it works (a heartbeat); one whose lease was
    # taken over stops writing. ``attempts`` counts claims: a run that keeps killing its worker
    # fails after MATCHING_RUN_MAX_ATTEMPTS instead of looping.
    lease_owner = models.CharField(_("worker holding the lease"), max_length=100, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    enqueued_at = models.DateTimeField(_("last handed to the broker"), null=True, blank=True)
    needs_total = models.PositiveIntegerField(_("needs to score"), default=0)
    needs_done = models.PositiveIntegerField(_("needs scored"), default=0)
    candidates_count = models.PositiveIntegerField(_("candidates kept"), default=0)
    assigned_count = models.PositiveIntegerField(_("pairs assigned"), default=0)
    needs_covered = models.PositiveIntegerField(_("needs covered"), default=0)
    south_south_assigned = models.PositiveIntegerField(_("South-South pairs assigned"), default=0)
    timings = models.JSONField(_("timings (seconds)"), default=dict, blank=True)
    definition = models.CharField(_("South-South definition"), max_length=5, blank=True)
    weights = models.JSONField(_("weights used"), default=dict, blank=True)
    search_backend = models.CharField(_("search backend"), max_length=20, blank=True)
    error = models.TextField(_("error"), blank=True)
    # What every batch of a full run scores with, fixed when the run starts (or is taken over):
    # the published offers then, and the corpus statistics computed from them.
    offer_ids = models.JSONField(_("offers (full runs)"), default=list, blank=True)
    corpus_stats = models.ForeignKey(
        "CorpusStats",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("corpus statistics"),
    )

    class Meta:
        verbose_name = _("matching run")
        verbose_name_plural = _("matching runs")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["scope"],
                condition=models.Q(scope="full", status__in=["queued", "running"]),
                name="matching_one_active_full_run",
                violation_error_message=_("A full matching run is already queued or running."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_scope_display()} #{self.pk} ({self.get_status_display()})"

    @property
    def progress(self) -> float:
        return self.needs_done / self.needs_total if self.needs_total else 0.0

    @property
    def coverage(self) -> float:
        return self.needs_covered / self.needs_total if self.needs_total else 0.0

    @property
    def south_south_share(self) -> float:
        return self.south_south_assigned / self.assigned_count if self.assigned_count else 0.0

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_RUN_STATUSES


class MatchBatch(models.Model):
    """One slice of a full run's needs, claimed by whichever worker gets to it first.

    A batch is scored by one worker at a time (its lease), writes its stored candidates and the
    summary the plan reads in one transaction, and is done. A worker that dies leaves the lease to
    expire; another worker (or the run's own) claims the batch again. Candidates written by
    batches stay invisible until the run's need outcomes become current at the end.
    """

    run = models.ForeignKey(MatchRun, on_delete=models.CASCADE, related_name="batches", verbose_name=_("run"))
    number = models.PositiveIntegerField(_("number"))
    need_ids = models.JSONField(_("needs in the batch"), default=list)
    size = models.PositiveIntegerField(_("size"), default=0)
    status = models.CharField(_("status"), max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED)
    lease_owner = models.CharField(_("worker holding the lease"), max_length=100, blank=True)
    lease_expires_at = models.DateTimeField(_("worker lease until"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    # Per need, what the plan needs (orjson): wanted, priority, whether search found anything,
    # and the scored pairs best first (offer, score, South-South, components).
    summary = models.BinaryField(_("scored pairs for the plan"), null=True, blank=True)
    timings = models.JSONField(_("timings (seconds)"), default=dict, blank=True)

    class Meta:
        verbose_name = _("matching batch")
        verbose_name_plural = _("matching batches")
        ordering = ["run_id", "number"]
        constraints = [models.UniqueConstraint(fields=["run", "number"], name="matching_batch_unique")]
        indexes = [models.Index(fields=["run", "status"], name="matching_batch_run_status")]

    def __str__(self) -> str:
        return f"{self.run_id}/{self.number} ({self.status})"


class MatchCandidateQuerySet(models.QuerySet):
    def current(self):
        """Each need's candidates from the latest run that scored it (its current outcome)."""
        return self.filter(
            models.Exists(
                NeedOutcome.objects.filter(
                    run_id=models.OuterRef("run_id"), need_id=models.OuterRef("need_id"), is_current=True
                )
            )
        )


class MatchCandidate(models.Model):
    run = models.ForeignKey(MatchRun, on_delete=models.CASCADE, related_name="candidates", verbose_name=_("run"))
    need = models.ForeignKey(
        "kb.AssistanceNeed", on_delete=models.CASCADE, related_name="candidates", verbose_name=_("need")
    )
    offer = models.ForeignKey(
        "kb.ExpertiseOffer", on_delete=models.CASCADE, related_name="candidates", verbose_name=_("offer")
    )
    rank = models.PositiveSmallIntegerField(_("rank"))
    score = models.FloatField(_("score"))
    components = models.JSONField(_("score components"), default=dict)
    reasons = models.JSONField(
        _("reasons"), default=list, help_text=_("Codes and parameters, rendered in the reader's language.")
    )
    south_south = models.BooleanField(_("South-South"), default=False)
    assigned = models.BooleanField(_("assigned by the plan"), default=False)

    objects = MatchCandidateQuerySet.as_manager()

    class Meta:
        verbose_name = _("match candidate")
        verbose_name_plural = _("match candidates")
        ordering = ["need_id", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["run", "need", "offer"], name="matching_candidate_unique"),
        ]
        indexes = [
            models.Index(fields=["need", "run", "rank"], name="matching_cand_need_run"),
            models.Index(fields=["offer", "run"], name="matching_cand_offer_run"),
        ]

    def __str__(self) -> str:
        return f"{self.need_id} ← {self.offer_id} ({self.score:.2f})"


class UncoveredReason(models.TextChoices):
    NO_CANDIDATE = "no_candidate", _("No provider matches this need")
    ONLY_NON_SOUTH_SOUTH = (
        "only_non_south_south",
        _("Only providers outside the global South match, and the need requires South-South"),
    )
    CAPACITY_EXHAUSTED = "capacity_exhausted", _("Matching providers have no capacity left")
    BELOW_THRESHOLD = "below_threshold", _("No match is strong enough to propose")


class NeedOutcome(models.Model):
    """How the plan served one need in one run (covered, partly, or not, and why)."""

    run = models.ForeignKey(MatchRun, on_delete=models.CASCADE, related_name="outcomes", verbose_name=_("run"))
    need = models.ForeignKey(
        "kb.AssistanceNeed", on_delete=models.CASCADE, related_name="outcomes", verbose_name=_("need")
    )
    providers_wanted = models.PositiveSmallIntegerField(_("providers wanted"))
    providers_assigned = models.PositiveSmallIntegerField(_("providers assigned"))
    reason = models.CharField(_("why not (fully) covered"), max_length=24, choices=UncoveredReason.choices, blank=True)
    is_current = models.BooleanField(_("current for its need"), default=True, db_index=True)

    class Meta:
        verbose_name = _("need outcome")
        verbose_name_plural = _("need outcomes")
        constraints = [models.UniqueConstraint(fields=["run", "need"], name="matching_outcome_unique")]

    def __str__(self) -> str:
        return f"{self.need_id}: {self.providers_assigned}/{self.providers_wanted}"


class EngagementState(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")
    OFFERED = "offered", _("Help offered by the provider")
    INTERESTED = "interested", _("Recipient interested")
    DISMISSED = "dismissed", _("Dismissed by the recipient")
    ACCEPTED = "accepted", _("Accepted by the provider")
    DECLINED = "declined", _("Declined by the provider")
    AGREED = "agreed", _("Agreed")
    IN_PROGRESS = "in_progress", _("In progress")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")
    SUPERSEDED = "superseded", _("Superseded")


#: States in which an engagement uses up one unit of the offer's yearly capacity.
CAPACITY_STATES = (
    EngagementState.OFFERED,
    EngagementState.ACCEPTED,
    EngagementState.AGREED,
    EngagementState.IN_PROGRESS,
    EngagementState.COMPLETED,
)
#: States from which nothing more happens.
CLOSED_STATES = (
    EngagementState.DISMISSED,
    EngagementState.DECLINED,
    EngagementState.COMPLETED,
    EngagementState.CANCELLED,
    EngagementState.SUPERSEDED,
)
#: Open engagements a matching run keeps as they are (their pair is fixed in the plan).
OPEN_STATES = (
    EngagementState.PROPOSED,
    EngagementState.OFFERED,
    EngagementState.INTERESTED,
    EngagementState.ACCEPTED,
    EngagementState.AGREED,
    EngagementState.IN_PROGRESS,
)
#: Open engagements matching may still supersede (the provider has not committed yet); they hold
#: one unit of the offer's capacity in the plan until answered.
SUPERSEDABLE_STATES = (EngagementState.PROPOSED, EngagementState.INTERESTED)


class SupersededReason(models.TextChoices):
    """Why matching superseded an open proposal (nothing else withdraws one)."""

    NEED_GONE = "need_gone", _("The need is no longer published.")
    OFFER_GONE = "offer_gone", _("The offer is no longer published.")
    BELOW_CUTOFF = "below_cutoff", _("After the latest changes this pair no longer reaches the minimum score.")
    CAPACITY_GONE = "capacity_gone", _("The offer has no capacity left for this proposal.")


class OutcomeResult(models.TextChoices):
    """What an engagement delivered, in the words of the side that recorded it."""

    DELIVERED = "delivered", _("Delivered")
    PARTLY_DELIVERED = "partly_delivered", _("Partly delivered")
    NOT_DELIVERED = "not_delivered", _("Not delivered")


#: Longest message of an engagement's thread, and longest outcome note (characters).
MAX_MESSAGE_LENGTH = 5000
MAX_OUTCOME_NOTE_LENGTH = 5000
MAX_MISSION_LABEL_LENGTH = 120
#: Most missions an engagement's dates can list.
MAX_MISSIONS = 30


class Engagement(models.Model):
    """A (need, offer) pair moving from proposal to completed assistance.

    ``need_title`` and ``offer_title`` are what was published when the engagement began: each
    side reads the other's entry as it was then, never a later draft (an entry taken down and
    edited stays private to its State). While either entry is not published, no transition
    applies (``matching.services.engagements``).
    """

    need = models.ForeignKey(
        "kb.AssistanceNeed", on_delete=models.PROTECT, related_name="engagements", verbose_name=_("need")
    )
    offer = models.ForeignKey(
        "kb.ExpertiseOffer", on_delete=models.PROTECT, related_name="engagements", verbose_name=_("offer")
    )
    state = models.CharField(
        _("state"), max_length=12, choices=EngagementState.choices, default=EngagementState.PROPOSED, db_index=True
    )
    candidate = models.ForeignKey(
        MatchCandidate,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("from candidate"),
    )
    score = models.FloatField(_("score when proposed"), null=True, blank=True)
    south_south = models.BooleanField(_("South-South"), default=False)
    need_title = models.CharField(_("need's title when it began"), max_length=200, blank=True)
    offer_title = models.CharField(_("offer's title when it began"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True, db_index=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    last_reason = models.TextField(_("last reason given"), blank=True)
    replaced_by = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="replaces",
        verbose_name=_("replaced by"),
        help_text=_("The proposal the same matching run made for the need instead of this superseded one."),
    )
    superseded_reason = models.CharField(
        _("why superseded"), max_length=16, choices=SupersededReason.choices, blank=True
    )
    # Agreed by both sides once the provider has committed (``engagement_dates_set``).
    start_date = models.DateField(_("start date"), null=True, blank=True)
    end_date = models.DateField(_("end date"), null=True, blank=True)
    # After completion, what was delivered (``engagement_outcome_record``; counted by the dashboard).
    outcome_result = models.CharField(_("result"), max_length=16, choices=OutcomeResult.choices, blank=True)
    outcome_note = models.TextField(_("what was delivered"), blank=True)
    outcome_recorded_at = models.DateTimeField(_("outcome recorded"), null=True, blank=True)

    class Meta:
        verbose_name = _("engagement")
        verbose_name_plural = _("engagements")
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(start_date__isnull=True)
                | models.Q(end_date__isnull=True)
                | models.Q(end_date__gte=models.F("start_date")),
                name="matching_engagement_end_after_start",
                violation_error_message=_("The end date is before the start date."),
            ),
            models.UniqueConstraint(
                fields=["need", "offer"],
                condition=~models.Q(state__in=["dismissed", "declined", "completed", "cancelled", "superseded"]),
                name="matching_one_open_engagement_per_pair",
                violation_error_message=_("There is already an open engagement for this need and offer."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.need} ← {self.offer} ({self.get_state_display()})"


class EngagementAttachment(Attachment):
    """A document shared on an engagement (a mission report, terms of reference...): read by both
    sides' focal points and moderators, like the engagement itself (``core.attachments``)."""

    engagement = models.ForeignKey(
        Engagement, on_delete=models.CASCADE, related_name="attachments", verbose_name=_("engagement")
    )

    class Meta(Attachment.Meta):
        verbose_name = _("engagement attachment")
        verbose_name_plural = _("engagement attachments")


class EngagementEvent(models.Model):
    engagement = models.ForeignKey(
        Engagement, on_delete=models.CASCADE, related_name="events", verbose_name=_("engagement")
    )
    action = models.CharField(_("action"), max_length=20)
    from_state = models.CharField(_("from"), max_length=12, blank=True)
    to_state = models.CharField(_("to"), max_length=12)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    reason = models.TextField(_("reason"), blank=True)
    # What an edit changed (dates, missions, outcome): {field: [before, after]}, shown with the
    # fields' labels in the reader's language.
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    created_at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        verbose_name = _("engagement event")
        verbose_name_plural = _("engagement events")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.action}: {self.from_state}->{self.to_state}"


class EngagementMission(models.Model):
    """One agreed mission of an engagement (a study visit, an expert's week on site): a date and a
    short label. Replaced as a whole with the engagement's dates."""

    engagement = models.ForeignKey(
        Engagement, on_delete=models.CASCADE, related_name="missions", verbose_name=_("engagement")
    )
    date = models.DateField(_("date"))
    label = models.CharField(_("mission"), max_length=MAX_MISSION_LABEL_LENGTH)

    class Meta:
        verbose_name = _("mission")
        verbose_name_plural = _("missions")
        ordering = ["date", "id"]

    def __str__(self) -> str:
        return f"{self.date.isoformat()} {self.label}"


class MessageSide(models.TextChoices):
    RECIPIENT = "recipient", _("Recipient")
    PROVIDER = "provider", _("Provider")
    MODERATOR = "moderator", _("Secretariat")


class EngagementMessage(models.Model):
    """A message in an engagement's thread, written by a focal point of either side or a
    moderator; only they read it (``matching.selectors.engagement_messages``)."""

    engagement = models.ForeignKey(
        Engagement, on_delete=models.CASCADE, related_name="messages", verbose_name=_("engagement")
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("by")
    )
    side = models.CharField(_("side"), max_length=10, choices=MessageSide.choices)
    body = models.TextField(_("message"), max_length=MAX_MESSAGE_LENGTH)
    created_at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        verbose_name = _("engagement message")
        verbose_name_plural = _("engagement messages")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["engagement", "created_at"], name="matching_message_thread")]

    def __str__(self) -> str:
        return f"{self.engagement_id} {self.side}: {self.body[:40]}"


class RatingSide(models.TextChoices):
    RECIPIENT = "recipient", _("Recipient")
    PROVIDER = "provider", _("Provider")


class EngagementRating(models.Model):
    engagement = models.ForeignKey(
        Engagement, on_delete=models.CASCADE, related_name="ratings", verbose_name=_("engagement")
    )
    side = models.CharField(_("rated by"), max_length=10, choices=RatingSide.choices)
    score = models.PositiveSmallIntegerField(_("rating"), validators=[MinValueValidator(1), MaxValueValidator(5)])
    comment = models.TextField(_("comment"), blank=True)
    rated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("by")
    )
    created_at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        verbose_name = _("engagement rating")
        verbose_name_plural = _("engagement ratings")
        constraints = [
            models.UniqueConstraint(fields=["engagement", "side"], name="matching_one_rating_per_side"),
            models.CheckConstraint(condition=models.Q(score__gte=1, score__lte=5), name="matching_rating_1_to_5"),
        ]

    def __str__(self) -> str:
        return f"{self.side}: {self.score}/5"


class Notification(models.Model):
    """An in-app notification (also e-mailed) about an engagement or a run."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications", verbose_name=_("user")
    )
    kind = models.CharField(_("kind"), max_length=40)
    params = models.JSONField(_("parameters"), default=dict)
    engagement = models.ForeignKey(
        Engagement,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
        verbose_name=_("engagement"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("e-mailed"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"], name="matching_notif_user_unread")]

    def __str__(self) -> str:
        return f"{self.kind} → {self.user_id}"


class CorpusStats(models.Model):
    """Document frequencies of analysed terms over published offers, for TF-IDF text scores, and
    the mean text vector of the published entries, for semantic scores.

    Recomputed by every full run; incremental re-scoring reuses the latest one.
    """

    computed_at = models.DateTimeField(_("computed"), auto_now_add=True)
    documents = models.PositiveIntegerField(_("documents"))
    document_frequencies = models.JSONField(_("document frequencies"))
    # Mean of the published entries' text vectors (float32 bytes) and the encoder they come from.
    encoder_version = models.CharField(_("encoder version"), max_length=80, blank=True)
    embedding_mean = models.BinaryField(_("mean text vector"), null=True, blank=True)

    class Meta:
        verbose_name = _("corpus statistics")
        verbose_name_plural = _("corpus statistics")
        ordering = ["-computed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.documents} offers at {self.computed_at:%Y-%m-%d %H:%M}"


class RescoreRequest(models.Model):
    """An entry changed and the needs it affects are to be re-scored: the outbox of incremental
    matching. Written in the entry's own transaction; removed by the re-scoring task once done (or
    by a full run that started after it); re-sent by beat when the chain after the commit failed
    (broker down, search down past the task's retries)."""

    entry_kind = models.CharField(_("kind"), max_length=5)
    entry_id = models.BigIntegerField(_("entry id"))
    requested_at = models.DateTimeField(_("requested"))
    attempted_at = models.DateTimeField(_("last re-sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("re-scoring request")
        verbose_name_plural = _("re-scoring requests")
        constraints = [
            models.UniqueConstraint(fields=["entry_kind", "entry_id"], name="matching_rescore_request_entry"),
        ]
        indexes = [models.Index(fields=["requested_at"], name="matching_rescore_requested")]

    def __str__(self) -> str:
        return f"{self.entry_kind} {self.entry_id}"
