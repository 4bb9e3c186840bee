"""Writes to the product master. Each takes the actor and a reason, runs in one transaction and
validates with full_clean(); released revisions never change."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.utils import timezone

from thread.errors import ErrorItem, StateConflict, invalid
from thread.flows.models import ExternalSystem
from thread.history import audited, require_reason

from . import hooks
from .choices import RevisionStatus
from .models import (
    CrossReference,
    Part,
    PartRevision,
    PartUnitConversion,
    Plant,
    SystemUnitCode,
    UnitAlias,
    UnitOfMeasure,
)

PART_FIELDS = ("name", "description", "category", "make_or_buy", "lifecycle_state")
REVISION_CONTENT_FIELDS = ("description", "attributes")


def _save(instance: models.Model, actor: AbstractBaseUser | None, reason: str) -> None:
    instance.full_clean()
    audited(instance, actor, reason).save()


def released_revision_refusal(revision: PartRevision, what: str) -> StateConflict:
    detail = (f"{revision} is {revision.get_status_display().lower()}: its {what} never changes; "
              "a change makes a new revision.")
    return StateConflict(detail, [ErrorItem(pointer="/revision", code="released", detail=detail)],
                         code="released-revision-immutable")


def unit_create(
    *, code: str, name: str, dimension: str, factor: Decimal,
    actor: AbstractBaseUser | None, reason: str,
) -> UnitOfMeasure:
    with transaction.atomic():
        unit = UnitOfMeasure(code=code, name=name, dimension=dimension, factor=factor)
        _save(unit, actor, reason)
    return unit


def _spelling(text: str) -> str:
    """As the recognition reads a written unit: runs of spaces as one, none at the edges."""
    return " ".join(text.split())


def unit_alias_create(
    *, alias: str, unit: UnitOfMeasure, actor: AbstractBaseUser | None, reason: str,
) -> UnitAlias:
    with transaction.atomic():
        unit_alias = UnitAlias(alias=_spelling(alias), unit=unit)
        _save(unit_alias, actor, reason)
    return unit_alias


def unit_alias_update(
    *, unit_alias: UnitAlias, alias: str, unit: UnitOfMeasure, actor: AbstractBaseUser | None,
    reason: str,
) -> UnitAlias:
    with transaction.atomic():
        unit_alias = UnitAlias.objects.select_for_update().get(pk=unit_alias.pk)
        if (unit_alias.alias, unit_alias.unit_id) == (_spelling(alias), unit.pk):
            return unit_alias
        unit_alias.alias, unit_alias.unit = _spelling(alias), unit
        _save(unit_alias, actor, reason)
    return unit_alias


def unit_alias_delete(*, unit_alias: UnitAlias, actor: AbstractBaseUser | None,
                      reason: str) -> None:
    with transaction.atomic():
        audited(unit_alias, actor, reason).delete()


def system_unit_code_create(
    *, system: ExternalSystem, code: str, unit: UnitOfMeasure, actor: AbstractBaseUser | None,
    reason: str, outbound: bool = True,
) -> SystemUnitCode:
    with transaction.atomic():
        system_code = SystemUnitCode(system=system, code=_spelling(code), unit=unit,
                                     outbound=outbound)
        _save(system_code, actor, reason)
    return system_code


def system_unit_code_update(
    *, system_unit_code: SystemUnitCode, code: str, unit: UnitOfMeasure, outbound: bool,
    actor: AbstractBaseUser | None, reason: str,
) -> SystemUnitCode:
    with transaction.atomic():
        system_code = SystemUnitCode.objects.select_for_update().get(pk=system_unit_code.pk)
        wanted = (_spelling(code), unit.pk, outbound)
        if (system_code.code, system_code.unit_id, system_code.outbound) == wanted:
            return system_code
        system_code.code, system_code.unit, system_code.outbound = _spelling(code), unit, outbound
        _save(system_code, actor, reason)
    return system_code


def system_unit_code_delete(*, system_unit_code: SystemUnitCode,
                            actor: AbstractBaseUser | None, reason: str) -> None:
    with transaction.atomic():
        audited(system_unit_code, actor, reason).delete()


def part_create(
    *, number: str, name: str, base_unit: UnitOfMeasure, actor: AbstractBaseUser | None,
    reason: str, **fields: Any,
) -> Part:
    unknown = set(fields) - set(PART_FIELDS)
    if unknown:
        raise TypeError(f"unknown part fields {sorted(unknown)}")
    with transaction.atomic():
        part = Part(number=number, name=name, base_unit=base_unit, **fields)
        _save(part, actor, reason)
    return part


def part_update(
    *, part: Part, actor: AbstractBaseUser | None, reason: str, base_unit: UnitOfMeasure | None = None,
    **changes: Any,
) -> Part:
    unknown = set(changes) - set(PART_FIELDS)
    if unknown:
        raise TypeError(f"unknown part fields {sorted(unknown)}")
    with transaction.atomic():
        part = Part.objects.select_for_update().get(pk=part.pk)
        if base_unit is not None and base_unit.pk != part.base_unit_id:
            # Quantities in existing BOM lines are stated relative to the base unit.
            raise invalid("/base_unit", "immutable",
                          f"The base unit of {part.number} is {part.base_unit.code} and cannot "
                          "change; create a new part number instead.")
        changed = {k: v for k, v in changes.items() if getattr(part, k) != v}
        if not changed:
            return part
        for key, value in changed.items():
            setattr(part, key, value)
        _save(part, actor, reason)
    return part


def part_upsert(
    *, number: str, name: str, base_unit: UnitOfMeasure, actor: AbstractBaseUser | None,
    reason: str, **fields: Any,
) -> tuple[Part, bool]:
    """A PLM sends the whole part each time: create it, or apply what differs. Returns
    (part, created)."""
    existing = Part.objects.filter(number=number).first()
    if existing is None:
        return part_create(number=number, name=name, base_unit=base_unit, actor=actor,
                           reason=reason, **fields), True
    return part_update(part=existing, actor=actor, reason=reason, base_unit=base_unit,
                       name=name, **fields), False


def revision_create(
    *, part: Part, label: str, actor: AbstractBaseUser | None, reason: str,
    description: str = "", attributes: dict | None = None,
) -> PartRevision:
    with transaction.atomic():
        if PartRevision.objects.filter(part=part, label=label).exists():
            raise StateConflict(f"{part.number} already has a revision {label!r}.",
                                [ErrorItem("/label", "exists", "This revision exists.")])
        revision = PartRevision(part=part, label=label, description=description,
                                attributes=attributes or {})
        _save(revision, actor, reason)
    return revision


def revision_update(
    *, revision: PartRevision, actor: AbstractBaseUser | None, reason: str, **changes: Any,
) -> PartRevision:
    unknown = set(changes) - set(REVISION_CONTENT_FIELDS)
    if unknown:
        raise TypeError(f"unknown revision fields {sorted(unknown)}")
    with transaction.atomic():
        revision = PartRevision.objects.select_for_update().select_related("part").get(
            pk=revision.pk)
        changed = {k: v for k, v in changes.items() if getattr(revision, k) != v}
        if not changed:
            return revision
        if revision.is_frozen:
            raise released_revision_refusal(revision, "content")
        for key, value in changed.items():
            setattr(revision, key, value)
        _save(revision, actor, reason)
    return revision


def revision_upsert(
    *, part: Part, label: str, actor: AbstractBaseUser | None, reason: str,
    description: str = "", attributes: dict | None = None,
) -> tuple[PartRevision, bool]:
    existing = PartRevision.objects.filter(part=part, label=label).first()
    if existing is None:
        return revision_create(part=part, label=label, actor=actor, reason=reason,
                               description=description, attributes=attributes), True
    return revision_update(revision=existing, actor=actor, reason=reason,
                           description=description, attributes=attributes or {}), False


def revision_release(
    *, revision: PartRevision, actor: AbstractBaseUser | None, reason: str,
) -> PartRevision:
    """draft → released. Earlier released revisions of the part become superseded; which one is
    in effect on a date, serial or lot is `selectors.revision_in_effect`'s answer."""
    return revisions_release(revisions=[revision], actor=actor, reason=reason)[0]


