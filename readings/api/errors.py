"""Every API error has one shape: {"code", "detail", "fields"?}, never a 500 for bad input."""

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from accounts.errors import DomainError
from readings.errors import ConfirmationRequired


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        return _domain_error(exc)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {
            "code": "invalid",
            "detail": _("Some fields are wrong; see “fields”."),
            "fields": _field_messages(exc.detail),
        }
    else:
        response.data = {"code": exc.default_code, "detail": str(exc.detail)}
    return response


def _domain_error(error: DomainError) -> Response:
    body: dict[str, Any] = {"code": error.code, "detail": error.message}
    if isinstance(error, ConfirmationRequired):
        body["reason"] = error.reason
    # The status and headers the cabinet answers the same refusal with (accounts.errors).
    return Response(body, status=error.http_status, headers=error.http_headers)


def _field_messages(detail: Any) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {str(field): [str(message) for message in _flat(value)] for field, value in detail.items()}
    return {"non_field_errors": [str(message) for message in _flat(detail)]}


def _flat(value: Any) -> list:
    if isinstance(value, dict):
        return [f"{key}: {message}" for key, item in value.items() for message in _flat(item)]
    if isinstance(value, list):
        return [message for item in value for message in _flat(item)]
    return [value]
