"""A liveness check for load balancers and CI: the database and, when configured, Redis."""

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from redis.exceptions import RedisError


def healthz(request: HttpRequest) -> JsonResponse:
    status = {"database": _database(), "redis": _redis() if settings.REDIS_URL else "off"}
    healthy = all(value in ("ok", "off") for value in status.values())
    return JsonResponse(status, status=200 if healthy else 503)


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return "down"
    return "ok"


def _redis() -> str:
    try:
        cache.set("healthz", "ok", timeout=10)
        return "ok" if cache.get("healthz") == "ok" else "down"
    except (RedisError, OSError):
        return "down"
