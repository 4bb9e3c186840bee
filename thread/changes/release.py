"""What a change-order release does downstream, inside the release's one transaction.

After the new revisions are released (`services.change_order_release`):
1. every plant with published rules regenerates the mBOMs of the top-level products the
   change reaches (where-used through the eBOMs and every plant's current mBOMs), as of the
   first effective day, with that plant's rules in force; each changed mBOM writes an
   `mbom.published` message to the plant's ERP that names the change order and its
   effectivity — held back (`not_before`) until the first effective day begins at the plant
   when the ERP cannot hold future effectivity (neither Odoo nor ERPNext can);
2. every open order the change hits gets an impact flag, and open production orders resolve
   again (revision and mBOM version by their planned start); their work orders that no longer
   match are held for an analyst (the orders app's superseded guard).
Anything that fails here fails the release as a whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.models import AbstractBaseUser

from thread.bom.mbom.generation import ReleaseNote, mbom_generate
from thread.bom.mbom.selectors import current_rule_set_version
from thread.bom.mbom.where_used import where_used_graph
from thread.catalog.effectivity import EffectivityKind, plant_today
from thread.catalog.models import Part, PartRevision, Plant, PlantPart
from thread.catalog.selectors import revision_in_effect
from thread.orders.models import ProductionOrder
from thread.orders.services import production_orders_resolve
from thread.orders.work_orders.guard import work_orders_hold_superseded

from .choices import Disposition
from .flags import impact_flags_raise
from .impact import change_order_impact
from .models import AffectedItem, ChangeOrder

# An ERP system's connector option saying it can hold a BOM that becomes valid on a future
# date; without it, release messages wait in the outbox for the first effective day.
HOLDS_FUTURE_EFFECTIVITY = "holds_future_effectivity"
# An open-orders disposition that forbids building the old revision: a work order it supersedes
# can only be re-resolved (docs/work-orders.md, "The superseded guard").
RESOLVED_FORBIDDEN = (Disposition.REWORK, Disposition.SCRAP, Disposition.RETURN_TO_VENDOR)


@dataclass(frozen=True)
class Regeneration:
    plant: Plant
    revision: PartRevision
    as_of: date
    effectivity: dict[str, Any]


def effectivity_of(item: AffectedItem) -> dict[str, Any]:
    """The new revision's effectivity as the ERP message states it."""
    effectivity = getattr(item.to_revision, "effectivity", None) if item.to_revision else None
    if effectivity is None:
        return {"effectivity": "on release"}
    if effectivity.kind == EffectivityKind.DATE:
        return {"effectivity": "date", "effective_from": effectivity.effective_from.isoformat()}
    if effectivity.kind == EffectivityKind.SERIAL:
        return {"effectivity": "serial", "serial_from": effectivity.serial_from,
                "serial_to": effectivity.serial_to or None}
    return {"effectivity": "lot", "lot": effectivity.lot}


def _first_day(item: AffectedItem) -> date | None:
    effectivity = getattr(item.to_revision, "effectivity", None) if item.to_revision else None
    if effectivity is not None and effectivity.kind == EffectivityKind.DATE:
        return effectivity.effective_from
    return None


def release_scope(*, items: list[AffectedItem]) -> list[Regeneration]:
    """Which products to regenerate where, as of when: the top-level products each affected
    part reaches, at every plant with published rules where the product is not inactive, as of
    the item's first effective day (today at the plant for serial, lot or no effectivity — the
    message then carries the serial or lot range)."""
    graph = where_used_graph(part_ids=[item.part_id for item in items])
    products: dict[str, AffectedItem] = {}
    for item in items:
        for number in graph.where_used(item.part_id).top_level:
            products.setdefault(number, item)
    parts = {p.number: p for p in Part.objects.filter(number__in=products)}
    plants = [p for p in Plant.objects.select_related("erp_system").order_by("code")
              if current_rule_set_version(plant=p) is not None]
    inactive = set(PlantPart.objects.filter(plant__in=plants, active=False)
                   .values_list("plant_id", "part__number"))
    scope = []
    for plant in plants:
        for number, item in sorted(products.items()):
            if (plant.pk, number) in inactive or number not in parts:
                continue
            as_of = _first_day(item) or plant_today(plant)
            revision = revision_in_effect(part=parts[number], as_of=as_of)
            if revision is not None:
                scope.append(Regeneration(plant=plant, revision=revision, as_of=as_of,
                                          effectivity=effectivity_of(item)))
    return scope


def _not_before(plant: Plant, as_of: date) -> datetime | None:
    erp = plant.erp_system
    if erp is None or erp.connector_options.get(HOLDS_FUTURE_EFFECTIVITY):
        return None
    if as_of <= plant_today(plant):
        return None
    return datetime.combine(as_of, time.min, tzinfo=ZoneInfo(plant.time_zone))


def propagate_release(*, change_order: ChangeOrder, items: list[AffectedItem],
                      actor: AbstractBaseUser | None, reason: str) -> dict[str, Any]:
    """Regenerate, send and flag (see the module's docstring); returns what was done, for the
    release event. Call inside the release's transaction, after the revisions are released."""
    why = f"{change_order.number}: {reason}"
    generated, messages = [], 0
    for job in release_scope(items=items):
        result = mbom_generate(
            revision=job.revision, plant=job.plant, cause=change_order, actor=actor, reason=why,
            as_of=job.as_of, correlation_id=change_order.number,
            release=ReleaseNote(change_order=change_order.number, effectivity=job.effectivity,
                                not_before=_not_before(job.plant, job.as_of)))
        generated += [{"plant": job.plant.code, "mbom": str(version.mbom.revision),
                       "version": version.number} for version in result.created]
        messages += len(result.messages)
    impact = change_order_impact(change_order=change_order)
    flags = impact_flags_raise(change_order=change_order, impact=impact, actor=actor, reason=why)
    hit_orders = ProductionOrder.objects.filter(
        pk__in=[hit.order_id for hit in impact.production_order_hits()])
    resolved = production_orders_resolve(orders=hit_orders, actor=actor, reason=why)
    held = work_orders_hold_superseded(
        orders=hit_orders, change_order=change_order.number,
        as_resolved_allowed=not any(item.open_orders_disposition in RESOLVED_FORBIDDEN
                                    for item in items),
        actor=actor, reason=why)
    return {"mboms": generated, "messages": messages, "flags": len(flags),
            "production_orders_resolved": [order.number for order in resolved],
            "work_orders_held": [work_order.number for work_order in held]}
