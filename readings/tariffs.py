"""Cost estimates from the household tariff (docs/domain.md): an estimate, never a bill."""

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

KOPECK = Decimal("0.01")


def estimate_cost(consumption: Sequence[int]) -> Decimal:
    """UAH for the kWh used per zone, with the zone multipliers of the meter's kind."""
    factors = settings.TARIFF_ZONE_FACTORS[len(consumption)]
    kwh = sum(Decimal(used) * factor for used, factor in zip(consumption, factors, strict=True))
    return (kwh * settings.TARIFF_UAH_PER_KWH).quantize(KOPECK, rounding=ROUND_HALF_UP)
