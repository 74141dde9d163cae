"""Which language a request is answered in: Ukrainian unless the person chose another."""

from django.conf import settings
from django.http import HttpRequest
from django.middleware.locale import LocaleMiddleware
from django.utils import translation


class ChosenLanguageMiddleware(LocaleMiddleware):
    """Ukrainian first: pages follow the language switch (its cookie), not the browser's list.

    Residents' phones are often set to Russian or English; the company's first
    language is Ukrainian, so that is what they get until they switch. API clients
    keep the usual negotiation through Accept-Language.
    """

    def process_request(self, request: HttpRequest) -> None:
        if request.path_info.startswith("/api/"):
            super().process_request(request)
            return
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        language = chosen if chosen in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
