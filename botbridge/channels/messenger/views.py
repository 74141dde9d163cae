"""GET and POST /messenger/webhook/: Messenger's subscription check, and its events.

Every event of a POST is handled on its own: one that is malformed is logged and skipped, and
the others go on. One whose handling failed (the database is down, say) makes the answer a 503
once the others are done, so Messenger delivers the POST again: the events already handled are
claimed and skipped then, and the failed one is handled. The replies are sent inline, before
the answer.
"""

import functools
import hashlib
import hmac
import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from accounts.selectors import channel_identity_get
from botbridge import texts
from botbridge.channels.inbound import event_answer
from botbridge.channels.messenger import CHANNEL, graph, intake, render
from botbridge.outbound import Sent

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
    handled = [event_handle(raw) for raw in events]
    if not all(handled):
        response = JsonResponse({"detail": "Some events could not be handled now; deliver them again."}, status=503)
        response["Retry-After"] = "30"
        return response
    return JsonResponse({"ok": True})


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


def event_handle(raw: object) -> bool:
    """False when the event should be delivered again: its handling failed and was undone."""
    try:
        item = intake.incoming(raw)
    except intake.BadEvent as error:
        logger.warning("messenger webhook: event skipped: %s", error)
        return True
    if item is None:
        return True
    try:
        # Messenger says nothing of the person's language: the stored one is kept (Ukrainian).
        answers = event_answer(
            channel=CHANNEL, event_key=item.key, external_id=item.sender, event=item.event, language_code=None
        )
    except Exception:
        # One event's failure must not cost the others theirs; its claim was rolled back with it.
        logger.exception("messenger webhook: event %s failed; Messenger will deliver it again", item.key[:80])
        return False
    if answers is None:
        logger.info("messenger webhook: event %s delivered again, ignored", item.key[:80])
        return True
    reply(item.sender, answers)
    return True


def reply(recipient: str, answers: list) -> None:
    identity = channel_identity_get(channel=CHANNEL, external_id=recipient)
    with translation.override(texts.language_of(identity.language_code if identity else "")):
        messages = render.messages(answers)
    for message in messages:
        request = {"recipient": {"id": recipient}, "messaging_type": "RESPONSE", "message": message}
        if not isinstance(graph.post("messages", request), Sent):
            return  # the rest would arrive out of order; the refusal is logged


@functools.cache
def _say_off_once() -> None:
    logger.info("messenger: MESSENGER_PAGE_ACCESS_TOKEN is not set: the Messenger bot is off")
