"""The Graph API calls of the Messenger bot: `<MESSENGER_API_BASE>/me/<edge>?access_token=…`,
POSTed as JSON, and what Messenger's answers mean, in one place for the webhook's replies
(a sync client) and the sender's broadcasts (an async one).

Messenger's errors are `{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}`
(https://developers.facebook.com/docs/messenger-platform/error-codes). Read here:

- 551 (subcode 1545041, "This person isn't available right now"), and 200 with 1545041: the
  person blocked the Page or left Messenger: Blocked.
- 4, 17, 32, 613: rate limits (the app's, the user's, the Page's, the API's): RetryAfter.
- 1, 2, 1200 ("Temporary send message failure"), a 5xx, a network error: Transient.
- 10 with 2018278: outside the 24-hour window; 190: the Page token is invalid; 100: an invalid
  parameter (2018001: no matching user); anything else: Failed, with Messenger's message.
"""

import logging
import threading
from dataclasses import dataclass

import httpx
from django.conf import settings

from botbridge.outbound import Blocked, Failed, Outcome, RetryAfter, Sent, Transient

logger = logging.getLogger(__name__)

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
# Graph's rate-limit answers name no wait; Meta's advice is to pause until usage drops.
RATE_LIMIT_PAUSE_SECONDS = 60.0

BLOCKED_CODE, UNAVAILABLE_SUBCODE = 551, 1545041
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613})
TRANSIENT_CODES = frozenset({1, 2, 1200})
OUTSIDE_WINDOW = (10, 2018278)


@dataclass(frozen=True)
class GraphError:
    status: int
    code: int | None
    subcode: int | None
    message: str
    fbtrace_id: str

    def __str__(self) -> str:
        subcode = f"/{self.subcode}" if self.subcode is not None else ""
        trace = f" (fbtrace_id {self.fbtrace_id})" if self.fbtrace_id else ""
        return f"{self.status} code {self.code}{subcode}: {self.message}{trace}"[:300]


def endpoint(edge: str) -> str:
    return f"{settings.MESSENGER_API_BASE}/me/{edge}"


def credentials() -> dict[str, str]:
    return {"access_token": settings.MESSENGER_PAGE_ACCESS_TOKEN}


def error_of(response: httpx.Response) -> GraphError:
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        error = {}
    if not isinstance(error, dict):
        error = {}

    def number(value: object) -> int | None:
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    return GraphError(
        status=response.status_code,
        code=number(error.get("code")),
        subcode=number(error.get("error_subcode")),
        message=str(error.get("message") or response.reason_phrase or "no message")[:200],
        fbtrace_id=str(error.get("fbtrace_id") or "")[:40],
    )


def outcome_of(response: httpx.Response) -> Outcome:
    """What Messenger's answer to one request means for the message."""
    if response.is_success:
        return Sent()
    error = error_of(response)
    if error.code == BLOCKED_CODE or error.subcode == UNAVAILABLE_SUBCODE:
        return Blocked()
    if error.code in RATE_LIMIT_CODES:
        return RetryAfter(RATE_LIMIT_PAUSE_SECONDS)
    if error.code in TRANSIENT_CODES or response.status_code >= 500:
        return Transient(str(error))
    if (error.code, error.subcode) == OUTSIDE_WINDOW:
        return Failed(f"outside Messenger's 24-hour window: {error}")
    return Failed(str(error))


def _answered(edge: str, response: httpx.Response) -> Outcome:
    outcome = outcome_of(response)
    if not isinstance(outcome, Sent):
        logger.warning("messenger: me/%s refused (%s): %s", edge, type(outcome).__name__, error_of(response))
    return outcome


def _unreachable(edge: str, error: httpx.HTTPError) -> Outcome:
    logger.warning("messenger: me/%s not reached: %s: %s", edge, type(error).__name__, error)
    return Transient(f"{type(error).__name__}: {error}"[:300])


# --- The webhook's client: synchronous, one per process and settings (httpx.Client is thread-safe)

_clients: dict[tuple[str, str], httpx.Client] = {}
_clients_lock = threading.Lock()


def client() -> httpx.Client:
    key = (settings.MESSENGER_PAGE_ACCESS_TOKEN, settings.MESSENGER_API_BASE)
    with _clients_lock:
        if key not in _clients:
            for old in _clients.values():
                old.close()  # the settings changed (tests do that): the old client is not used again
            _clients.clear()
            _clients[key] = httpx.Client(timeout=TIMEOUT)
        return _clients[key]


def post(edge: str, payload: dict) -> Outcome:
    try:
        response = client().post(endpoint(edge), params=credentials(), json=payload)
    except httpx.HTTPError as error:
        return _unreachable(edge, error)
    return _answered(edge, response)


async def post_async(async_client: httpx.AsyncClient, edge: str, payload: dict) -> Outcome:
    try:
        response = await async_client.post(endpoint(edge), params=credentials(), json=payload)
    except httpx.HTTPError as error:
        return _unreachable(edge, error)
    return _answered(edge, response)
