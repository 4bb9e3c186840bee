"""Did the change help? (docs/feedback.md, "Per change order"). For a released change order,
each affected item's new revision against the revision it replaced, per plant, over comparable
windows of the roll-ups:

- the *pivot* is the first plant-local day the new revision has results at the plant (else the
  day the change was released there: nothing to compare yet);
- *after* is `days` days from the pivot, cut at today, and *before* is a window of the same
  length just before the pivot, for the old revision — the same plant, the same number of days,
  the operations both report.

Reads only; the roll-ups answer, not the raw results."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Min

from thread.catalog.effectivity import plant_date, plant_today
from thread.catalog.models import PartRevision, Plant
from thread.changes.choices import ChangeOrderStatus
from thread.changes.models import ChangeOrder
from thread.errors import StateConflict

from .models import RollupDay
from .rollups import Figures


@dataclass
class Window:
    revision: PartRevision
    start: date
    end: date  # inclusive
    figures: Figures
    by_operation: dict[str, Figures] = field(default_factory=dict)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


@dataclass
class Effect:
    part: str
    plant: Plant
    before: Window
    after: Window
    comparable: bool  # both windows have results

    def changes(self) -> dict[str, dict[str, Decimal | None]]:
        """Each measure before and after, and the change (after - before; for times the
        ratio after / before, 1 = unchanged)."""
        out: dict[str, dict[str, Decimal | None]] = {}
        for name, ratio in (("first_pass_yield", False), ("setup_mean", True),
                            ("run_per_unit_mean", True), ("run_vs_standard", False)):
            before = getattr(self.before.figures, name)
            after = getattr(self.after.figures, name)
            change = None
            if before is not None and after is not None:
                if not ratio:
                    change = after - before
                elif before:
                    change = (after / before).quantize(Decimal("0.000001"))
            out[name] = {"before": before, "after": after, "change": change}
        before_rate, after_rate = (_defects_per_unit(w.figures) for w in (self.before,
                                                                           self.after))
        out["defects_per_unit"] = {
            "before": before_rate, "after": after_rate,
            "change": after_rate - before_rate if None not in (before_rate, after_rate) else None}
        return out


def _defects_per_unit(figures: Figures) -> Decimal | None:
    made = figures.good_quantity + figures.scrap_quantity
    return (sum(figures.defects.values(), Decimal(0)) / made).quantize(Decimal("0.000001")) \
        if made else None


def change_order_effects(*, change_order: ChangeOrder, days: int = 30) -> list[Effect]:
    if change_order.status != ChangeOrderStatus.RELEASED:
        raise StateConflict(f"{change_order.number} is {change_order.get_status_display().lower()}"
                            ": only a released change has effects to compare.")
    effects = []
    for item in change_order.affected_items.select_related(
            "part", "from_revision", "to_revision").order_by("part__number"):
        if item.from_revision is None or item.to_revision is None:
            continue  # an added or removed part has no "before" or "after" to compare
        for plant in _plants(item.from_revision, item.to_revision):
            effects.append(_effect(change_order, item.part.number, item.from_revision,
                                   item.to_revision, plant, days))
    return effects


def _plants(*revisions: PartRevision) -> Iterable[Plant]:
    ids = RollupDay.objects.filter(revision__in=revisions).values("plant_id").distinct()
    return Plant.objects.filter(pk__in=ids).order_by("code")


def _effect(change_order: ChangeOrder, part: str, old: PartRevision, new: PartRevision,
            plant: Plant, days: int) -> Effect:
    first = RollupDay.objects.filter(revision=new, plant=plant, results__gt=0).aggregate(
        first=Min("day"))["first"]
    pivot = first or plant_date(plant, change_order.released_at)
    today = plant_today(plant)
    length = max(1, min(days, (today - pivot).days + 1)) if first else days
    after = _window(new, plant, pivot, pivot + timedelta(days=length - 1)) if first \
        else Window(new, pivot, pivot - timedelta(days=1), Figures())
    before = _window(old, plant, pivot - timedelta(days=length), pivot - timedelta(days=1))
    return Effect(part=part, plant=plant, before=before, after=after,
                  comparable=bool(before.figures.results and after.figures.results))


def _window(revision: PartRevision, plant: Plant, start: date, end: date) -> Window:
    window = Window(revision, start, end, Figures())
    for day in RollupDay.objects.filter(revision=revision, plant=plant, day__gte=start,
                                        day__lte=end):
        window.figures.add(day)
        window.by_operation.setdefault(day.operation_code, Figures()).add(day)
    return window