def revisions_release(
    *, revisions: list[PartRevision], actor: AbstractBaseUser | None, reason: str,
    downstream: bool = True,
) -> list[PartRevision]:
    """`revision_release` for a whole structure at once (an eBOM push with `release`): the same
    transitions and history, in a constant number of queries.

    With `downstream`, the hooks registered with `hooks.register_after_release` run in the same
    transaction (bom generates the released products' mBOMs at the plants that make them); a
    change order's release passes False, since it propagates as of its effectivity itself."""
    reason = require_reason(reason)
    with transaction.atomic():
        locked = list(PartRevision.objects.select_for_update().select_related("part")
                      .filter(pk__in=[r.pk for r in revisions]).order_by("pk"))
        for revision in locked:
            if revision.status != RevisionStatus.DRAFT:
                raise StateConflict(
                    f"{revision} is {revision.get_status_display().lower()}; only a draft can be "
                    "released.", [ErrorItem("/status", "invalid_transition", "Not a draft.")])
        label_by_part = {r.part_id: r.label for r in locked}
        if len(label_by_part) != len(locked):
            raise StateConflict("Only one revision per part can be released at a time.")
        now = timezone.now()
        superseded = list(PartRevision.objects.select_for_update().filter(
            part_id__in=label_by_part, status=RevisionStatus.RELEASED).order_by("pk"))
        for older in superseded:
            older.status = RevisionStatus.SUPERSEDED
            audited(older, actor, f"Superseded by revision {label_by_part[older.part_id]}: {reason}")
        for revision in locked:
            revision.status = RevisionStatus.RELEASED
            revision.released_at = now
            revision.released_by = actor if actor and actor.is_authenticated else None
            audited(revision, actor, reason)
        # simple-history does not see bulk_update: the history rows are written explicitly.
        for changed, fields in ((superseded, ["status"]),
                                (locked, ["status", "released_at", "released_by"])):
            if changed:
                PartRevision.objects.bulk_update(changed, fields)
                PartRevision.history.bulk_history_create(changed, update=True)
        if downstream:
            hooks.run_after_release(revisions=locked, actor=actor, reason=reason)
    by_pk = {r.pk: r for r in locked}
    return [by_pk[r.pk] for r in revisions]


