"""Middleware that the API and the webhooks do not need, left out on their paths.

Every request used to pass all of settings.MIDDLEWARE. A webhook (Telegram, Viber, Messenger)
is a platform's signed POST: no cookie, no session, no signed-in user, no page to protect with a
Content-Security-Policy; its views check a signature or a secret. The API is JSON for token
holders: no page either, no messages (a request signed in by a cookie session still has its
session and user, and DRF checks its CSRF token itself).

Each class here is the named middleware itself (a subclass, so Django's and the admin's checks
still find it) that passes the request straight on when its path is one of `skip`. Sync and
async alike: under ASGI the pass-through costs no thread hop. Django's CSRF and X-Frame-Options
middleware are not among them: `check --deploy` asks for them by name, and on the API's and the
webhooks' csrf_exempt views they do next to nothing.
"""

from csp.middleware import CSPMiddleware
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware

from portal.intake import WEBHOOKS as INTAKE

API = ("/api/",)
WEBHOOKS = tuple(INTAKE)  # the webhook paths are named once, with their takes (portal/intake.py)


def _skipped(base: type, skip: tuple[str, ...]) -> type:
    class Skipped(base):
        def __call__(self, request):
            if request.path_info.startswith(skip):
                return self.get_response(request)  # a coroutine in async mode, awaited by the caller
            return super().__call__(request)

        if hasattr(base, "process_view"):

            def process_view(self, request, *args, **kwargs):
                if request.path_info.startswith(skip):
                    return None
                return super().process_view(request, *args, **kwargs)

    Skipped.__name__ = Skipped.__qualname__ = base.__name__
    Skipped.__doc__ = f"{base.__module__}.{base.__name__}, but not on {', '.join(skip)}."
    return Skipped


LeanCSPMiddleware = _skipped(CSPMiddleware, API + WEBHOOKS)
LeanSessionMiddleware = _skipped(SessionMiddleware, WEBHOOKS)
LeanAuthenticationMiddleware = _skipped(AuthenticationMiddleware, WEBHOOKS)
LeanMessageMiddleware = _skipped(MessageMiddleware, API + WEBHOOKS)
