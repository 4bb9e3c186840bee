"""Reads of the product master."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db.models import QuerySet

from thread.flows.models import ExternalSystem

from .choices import RevisionStatus
from .effectivity import AsOf, effective_for
from .models import (
    Part,
    PartRevision,
    PartUnitConversion,
    Plant,
    RevisionEffectivity,
    SystemUnitCode,
    UnitAlias,
    UnitOfMeasure,
)
from .units import PartConversion, Unit, UnitCatalog


def parts_list() -> QuerySet[Part]:
    return Part.objects.select_related("base_unit")


# A superseded revision may still be in effect on a date (its successor's date has not come).
IN_EFFECT_STATUSES = [RevisionStatus.RELEASED, RevisionStatus.SUPERSEDED]


def revisions_list() -> QuerySet[PartRevision]:
    return PartRevision.objects.select_related("part", "released_by", "effectivity")


def plants_list() -> QuerySet[Plant]:
    return Plant.objects.select_related("erp_system", "mes_system")


def unit_table() -> dict[str, Unit]:
    """All units as plain data, for conversions and the mapping engine."""
    return {
        u.code: Unit(code=u.code, dimension=u.dimension, factor=u.factor)
        for u in UnitOfMeasure.objects.all()
    }


def unit_catalog(*, system: ExternalSystem | None = None) -> UnitCatalog:
    """Every way a unit may be written, as plain data for the pushes' parsers: the units with
    their names, the analysts' aliases and, for a push from `system`, that system's own codes.
    Read fresh each time (two queries, three with a system), so an alias saved in the admin
    counts from the next push."""
    rows = list(UnitOfMeasure.objects.all())
    system_codes = dict(SystemUnitCode.objects.filter(system=system).values_list(
        "code", "unit__code")) if system is not None else None
    return UnitCatalog(
        {u.code: Unit(code=u.code, dimension=u.dimension, factor=u.factor) for u in rows},
        names={u.code: u.name for u in rows},
        aliases=dict(UnitAlias.objects.values_list("alias", "unit__code")),
        system_codes=system_codes)


def outbound_unit_codes(*, system: ExternalSystem) -> dict[str, str]:
    """Thread's unit code → the code `system` writes for it, for what Thread sends the system
    (the codes marked outbound); a unit missing here is sent with Thread's own code."""
    return dict(SystemUnitCode.objects.filter(system=system, outbound=True).values_list(
        "unit__code", "code"))


def unit_aliases_list() -> QuerySet[UnitAlias]:
    return UnitAlias.objects.select_related("unit")


def system_unit_codes_list() -> QuerySet[SystemUnitCode]:
    return SystemUnitCode.objects.select_related("system", "unit")


def revision_in_effect(
    *, part: Part, as_of: AsOf = None, include_drafts: bool = False
) -> PartRevision | None:
    """The one resolver of "which revision of this part applies" (docs/change-orders.md).

    `as_of`:
    * None — the newest release (status released), whatever its effectivity: the latest
      design, as engineering sees it;
    * a `date` in the asking plant's time zone (`effectivity.plant_today(plant)`), a
      `Serial` or a `Lot` — among the released and superseded revisions that apply to it
      (`effectivity.effective_for`: date effectivity started on or before the date, the
      serial in the range, the same lot, or no effectivity at all), the newest release.

    A later release is a later decision, so it wins over an earlier one that also applies:
    a revision whose date has not come yet leaves the one before it in effect, and one
    released later with an earlier date cuts an earlier plan short. With `include_drafts`
    (previews), a part with nothing in effect resolves to its newest draft.
    """
    return revisions_in_effect(part_ids=[part.pk], as_of=as_of,
                               include_drafts=include_drafts).get(part.pk)


def revisions_in_effect(
    *, part_ids: Iterable[int], as_of: AsOf = None, include_drafts: bool = False
) -> dict[int, PartRevision]:
    """`revision_in_effect` for many parts in at most two queries (explosions resolve a whole
    BOM level at once); parts without a revision in effect are missing from the result."""
    if isinstance(as_of, datetime):
        raise TypeError("as_of is a plant-local date: pass effectivity.plant_date(plant, when)")
    wanted = set(part_ids)
    found: dict[int, PartRevision] = {}
    statuses = [RevisionStatus.RELEASED] if as_of is None else IN_EFFECT_STATUSES
    for revision in (PartRevision.objects.select_related("part", "effectivity")
                     .filter(part_id__in=wanted, status__in=statuses)
                     .order_by("part_id", "-released_at", "-id")):
        if revision.part_id in found or not _applies(revision, as_of):
            continue
        found[revision.part_id] = revision
    missing = wanted - set(found)
    if include_drafts and missing:
        for revision in (PartRevision.objects.select_related("part", "effectivity")
                         .filter(part_id__in=missing, status=RevisionStatus.DRAFT)
                         .order_by("part_id", "-created_at", "-id")):
            found.setdefault(revision.part_id, revision)
    return found


def _applies(revision: PartRevision, as_of: AsOf) -> bool:
    if as_of is None:
        return True
    try:
        effectivity = revision.effectivity
    except RevisionEffectivity.DoesNotExist:
        return True
    return effective_for(kind=effectivity.kind, effective_from=effectivity.effective_from,
                         serial_from=effectivity.serial_from, serial_to=effectivity.serial_to,
                         lot=effectivity.lot, as_of=as_of)


def part_conversions(*, part_ids: Iterable[int]) -> dict[str, list[PartConversion]]:
    """The part-specific conversions of these parts, by part number (one query)."""
    found: dict[str, list[PartConversion]] = {}
    for number, from_code, to_code, factor in PartUnitConversion.objects.filter(
            part_id__in=list(part_ids)).values_list("part__number", "from_unit__code",
                                                     "to_unit__code", "factor"):
        found.setdefault(number, []).append(PartConversion(from_code, to_code, factor))
    return found


def units_list() -> QuerySet[UnitOfMeasure]:
    return UnitOfMeasure.objects.prefetch_related("aliases")
