"""REST API v1. Views are thin: validate the shape, call a selector or a service, render."""

import datetime as dt
import hashlib
import json
from typing import Any

from django.contrib.auth import authenticate
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from knox.models import AuthToken
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.linking import account_link, account_unlink
from accounts.login_attempts import signin_locked
from accounts.selectors import linked_account
from accounts.tokens import api_token_issue, api_token_revoke
from portal.clientip import client_ip
from readings import export, selectors
from readings.api import serializers as io
from readings.api.throttles import ScopedThrottle
from readings.errors import IdempotencyKeyReused
from readings.models import Reading
from readings.services import idempotency_key_use, reading_submit

ERRORS = {code: OpenApiResponse(io.ErrorOut) for code in (400, 401, 403, 404, 409, 413, 415, 429)}
# Any request can be malformed, unauthenticated, forbidden, too big, of the wrong type or throttled.
ALWAYS = (400, 401, 403, 404, 413, 415, 429)


def errors(*codes: int) -> dict:
    """The operation's error answers, every one in the {"code", "detail"} shape."""
    return {code: ERRORS[code] for code in sorted({*ALWAYS, *codes})}


class ThrottledPost(APIView):
    """Throttles POST only, under `throttle_scope`; reads stay free."""

    throttle_scope = ""

    def get_throttles(self) -> list:
        return [ScopedThrottle()] if self.request.method == "POST" else []


class WindowView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        parameters=[OpenApiParameter("on", OpenApiTypes.DATE, description="Default: today in Kyiv.")],
        responses={200: io.WindowOut, **errors(400)},
        summary="The submission window containing a date, or the next one",
    )
    def get(self, request: Request) -> Response:
        day = _date_param(request, "on") or timezone.localdate()
        return Response(selectors.window_on(day).status_on(day))


class TokenView(ThrottledPost):
    throttle_scope = "token"

    def get_permissions(self) -> list:
        return [AllowAny()] if self.request.method == "POST" else super().get_permissions()

    @extend_schema(
        request=io.TokenIn,
        responses={200: io.TokenOut, **errors(400, 401, 413, 429)},
        auth=[],
        summary="Issue an API token",
        description=(
            "A new token for the user, each time: send it as `Authorization: Token <token>`. It works "
            "until `expiry` (API_TOKEN_TTL_DAYS), until revoked, or until the user's password changes. "
            "Failed passwords are counted per username and per client address: past the limit the answer "
            "is 429 `too_many_signin_attempts` with `Retry-After`, whatever the password."
        ),
    )
    def post(self, request: Request) -> Response:
        data = _valid(io.TokenIn, request)
        # Django's own request: axes marks a locked-out attempt on it, and reads the address from it.
        user = authenticate(request._request, username=data["username"], password=data["password"])
        if user is None or not user.is_active:
            if getattr(request._request, "axes_locked_out", False):
                raise signin_locked(request._request, data["username"])
            raise exceptions.AuthenticationFailed(_("Wrong username or password."))
        token, key = api_token_issue(user=user)
        return Response({"token": key, "expiry": token.expiry})

    @extend_schema(
        request=None,
        responses={204: None, **errors(401)},
        summary="Revoke the token this request is made with",
        description="Other tokens of the user keep working; the cabinet's settings list and revoke them.",
    )
    def delete(self, request: Request) -> Response:
        if isinstance(request.auth, AuthToken):
            api_token_revoke(user=request.user, digest=request.auth.digest)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AccountsView(ThrottledPost):
    throttle_scope = "link"

    @extend_schema(responses={200: io.AccountOut(many=True), **errors(401)}, summary="Your linked accounts")
    def get(self, request: Request) -> Response:
        return Response(io.AccountOut(selectors.accounts_with_meters(user=request.user), many=True).data)

    @extend_schema(request=io.LinkIn, responses={201: io.AccountOut, **errors(400, 401, 409, 413, 429)})
    def post(self, request: Request) -> Response:
        data = _valid(io.LinkIn, request)
        link = account_link(
            user=request.user,
            account_number=data["account_number"],
            meter_serial=data["meter_serial"],
            ip_address=client_ip(request),
        )
        [account] = selectors.accounts_with_meters(user=request.user, number=link.account.number)
        return Response(io.AccountOut(account).data, status=status.HTTP_201_CREATED)


class AccountView(APIView):
    @extend_schema(responses={204: None, **errors(401, 404)}, summary="Remove an account from your list")
    def delete(self, request: Request, number: str) -> Response:
        account_unlink(user=request.user, account_number=number)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ReadingsPage(PageNumberPagination):
    page_size = 24
    page_size_query_param = "page_size"
    max_page_size = 200


