"""The current user's identity, memberships and roles; API tokens.

``POST /api/v1/auth/token/`` exchanges an e-mail address and password for a token (django-rest-knox:
hashed, expiring). It authenticates through Django's ``authenticate`` with the real request, so
django-axes counts its failures and locks it out exactly like the web and admin sign-in pages.
``DELETE`` on the same address revokes the token that authenticates the request.
"""

from __future__ import annotations

from typing import cast

from django.contrib.auth import authenticate
from drf_spectacular.utils import OpenApiResponse, extend_schema
from knox.auth import TokenAuthentication
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.selectors import user_profile
from accounts.services import token_create
from core.api.serializers import RejectUnknownFieldsMixin
from kb.models import Organisation


class MemberOrganisationSerializer(serializers.ModelSerializer):
    country = serializers.CharField(source="country.iso3", default=None, read_only=True)

    class Meta:
        model = Organisation
        fields = ["id", "name", "country"]


class MembershipSerializer(serializers.Serializer):
    organisation = MemberOrganisationSerializer()
    is_provider_focal_point = serializers.BooleanField()
    is_recipient_focal_point = serializers.BooleanField()


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    full_name = serializers.CharField()
    preferred_language = serializers.CharField()
    is_moderator = serializers.BooleanField()
    memberships = MembershipSerializer(many=True)


class MeView(APIView):
    @extend_schema(summary="Who am I: memberships, focal-point roles, moderator flag.", responses=MeSerializer)
    def get(self, request: Request) -> Response:
        return Response(MeSerializer(user_profile(user=cast(User, request.user))).data)  # IsAuthenticated


class TokenInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    username = serializers.CharField(max_length=254, help_text="Your e-mail address.")
    password = serializers.CharField(max_length=4096, trim_whitespace=False, style={"input_type": "password"})


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send it as `Authorization: Token <token>`; shown only once.")
    expiry = serializers.DateTimeField(allow_null=True)


class LockedOut(exceptions.APIException):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_detail = "Too many failed sign-ins for this account from your address; try again later."
    default_code = "locked_out"


class TokenView(APIView):
    def get_authenticators(self):
        # Obtaining a token needs no credentials but the password; revoking needs the token.
        if self.request is not None and self.request.method == "DELETE":
            return [TokenAuthentication()]
        return []

    def get_permissions(self):
        return [IsAuthenticated()] if self.request.method == "DELETE" else [AllowAny()]

    @extend_schema(
        summary="Exchange your e-mail address and password for an API token (it expires; a password change revokes it).",
        request=TokenInputSerializer,
        responses={200: TokenSerializer, 429: OpenApiResponse(description="Locked out after repeated failures.")},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        data = TokenInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        django_request = request._request
        user = authenticate(
            django_request, username=data.validated_data["username"], password=data.validated_data["password"]
        )
        if getattr(django_request, "axes_locked_out", False):
            raise LockedOut()
        if user is None:
            raise serializers.ValidationError(
                {"non_field_errors": ["Unable to sign in with these credentials."]}, code="authorization"
            )
        token, secret = token_create(user=user)
        return Response(TokenSerializer({"token": secret, "expiry": token.expiry}).data)

    @extend_schema(summary="Revoke the token this request is made with.", request=None, responses={204: None})
    def delete(self, request: Request) -> Response:
        request.auth.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)
