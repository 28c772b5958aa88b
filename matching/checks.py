"""Start-up checks of matching's worker settings (``manage.py check``, and every process start).

A run is recovered by its lease (``MATCHING_RUN_LEASE_SECONDS``): a pool process killed at its
hard time limit must leave a lease that expires before the broker would redeliver the message by
itself (the visibility timeout), and the lease must be shorter than the hard limit, or a run that
is still alive would be taken over. So: lease < soft limit < hard limit < visibility timeout.
"""

from __future__ import annotations

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.compatibility)
def matching_time_limits(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    lease = settings.MATCHING_RUN_LEASE_SECONDS
    soft, hard = settings.MATCHING_RUN_SOFT_TIME_LIMIT, settings.MATCHING_RUN_TIME_LIMIT
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout", 3600)
    errors: list[checks.CheckMessage] = []
    if not lease < soft < hard < visibility:
        errors.append(
            checks.Error(
                f"matching run limits out of order: MATCHING_RUN_LEASE_SECONDS ({lease}) < "
                f"MATCHING_RUN_SOFT_TIME_LIMIT ({soft}) < MATCHING_RUN_TIME_LIMIT ({hard}) < the broker's "
                f"visibility_timeout ({visibility}) must hold",
                hint="A killed run is recovered when its lease expires; the broker must not redeliver it first, "
                "and a live run must renew its lease before the hard limit.",
                id="matching.E001",
            )
        )
    soft, hard = settings.MATCHING_RESCORE_SOFT_TIME_LIMIT, settings.MATCHING_RESCORE_TIME_LIMIT
    if not soft < hard < visibility:
        errors.append(
            checks.Error(
                f"re-scoring limits out of order: MATCHING_RESCORE_SOFT_TIME_LIMIT ({soft}) < "
                f"MATCHING_RESCORE_TIME_LIMIT ({hard}) < visibility_timeout ({visibility}) must hold",
                id="matching.E002",
            )
        )
    return errors
