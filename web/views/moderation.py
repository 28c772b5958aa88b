"""The moderators' queue: entries awaiting review, oldest submission first.

Moderators approve and return from each entry's own page, which shows the pending changes against
the published text (``kb.services.revisions``); the admin stays for the taxonomy and exceptional
edits."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render

from kb.selectors import moderation_queue
from web.views.common import AuthenticatedHttpRequest, moderator_required


@moderator_required
def queue(request: AuthenticatedHttpRequest) -> HttpResponse:
    return render(request, "web/moderation_queue.html", {"items": moderation_queue(user=request.user)})
