"""Viber's REST Bot API, thinly: a call is a POST of JSON to `<VIBER_API_BASE>/<method>` with
the auth token in `X-Viber-Auth-Token`; Viber answers HTTP 200 with a `status` (0 = done) and a
`status_message`. The replies of the webhook (sync) and the broadcasts' transport (async) build
their requests and read Viber's answers here, with one piece of code.
"""

import json
import logging
from dataclasses import dataclass, field
from functools import lru_cache

import httpx
from django.conf import settings

from botbridge.outbound import Blocked, Failed, Outcome, RetryAfter, Sent, Transient

logger = logging.getLogger(__name__)

TIMEOUT = httpx.Timeout(10.0, connect=5.0)

# Viber's status codes (REST Bot API, "Error codes"). Those a call can meet in this project:
OK = 0
INVALID_URL = 1
INVALID_AUTH_TOKEN = 2
BAD_DATA = 3
MISSING_DATA = 4
RECEIVER_NOT_REGISTERED = 5
RECEIVER_NOT_SUBSCRIBED = 6
TOO_MANY_REQUESTS = 12
NO_ANSWER = -1  # not Viber's: the call got no readable answer (network, HTTP error, not JSON)

# The receiver cannot be written to: they left Viber, or unsubscribed from the bot (or never
# subscribed). They are marked blocked until they write again or subscribe.
GONE = frozenset({RECEIVER_NOT_REGISTERED, RECEIVER_NOT_SUBSCRIBED})
# Viber's "too many requests" says not how long to wait: the sender pauses this long.
RATE_LIMIT_PAUSE_SECONDS = 10.0


@dataclass(frozen=True)
class Answer:
    """What Viber said to a call: its `status` and `status_message`, or NO_ANSWER and why."""

    status: int
    message: str
    body: dict = field(default_factory=dict)
    http_status: int = 200
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.status == OK


def request(method: str, payload: dict) -> dict:
    """The arguments of httpx's `post` for a call, for the sync and the async client alike."""
    return {
        "url": f"{settings.VIBER_API_BASE}/{method}",
        "content": json.dumps(payload, ensure_ascii=False).encode(),
        "headers": {"X-Viber-Auth-Token": settings.VIBER_AUTH_TOKEN, "Content-Type": "application/json"},
    }


def answer_of(response: httpx.Response) -> Answer:
    if response.status_code == 429:
        retry_after = _seconds(response.headers.get("Retry-After"))
        return Answer(TOO_MANY_REQUESTS, "HTTP 429", http_status=429, retry_after=retry_after)
    if response.status_code != 200:
        return Answer(NO_ANSWER, f"HTTP {response.status_code}", http_status=response.status_code)
    try:
        body = response.json()
    except ValueError:
        return Answer(NO_ANSWER, "the answer is not JSON")
    status = body.get("status") if isinstance(body, dict) else None
    if not isinstance(status, int) or isinstance(status, bool):
        return Answer(NO_ANSWER, "the answer has no status")
    return Answer(status, str(body.get("status_message", "")), body)


def answer_failed(error: httpx.HTTPError) -> Answer:
    return Answer(NO_ANSWER, f"{type(error).__name__}: {error}"[:300], http_status=0)


def outcome(answer: Answer) -> Outcome:
    """What an answer means for a message of the one sender."""
    if answer.ok:
        return Sent()
    if answer.status in GONE:
        return Blocked()
    if answer.status == TOO_MANY_REQUESTS:
        return RetryAfter(answer.retry_after or RATE_LIMIT_PAUSE_SECONDS)
    if answer.status == NO_ANSWER and not 400 <= answer.http_status < 500:
        return Transient(answer.message)  # network trouble, Viber's own error, a garbled answer
    return Failed(f"{answer.status} {answer.message}"[:300])


def log_refusal(method: str, answer: Answer, receiver: str = "") -> None:
    if not answer.ok:
        logger.warning(
            "Viber %s%s: status %s %s", method, f" to {receiver}" if receiver else "", answer.status, answer.message
        )


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


@lru_cache(maxsize=4)
def _client(_token: str, _base: str) -> httpx.Client:
    # One per process and settings: httpx.Client is thread-safe and keeps its connections open.
    return httpx.Client(timeout=TIMEOUT)


def call(method: str, payload: dict, *, timeout: httpx.Timeout | None = None) -> Answer:
    """A call from a synchronous context (the webhook's replies, management commands)."""
    client = _client(settings.VIBER_AUTH_TOKEN, settings.VIBER_API_BASE)
    try:
        response = client.post(**request(method, payload), timeout=timeout or TIMEOUT)
    except httpx.HTTPError as error:
        return answer_failed(error)
    return answer_of(response)
