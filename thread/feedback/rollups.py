"""Roll-up arithmetic over plain data (docs/feedback.md, "Roll-ups"): what one result or quality
event adds to its day, the same with the opposite sign (a correction takes the corrected result
out), and the figures a window of days gives.

Every sum is of values with at most 6 decimals (run time per unit is rounded to 6 before it is
added, and so squared to 12), so in Decimal the sums are exact: adding contributions one by one,
in any order, with corrections, ends at the same digits as summing the surviving results once.
Mean and spread come from count, sum and sum of squares — an online algorithm, never a rescan."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

PER_UNIT = Decimal("0.000001")
ZERO = Decimal(0)


@dataclass(frozen=True)
class RollupKey:
    plant_id: int
    revision_id: int
    operation_code: str
    work_center_code: str
    day: date


@dataclass(frozen=True)
class Contribution:
    """What one fact adds to its day (or, negated, takes away)."""

    key: RollupKey
    amounts: Figures

    def negated(self) -> Contribution:
        return Contribution(self.key, self.amounts.negated())


def run_per_unit(run_minutes: Decimal, quantity: Decimal) -> Decimal:
    return (run_minutes / quantity).quantize(PER_UNIT, rounding=ROUND_HALF_EVEN)


def result_contribution(*, key: RollupKey, good_quantity: Decimal, scrap_quantity: Decimal,
                        scrap_reason: str,
                        setup_minutes: Decimal | None, run_minutes: Decimal | None,
                        standard_setup: Decimal, standard_run: Decimal) -> Contribution:
    """An operation result: quantities, scrap by its reason ("" when the MES gave none), and
    times where reported (run time per unit of the quantity reported, good and scrap)."""
    quantity = good_quantity + scrap_quantity
    per_unit = run_per_unit(run_minutes, quantity) \
        if run_minutes is not None and quantity > 0 else None
    return Contribution(key, Figures(
        results=1, good_quantity=good_quantity, scrap_quantity=scrap_quantity,
        scrap_by_reason={scrap_reason: scrap_quantity} if scrap_quantity else {},
        setup_count=1 if setup_minutes is not None else 0,
        setup_sum=setup_minutes if setup_minutes is not None else ZERO,
        setup_squares=setup_minutes * setup_minutes if setup_minutes is not None else ZERO,
        setup_standard_sum=standard_setup if setup_minutes is not None else ZERO,
        run_count=1 if per_unit is not None else 0,
        run_per_unit_sum=per_unit if per_unit is not None else ZERO,
        run_per_unit_squares=per_unit * per_unit if per_unit is not None else ZERO,
        run_standard_sum=standard_run if per_unit is not None else ZERO))


def quality_contribution(*, key: RollupKey, defect_code: str, quantity: Decimal) -> Contribution:
    return Contribution(key, Figures(quality_events=1, defects={defect_code: quantity}))


COUNTERS = ("results", "setup_count", "run_count", "quality_events")
SUMS = ("good_quantity", "scrap_quantity", "setup_sum", "setup_squares", "setup_standard_sum",
        "run_per_unit_sum", "run_per_unit_squares", "run_standard_sum")
BREAKDOWNS = ("scrap_by_reason", "defects")


def merged(totals: Mapping[str, Decimal], adding: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """Per-code quantities added up; a code whose quantity comes back to zero is dropped."""
    out = dict(totals)
    for code, quantity in adding.items():
        out[code] = out.get(code, ZERO) + quantity
        if out[code] == 0:
            del out[code]
    return out


@dataclass
class Figures:
    """A window's totals (any number of days, operations, work centers) and what they say."""

    results: int = 0
    good_quantity: Decimal = ZERO
    scrap_quantity: Decimal = ZERO
    scrap_by_reason: dict[str, Decimal] = field(default_factory=dict)
    setup_count: int = 0
    setup_sum: Decimal = ZERO
    setup_squares: Decimal = ZERO
    setup_standard_sum: Decimal = ZERO
    run_count: int = 0
    run_per_unit_sum: Decimal = ZERO
    run_per_unit_squares: Decimal = ZERO
    run_standard_sum: Decimal = ZERO
    quality_events: int = 0
    defects: dict[str, Decimal] = field(default_factory=dict)

    def add(self, part) -> Figures:
        """Add other Figures or a RollupDay (anything with these fields)."""
        for name in (*COUNTERS, *SUMS):
            setattr(self, name, getattr(self, name) + getattr(part, name))
        for name in BREAKDOWNS:
            given = {k: Decimal(v) for k, v in (getattr(part, name) or {}).items()}
            setattr(self, name, merged(getattr(self, name), given))
        return self

    MEASURES = ("first_pass_yield", "setup_mean", "setup_spread", "setup_vs_standard",
                "run_per_unit_mean", "run_per_unit_spread", "run_vs_standard")

    def as_data(self) -> dict:
        """Plain JSON data (decimals as strings): what a digest carries."""
        def text(value: Decimal | None) -> str | None:
            return None if value is None else str(value)

        return {**{name: getattr(self, name) for name in COUNTERS},
                **{name: text(getattr(self, name)) for name in ("good_quantity",
                                                                 "scrap_quantity")},
                **{name: {k: str(v) for k, v in getattr(self, name).items()}
                   for name in BREAKDOWNS},
                **{name: text(getattr(self, name)) for name in self.MEASURES}}

    def negated(self) -> Figures:
        return Figures(**{name: -getattr(self, name) for name in (*COUNTERS, *SUMS)},
                       **{name: {k: -v for k, v in getattr(self, name).items()}
                          for name in BREAKDOWNS})

    @property
    def first_pass_yield(self) -> Decimal | None:
        """Good over all reported (good + scrap) at the operation: None with nothing reported."""
        made = self.good_quantity + self.scrap_quantity
        return (self.good_quantity / made).quantize(PER_UNIT) if made else None

    @property
    def setup_mean(self) -> Decimal | None:
        return _mean(self.setup_sum, self.setup_count)

    @property
    def setup_spread(self) -> Decimal | None:
        return _spread(self.setup_sum, self.setup_squares, self.setup_count)

    @property
    def setup_vs_standard(self) -> Decimal | None:
        return _ratio(self.setup_sum, self.setup_standard_sum)

    @property
    def run_per_unit_mean(self) -> Decimal | None:
        return _mean(self.run_per_unit_sum, self.run_count)

    @property
    def run_per_unit_spread(self) -> Decimal | None:
        return _spread(self.run_per_unit_sum, self.run_per_unit_squares, self.run_count)

    @property
    def run_vs_standard(self) -> Decimal | None:
        return _ratio(self.run_per_unit_sum, self.run_standard_sum)


def _mean(total: Decimal, count: int) -> Decimal | None:
    return (total / count).quantize(PER_UNIT) if count else None


def _spread(total: Decimal, squares: Decimal, count: int) -> Decimal | None:
    """The sample standard deviation, from the exact sums (None under two values)."""
    if count < 2:
        return None
    variance = (squares - total * total / count) / (count - 1)
    return max(variance, ZERO).sqrt().quantize(PER_UNIT)


def _ratio(actual: Decimal, standard: Decimal) -> Decimal | None:
    return (actual / standard).quantize(PER_UNIT) if standard else None


def totals_by_key(contributions: Iterable[Contribution]) -> dict[RollupKey, Figures]:
    """The recomputation: every contribution summed per day key at once."""
    out: dict[RollupKey, Figures] = {}
    for contribution in contributions:
        out.setdefault(contribution.key, Figures()).add(contribution.amounts)
    return out