class ReadingsView(ThrottledPost):
    throttle_scope = "submit"
    # Also what tells the schema that the list is paginated: {"count", "next", "previous", "results"}.
    pagination_class = ReadingsPage

    @extend_schema(
        responses={200: io.ReadingOut(many=True), **errors(401, 404)},
        summary="The account's readings, newest first",
    )
    def get(self, request: Request, number: str) -> Response:
        account = linked_account(user=request.user, number=number)
        readings = selectors.account_readings(account_id=account.pk)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(readings, request, view=self)
        states = {state.reading.pk: state for state in selectors.reading_states(page)}
        return paginator.get_paginated_response(io.ReadingOut(page, many=True, context={"states": states}).data)

    @extend_schema(
        request=io.ReadingIn,
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False)],
        responses={201: io.ReadingCreatedOut, **errors(400, 401, 404, 409, 413, 429)},
        summary="Send a reading",
    )
    def post(self, request: Request, number: str) -> Response:
        serializer = io.ReadingIn(data=request.data)
        if not serializer.is_valid():
            linked_account(user=request.user, number=number)  # someone else's account: 404 comes first
            raise exceptions.ValidationError(serializer.errors)
        return _once(request, lambda: self._submit(request, number, serializer.validated_data))

    def _submit(self, request: Request, number: str, data: dict) -> Response:
        meter = selectors.linked_account_meter(user=request.user, number=number, serial=data.get("meter"))
        reading = reading_submit(
            meter=meter,
            channel=Reading.Channel.API,
            text=data.get("value"),
            values=data.get("values"),
            confirm=data["confirm"],
            submitted_by=request.user,
            ip_address=client_ip(request),
        )
        body = io.ReadingOut(reading).data
        if reading.status == Reading.Status.CONTROL:
            window = selectors.window_for_period(reading.period, stamp=reading.calendar_stamp)
            body["next_window"] = window.status_on(timezone.localdate())
        return Response(body, status=status.HTTP_201_CREATED)


class CanExportReadings(BasePermission):
    """The supervisor role's export permission (or a billing user given it), not merely staff."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        return bool(request.user and request.user.has_perm("readings.export_readings"))


NEW_ONLY = {"true": True, "1": True, "false": False, "0": False}  # ?new_only=, as spelled in the schema


class ExportView(APIView):
    permission_classes = [CanExportReadings]

    @extend_schema(
        parameters=[
            OpenApiParameter("period", OpenApiTypes.DATE, required=True, description="The 1st of a month."),
            OpenApiParameter("format", str, enum=["csv", "xlsx"]),
            OpenApiParameter(
                "new_only",
                OpenApiTypes.BOOL,
                description="Only readings no earlier completed export gave with their current status.",
            ),
        ],
        responses={(200, "text/csv"): OpenApiTypes.BINARY, **errors(400, 401, 403)},
        summary="The period's readings for billing (staff); each call is recorded as an export batch",
        description="The headers X-Export-Batch and X-Export-Readings give the batch's number and size.",
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        period = _date_param(request, "period")
        if period is None or period.day != 1:
            raise exceptions.ValidationError({"period": [_("Give the period as the 1st of a month: YYYY-MM-01.")]})
        kind = request.query_params.get("format", "csv")
        if kind not in export.FORMATS:
            raise exceptions.ValidationError({"format": [_("Use csv or xlsx.")]})
        new_only = request.query_params.get("new_only", "false").lower()
        if new_only not in NEW_ONLY:
            raise exceptions.ValidationError({"new_only": [_("Use true or false.")]})
        return export.period_response(
            request._request, period, kind, exported_by=request.user, new_only=NEW_ONLY[new_only]
        )


def _valid(serializer_class: type[serializers.Serializer], request: Request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _date_param(request: Request, name: str) -> dt.date | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise exceptions.ValidationError({name: [_("Not a date: use YYYY-MM-DD.")]}) from None


def _once(request: Request, handle) -> Response:
    """With an Idempotency-Key, a retried POST gets the first answer and changes nothing."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return handle()
    if not (0 < len(key) <= 200 and key.isascii() and key.isprintable()):
        raise exceptions.ValidationError({"Idempotency-Key": [_("Use 1 to 200 printable ASCII characters.")]})
    fingerprint = hashlib.sha256(json.dumps([request.path, request.data], sort_keys=True).encode()).hexdigest()

    def answer() -> tuple[int, Any]:
        response = handle()
        return response.status_code, response.data

    try:
        status_code, body = idempotency_key_use(user=request.user, key=key, request_hash=fingerprint, answer=answer)
    except IdempotencyKeyReused as refusal:
        raise exceptions.ValidationError({"Idempotency-Key": [refusal.message]}) from None
    return Response(body, status=status_code)