def revision_make_obsolete(
    *, revision: PartRevision, actor: AbstractBaseUser | None, reason: str,
) -> PartRevision:
    with transaction.atomic():
        revision = PartRevision.objects.select_for_update().select_related("part").get(
            pk=revision.pk)
        if revision.status not in (RevisionStatus.RELEASED, RevisionStatus.SUPERSEDED):
            raise StateConflict(f"{revision} is {revision.status}; only a released or "
                                "superseded revision can become obsolete.")
        revision.status = RevisionStatus.OBSOLETE
        _save(revision, actor, reason)
    return revision


def unit_conversion_set(
    *, part: Part, from_unit: UnitOfMeasure, to_unit: UnitOfMeasure, factor: Decimal,
    actor: AbstractBaseUser | None, reason: str,
) -> PartUnitConversion:
    with transaction.atomic():
        conversion = PartUnitConversion.objects.filter(
            part=part, from_unit=from_unit, to_unit=to_unit).first() or PartUnitConversion(
            part=part, from_unit=from_unit, to_unit=to_unit)
        conversion.factor = factor
        _save(conversion, actor, reason)
    return conversion


def plant_create(
    *, code: str, name: str, time_zone: str, actor: AbstractBaseUser | None, reason: str,
    erp_system=None, mes_system=None,
) -> Plant:
    with transaction.atomic():
        plant = Plant(code=code, name=name, time_zone=time_zone, erp_system=erp_system,
                      mes_system=mes_system)
        _save(plant, actor, reason)
    return plant


def plant_update(*, plant: Plant, actor: AbstractBaseUser | None, reason: str,
                 makes_new_products: bool | None = None, work_order_format: str | None = None,
                 work_order_timing: str | None = None, late_release: str | None = None,
                 mes_takes_batches: bool | None = None) -> Plant:
    """Change what a plant makes by default (with `makes_new_products`, every newly released
    top-level product without plant part data here gets its mBOM at this plant) and how its
    MES takes work orders. A value left out stays as it is."""
    wanted = {"makes_new_products": makes_new_products, "work_order_format": work_order_format,
              "work_order_timing": work_order_timing, "late_release": late_release,
              "mes_takes_batches": mes_takes_batches}
    with transaction.atomic():
        plant = Plant.objects.select_for_update().get(pk=plant.pk)
        changed = False
        for name, value in wanted.items():
            if value is not None and getattr(plant, name) != value:
                setattr(plant, name, value)
                changed = True
        if changed:
            _save(plant, actor, reason)
    return plant


def cross_reference_set(
    *, system, kind: str, external_id: str, target: models.Model,
    actor: AbstractBaseUser | None, reason: str, plant: Plant | None = None,
) -> CrossReference:
    """The external id of `target` in `system` (per plant where given); replaces an older one."""
    content_type = ContentType.objects.get_for_model(target)
    with transaction.atomic():
        reference = CrossReference.objects.select_for_update().filter(
            system=system, kind=kind, content_type=content_type, object_id=target.pk, plant=plant
        ).first() or CrossReference(system=system, kind=kind, content_type=content_type,
                                    object_id=target.pk, plant=plant)
        if reference.pk and reference.external_id == external_id:
            return reference
        reference.external_id = external_id
        _save(reference, actor, reason)
    return reference
