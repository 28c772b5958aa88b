"""The current user's identity, memberships and roles."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import user_profile
from kb.apis.serializers import MeSerializer


class MeView(APIView):
    @extend_schema(summary="Who am I: memberships, focal-point roles, moderator flag.", responses=MeSerializer)
    def get(self, request: Request) -> Response:
        return Response(MeSerializer(user_profile(user=request.user)).data)
