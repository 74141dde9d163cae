"""How a period is named to residents, as the utility names it on its bills.

A reading's period is the 1st of a month, the day it counts as of: the reading "на 01.12.2026"
closes the consumption "за листопад 2026". Every channel (the cabinet, the bots, the phone menu,
admin) names a period through these functions, so none of them says "December" for November's use.
"""

import datetime as dt

from django.utils import translation
from django.utils.dates import MONTHS
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from readings.window import add_months


def consumption_month(period: dt.date) -> dt.date:
    """The month whose use a reading of `period` closes: 01.12.2026 closes November 2026."""
    return add_months(period, -1)


def consumption_name(period: dt.date) -> str:
    """The consumption month inside a sentence: "листопад 2026" in Ukrainian, "November 2026" in English."""
    month = consumption_month(period)
    name = str(MONTHS[month.month])
    return f"{name.lower() if translation.get_language() == 'uk' else name} {month.year}"


def consumption_heading(period: dt.date) -> str:
    """The consumption month as a heading or a table's row: "Листопад 2026"."""
    return capfirst(consumption_name(period))


def period_label(period: dt.date) -> str:
    """The whole label: "показання на 01.12.2026 — споживання за листопад 2026"."""
    return _("reading as of {day} — consumption for {month}").format(
        day=f"{period:%d.%m.%Y}", month=consumption_name(period)
    )
