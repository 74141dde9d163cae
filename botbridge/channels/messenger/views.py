"""GET and POST /messenger/webhook/: Messenger's subscription check, and its events.

Every event of a POST is read on its own: one that is malformed is logged and skipped, and
the others are stored, once each (a re-delivery changes nothing), in one statement; then the
POST is answered. A worker runs the conversation and sends the replies (or this request, with
BOT_EVENTS_INLINE). When the database cannot store them, the answer is a 503 and Messenger
delivers the POST again: an event is stored or it is not, and one stored is handled.
"""

import functools
import hashlib
import hmac
import json
import logging

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from botbridge.channels.messenger import CHANNEL, intake
from botbridge.services import Inbound, events_store
from botbridge.worker import events_work_inline

logger = logging.getLogger(__name__)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def webhook(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return subscription_check(request)
    if not settings.MESSENGER_PAGE_ACCESS_TOKEN:
        _say_off_once()
        return JsonResponse({"detail": "The Messenger bot is not configured."}, status=404)
    if not signature_valid(request.body, request.headers.get("X-Hub-Signature-256", "")):
        logger.warning("messenger webhook: wrong or missing X-Hub-Signature-256, refused")
        return JsonResponse({"detail": "Wrong or missing signature."}, status=403)
    try:
        events = intake.entries_parse(request.body)
    except intake.NotAWebhook as error:
        logger.warning("messenger webhook: malformed body refused: %s", str(error)[:300])
        return JsonResponse({"detail": "The body is not a Messenger webhook event."}, status=400)
    stored = [event for event in map(event_read, events) if event is not None]
    try:
        events_store(events=stored)
    except DatabaseError:
        logger.exception("messenger webhook: events not stored; Messenger will deliver them again")
        return _deliver_again("The events could not be stored now; deliver them again.")
    if settings.BOT_EVENTS_INLINE and not events_work_inline(
        channel=CHANNEL, chat_keys=[event.chat_key for event in stored]
    ):
        return _deliver_again("Some events could not be handled now; deliver them again.")
    return JsonResponse({"ok": True})


def _deliver_again(detail: str) -> HttpResponse:
    response = JsonResponse({"detail": detail}, status=503)
    response["Retry-After"] = "30"
    return response


def subscription_check(request: HttpRequest) -> HttpResponse:
    """Meta's check when the webhook is set up: echo `hub.challenge` to the right verify token."""
    expected = settings.MESSENGER_VERIFY_TOKEN
    given = request.GET.get("hub.verify_token", "")
    if (
        request.GET.get("hub.mode") != "subscribe"
        or not expected
        or not hmac.compare_digest(given.encode(), expected.encode())
    ):
        logger.warning("messenger webhook: subscription check refused (wrong mode or verify token)")
        return HttpResponse("Forbidden", status=403, content_type="text/plain")
    return HttpResponse(request.GET.get("hub.challenge", ""), content_type="text/plain")


def signature_valid(body: bytes, header: str) -> bool:
    """`sha256=` and the hex HMAC-SHA256 of the raw body keyed with the app secret."""
    secret = settings.MESSENGER_APP_SECRET
    if not secret or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(header.removeprefix("sha256=").encode(), expected.encode())


def event_read(raw: object) -> Inbound | None:
    """The event to store; None for one with nothing to answer, or malformed (logged)."""
    try:
        item = intake.incoming(raw)
    except intake.BadEvent as error:
        logger.warning("messenger webhook: event skipped: %s", error)
        return None
    if item is None:
        return None
    return Inbound(channel=CHANNEL, key=item.key, chat_key=item.sender, payload=json.dumps(raw))


@functools.cache
def _say_off_once() -> None:
    logger.info("messenger: MESSENGER_PAGE_ACCESS_TOKEN is not set: the Messenger bot is off")
