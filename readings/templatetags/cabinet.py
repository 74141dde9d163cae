"""Template filters of the cabinet's pages."""

import datetime as dt

from django import template

from readings import periods

register = template.Library()


@register.filter
def period_label(period: dt.date) -> str:
    """ "показання на 01.12.2026 — споживання за листопад 2026" (readings.periods)."""
    return periods.period_label(period)


@register.filter
def consumption_heading(period: dt.date) -> str:
    """ "Листопад 2026" for the reading of 01.12.2026 (readings.periods)."""
    return periods.consumption_heading(period)
