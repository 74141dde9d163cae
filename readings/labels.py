"""How meters, zones and readings are named to residents, in the cabinet and the bot alike."""

from collections.abc import Sequence

from django.utils.translation import gettext_lazy as _

ZONE_NAMES = {
    1: (_("total"),),
    2: (_("day"), _("night")),
    3: (_("peak"), _("half-peak"), _("night")),
}
METER_KINDS = {
    1: _("single-zone"),
    2: _("two-zone (day/night)"),
    3: _("three-zone (peak/half-peak/night)"),
}


def values_text(values: Sequence[int]) -> str:
    """A reading as residents write it: 1111/2222."""
    return "/".join(str(value) for value in values)
