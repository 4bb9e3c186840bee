"""Reads of the product master."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.db.models import QuerySet

from .choices import RevisionStatus
from .models import Part, PartRevision, Plant, UnitOfMeasure
from .units import Unit


def parts_list() -> QuerySet[Part]:
    return Part.objects.select_related("base_unit")


def revisions_list() -> QuerySet[PartRevision]:
    return PartRevision.objects.select_related("part", "released_by")


def plants_list() -> QuerySet[Plant]:
    return Plant.objects.select_related("erp_system", "mes_system")


def unit_table() -> dict[str, Unit]:
    """All units as plain data, for conversions and the mapping engine."""
    return {
        u.code: Unit(code=u.code, dimension=u.dimension, factor=u.factor)
        for u in UnitOfMeasure.objects.all()
    }


def revision_in_effect(
    *, part: Part, as_of: date | str | None = None, include_drafts: bool = False
) -> PartRevision | None:
    """The one resolver of "which revision of this part applies".

    `as_of` is a date in the plant's time zone, a serial or a lot. Until change orders add
    effectivity windows it means the latest released revision (by release time), else, for
    previews only, the latest draft.
    """
    return revisions_in_effect(part_ids=[part.pk], as_of=as_of,
                               include_drafts=include_drafts).get(part.pk)


def revisions_in_effect(
    *, part_ids: Iterable[int], as_of: date | str | None = None, include_drafts: bool = False
) -> dict[int, PartRevision]:
    """`revision_in_effect` for many parts in two queries (explosions resolve a whole BOM level
    at once); parts without a revision in effect are missing from the result."""
    wanted = set(part_ids)
    found: dict[int, PartRevision] = {}
    for revision in (PartRevision.objects.select_related("part")
                     .filter(part_id__in=wanted, status=RevisionStatus.RELEASED)
                     .order_by("part_id", "-released_at", "-id")):
        found.setdefault(revision.part_id, revision)
    missing = wanted - set(found)
    if include_drafts and missing:
        for revision in (PartRevision.objects.select_related("part")
                         .filter(part_id__in=missing, status=RevisionStatus.DRAFT)
                         .order_by("part_id", "-created_at", "-id")):
            found.setdefault(revision.part_id, revision)
    return found


def units_list() -> QuerySet[UnitOfMeasure]:
    return UnitOfMeasure.objects.all()
