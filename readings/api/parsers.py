from django.conf import settings
from rest_framework import exceptions, parsers


class BodyTooLarge(exceptions.APIException):
    status_code = 413
    default_code = "body_too_large"
    default_detail = "The request body is too large. Send only the fields this endpoint takes."


class BoundedJSONParser(parsers.JSONParser):
    """JSON, refused unread when larger than API_MAX_BODY_BYTES (DRF reads the stream itself,
    past Django's own upload limit)."""

    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        length = request.META.get("CONTENT_LENGTH") if request is not None else None
        if length and length.isdigit() and int(length) > settings.API_MAX_BODY_BYTES:
            raise BodyTooLarge()
        return super().parse(stream, media_type, parser_context)
