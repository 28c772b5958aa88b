"""Signing in with the e-mail address and password (Django's ``ModelBackend``), loading the user of
a session together with whether they are a moderator: every signed-in page asks, and asking in the
same query saves one query per request."""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group
from django.db.models import Exists, OuterRef

from accounts.models import MODERATORS_GROUP, User


class UserBackend(ModelBackend):
    def get_user(self, user_id):
        in_group = Group.objects.filter(name=MODERATORS_GROUP, user=OuterRef("pk"))
        user = User._default_manager.annotate(_in_moderators=Exists(in_group)).filter(pk=user_id).first()
        if user is None or not self.user_can_authenticate(user):
            return None
        # ``User.is_moderator`` is a cached property: its value, known now, is stored in its place.
        user.__dict__["is_moderator"] = bool(user.is_active and (user.is_superuser or user._in_moderators))
        return user
