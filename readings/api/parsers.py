from django.utils.translation import gettext as _
from rest_framework import exceptions, parsers

# The deepest body any call takes is two levels ({"values": [1111, 2222]}); a little room beyond
# it keeps the error messages about a wrong shape, and bounds whatever walks the data later.
MAX_DEPTH = 8


class BoundedJSONParser(parsers.JSONParser):
    """JSON no deeper than MAX_DEPTH.

    Python's json parser recurses once per level: a few kilobytes of [[[[…]]]] exhaust
    the stack, a RecursionError that no caller expects. The body's size is limited before
    it gets here (portal/guards.py).
    """

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            data = None
        else:
            if not _deeper_than(data, MAX_DEPTH):
                return data
        raise exceptions.ParseError(_("The JSON is nested too deeply: send a flat object."))


def _deeper_than(data: object, limit: int) -> bool:
    """Walked without recursion, for the same reason the parser needs the check."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > limit:
                return True
            stack.extend((child, depth + 1) for child in (value.values() if isinstance(value, dict) else value))
    return False
