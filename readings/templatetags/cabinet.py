"""Template filters of the cabinet's pages."""

import datetime as dt

from django import template
from django.utils import translation
from django.utils.dates import MONTHS

register = template.Library()


@register.filter
def month_in_text(period: dt.date) -> str:
    """A month inside a sentence: "за грудень 2026" in Ukrainian, "for December 2026" in English."""
    name = str(MONTHS[period.month])
    return f"{name.lower() if translation.get_language() == 'uk' else name} {period.year}"
