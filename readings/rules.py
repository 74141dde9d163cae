"""Reading rules against the meter's history (docs/domain.md), as pure functions.

A value below the previous accepted one is refused unless it is a rollover (the
display passed 0); a rollover and a consumption far above the usual both need the
resident's explicit confirmation, and a confirmed one is held for staff review.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from readings.errors import ReadingDecrease, RolloverConfirmation, UnusualJumpConfirmation


@dataclass(frozen=True)
class JumpRule:
    factor: Decimal  # times the usual monthly consumption
    floor_kwh: int  # a month's consumption below this is never unusual
    no_history_kwh: int  # the limit for a meter with no usual consumption yet


@dataclass(frozen=True)
class Assessment:
    consumption: tuple[int, ...] | None
    review_reason: str  # "", "rollover" or "unusual_jump"


def assess(
    values: Sequence[int],
    previous: Sequence[int] | None,
    *,
    capacity: int,
    months: int,
    usual_monthly: Decimal | None,
    rule: JumpRule,
    confirmed: bool,
) -> Assessment:
    """Consumption per zone against `previous`, or the refusal the values earn.

    `capacity` is the first value the display cannot show (10**digits); `months`
    is how many months the consumption spans; `usual_monthly` is the meter's usual
    total kWh a month, None when it has no history.
    """
    if not previous or len(previous) != len(values):
        return Assessment(consumption=None, review_reason="")
    consumption = []
    rolled_over = False
    for zone, (value, before) in enumerate(zip(values, previous, strict=True), start=1):
        if value >= before:
            consumption.append(value - before)
            continue
        wrapped = value + capacity - before
        # Near the top of the display before and near 0 now: the meter went round.
        if wrapped > capacity // 10:
            raise ReadingDecrease(value=value, previous=before, zone=zone)
        if not confirmed:
            raise RolloverConfirmation(value=value, previous=before, zone=zone, capacity=capacity - 1)
        consumption.append(wrapped)
        rolled_over = True
    total = sum(consumption)
    if _is_unusual(total, months=max(1, months), usual_monthly=usual_monthly, rule=rule):
        if not confirmed:
            raise UnusualJumpConfirmation(consumption=total)
        return Assessment(consumption=tuple(consumption), review_reason="unusual_jump")
    return Assessment(consumption=tuple(consumption), review_reason="rollover" if rolled_over else "")


def _is_unusual(total: int, *, months: int, usual_monthly: Decimal | None, rule: JumpRule) -> bool:
    if usual_monthly is None:
        return total > rule.no_history_kwh * months
    return total > max(rule.factor * usual_monthly, Decimal(rule.floor_kwh)) * months
