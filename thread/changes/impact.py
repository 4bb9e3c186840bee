"""What a change order hits: for each affected item, where the part is used up to the top-level
products, the open purchase and production orders it reaches (with their dates against the
effectivity, plant-local), and the mBOMs that will change in each plant. Read before approval
and again at release, where `services.impact_flags_raise` flags every order it lists.

A fixed number of queries whatever the size: the affected items, the eBOMs of both revisions
(for the components the change removes or changes), one recursive where-used query for all
items, the open purchase-order lines, the open production orders and the current mBOM versions
of the old revisions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone

from thread.bom.ebom.selectors import current_eboms, ebom_lines
from thread.bom.mbom.where_used import MAX_PATHS, MBOM, UpwardGraph, WhereUsed, where_used_graph
from thread.bom.models import MBomVersion
from thread.catalog.effectivity import EffectivityKind, plant_date
from thread.orders.choices import OPEN_PRODUCTION_STATUSES, OPEN_PURCHASE_STATUSES
from thread.orders.models import ProductionOrder, PurchaseOrderLine

from .choices import ImpactKind, Timing
from .diff import EBomLineData, ebom_diff
from .models import AffectedItem, ChangeOrder
from .selectors import affected_items

# A flag names the most direct way the change reaches its order.
KIND_ORDER = [ImpactKind.AFFECTED_PART, ImpactKind.REMOVED_COMPONENT,
              ImpactKind.CHANGED_COMPONENT, ImpactKind.PARENT_ASSEMBLY]


@dataclass(frozen=True)
class Against:
    """A plant-local date against the effectivity date: `days` after it (negative: before)."""

    timing: str
    days: int | None

    @classmethod
    def of(cls, day: date, effective_from: date | None) -> Against:
        if effective_from is None:
            return cls(Timing.UNKNOWN, None)
        days = (day - effective_from).days
        return cls(Timing.BEFORE if days < 0 else Timing.ON_OR_AFTER, days)

    def text(self, effective_from: date | None) -> str:
        if self.days is None:
            return "effectivity not by date"
        if self.days == 0:
            return f"on the effectivity date {effective_from}"
        side = "before" if self.days < 0 else "after"
        return f"{abs(self.days)} days {side} the effectivity {effective_from}"


@dataclass(frozen=True)
class ComponentChange:
    part_id: int
    part: str
    kind: str  # REMOVED_COMPONENT or CHANGED_COMPONENT
    old_quantity: Decimal
    new_quantity: Decimal | None
    unit: str


@dataclass(frozen=True)
class PurchaseOrderHit:
    order_id: int
    number: str
    system: str
    supplier: str
    plant: str
    status: str
    line_number: int
    part_id: int
    part: str
    kind: str
    quantity: Decimal
    open_quantity: Decimal
    unit: str
    due_date: date
    against: Against
    effective_from: date | None

    @property
    def summary(self) -> str:
        return (f"PO {self.number} line {self.line_number} ({self.plant}): "
                f"{self.open_quantity.normalize():f} {self.unit} {self.part} open, due "
                f"{self.due_date}, {self.against.text(self.effective_from)} "
                f"[{ImpactKind(self.kind).label.lower()}]")


@dataclass(frozen=True)
class ProductionOrderHit:
    order_id: int
    number: str
    system: str
    plant: str
    status: str
    part_id: int
    part: str
    kind: str
    quantity: Decimal
    unit: str
    planned_start: datetime
    planned_end: datetime
    start_date: date  # plant-local
    against: Against
    effective_from: date | None
    revision: str | None  # as the order resolves now
    mbom_version_id: int | None

    @property
    def summary(self) -> str:
        built = f"rev {self.revision}" if self.revision else "no revision resolved"
        return (f"Production order {self.number} ({self.plant}): {self.quantity.normalize():f} "
                f"{self.unit} {self.part}, {built}, starts {self.start_date}, "
                f"{self.against.text(self.effective_from)} "
                f"[{ImpactKind(self.kind).label.lower()}]")


@dataclass(frozen=True)
class MBomHit:
    """A current mBOM version that the change will replace: the old revision's own, or an
    assembly's that is built from a part on the way up (`via`)."""

    plant: str
    part: str
    revision: str
    version_id: int
    version_number: int
    via: tuple[str, ...]  # empty: the affected revision's own mBOM


@dataclass(frozen=True)
class ItemImpact:
    item_id: int
    part_id: int
    part: str
    kind: str
    from_revision: str | None
    to_revision: str | None
    effectivity: str
    effective_from: date | None  # date effectivity only
    components: tuple[ComponentChange, ...]
    where_used: WhereUsed
    purchase_orders: tuple[PurchaseOrderHit, ...]
    production_orders: tuple[ProductionOrderHit, ...]
    mboms: tuple[MBomHit, ...]  # by plant, then part


@dataclass(frozen=True)
class FlagHit:
    """One order as a flag records it: the most direct kind, and every way the change hit it."""

    order_id: int
    kind: str
    part_id: int
    summary: str
    details: dict[str, Any]


@dataclass(frozen=True)
class Impact:
    change_order_id: int
    number: str
    status: str
    computed_at: datetime
    items: tuple[ItemImpact, ...]

    def purchase_order_hits(self) -> list[FlagHit]:
        return _by_order([(item, hit) for item in self.items for hit in item.purchase_orders])

    def production_order_hits(self) -> list[FlagHit]:
        return _by_order([(item, hit) for item in self.items for hit in item.production_orders])


def _by_order(pairs: list[tuple[ItemImpact, PurchaseOrderHit | ProductionOrderHit]]
              ) -> list[FlagHit]:
    grouped: dict[int, list[tuple[ItemImpact, Any]]] = {}
    for item, hit in pairs:
        grouped.setdefault(hit.order_id, []).append((item, hit))
    found = []
    for order_id, hits in grouped.items():
        hits.sort(key=lambda pair: KIND_ORDER.index(pair[1].kind))
        first = hits[0][1]
        found.append(FlagHit(
            order_id=order_id, kind=first.kind, part_id=first.part_id,
            summary="; ".join(f"{hit.summary} (change to {item.part})" for item, hit in hits),
            details={"hits": [{"affected_part": item.part, "kind": hit.kind, "part": hit.part,
                               "line_number": getattr(hit, "line_number", None),
                               "timing": hit.against.timing, "days": hit.against.days,
                               "effective_from": str(hit.effective_from)
                               if hit.effective_from else None}
                              for item, hit in hits]}))
    return sorted(found, key=lambda f: f.order_id)


def change_order_impact(*, change_order: ChangeOrder, max_paths: int = MAX_PATHS) -> Impact:
    """The impact of `change_order` as things stand now (see the module's docstring)."""
    items = list(affected_items(change_order=change_order))
    components = _component_changes(items)
    graph = where_used_graph(part_ids=[item.part_id for item in items])
    used = {item.pk: graph.where_used(item.part_id, limit=max_paths) for item in items}
    ancestors = {item.pk: {a.part_id for a in used[item.pk].ancestors} for item in items}

    bought = {c.part_id for changes in components.values() for c in changes}
    bought |= {item.part_id for item in items if item.from_revision_id}
    lines = list(PurchaseOrderLine.objects.filter(
        part_id__in=bought, status__in=OPEN_PURCHASE_STATUSES,
        order__status__in=OPEN_PURCHASE_STATUSES)
        .select_related("order__plant", "order__system", "part", "unit")
        .order_by("due_date", "order__number", "line_number"))
    built = {item.part_id for item in items} | {p for ids in ancestors.values() for p in ids}
    productions = list(ProductionOrder.objects.filter(
        part_id__in=built, status__in=OPEN_PRODUCTION_STATUSES)
        .select_related("plant", "system", "part", "unit", "revision")
        .order_by("planned_start", "number"))
    own_versions = list(MBomVersion.objects.filter(
        is_current=True, mbom__revision_id__in=[i.from_revision_id for i in items
                                                if i.from_revision_id])
        .select_related("mbom__plant", "mbom__revision__part"))

    found = []
    for item in items:
        effective_from = _effective_from(item)
        changes = components.get(item.pk, ())
        kinds = {c.part_id: c.kind for c in changes}
        if item.from_revision_id:
            kinds[item.part_id] = ImpactKind.AFFECTED_PART
        found.append(ItemImpact(
            item_id=item.pk, part_id=item.part_id, part=item.part.number, kind=item.kind,
            from_revision=item.from_revision.label if item.from_revision else None,
            to_revision=item.to_revision.label if item.to_revision else None,
            effectivity=_effectivity_text(item), effective_from=effective_from,
            components=tuple(changes), where_used=used[item.pk],
            purchase_orders=tuple(_purchase_hit(line, kinds[line.part_id], effective_from)
                                  for line in lines if line.part_id in kinds),
            production_orders=tuple(
                _production_hit(order, ImpactKind.AFFECTED_PART if order.part_id == item.part_id
                                else ImpactKind.PARENT_ASSEMBLY, effective_from)
                for order in productions
                if order.part_id == item.part_id or order.part_id in ancestors[item.pk]),
            mboms=_mbom_hits(item, graph, ancestors[item.pk], own_versions)))
    return Impact(change_order_id=change_order.pk, number=change_order.number,
                  status=change_order.status, computed_at=timezone.now(), items=tuple(found))


def _effective_from(item: AffectedItem) -> date | None:
    effectivity = getattr(item.to_revision, "effectivity", None) if item.to_revision else None
    if effectivity is not None and effectivity.kind == EffectivityKind.DATE:
        return effectivity.effective_from
    return None


def _effectivity_text(item: AffectedItem) -> str:
    effectivity = getattr(item.to_revision, "effectivity", None) if item.to_revision else None
    if effectivity is not None:
        return effectivity.describe()
    return "at release" if item.to_revision is None else "(none yet)"


def _component_changes(items: list[AffectedItem]) -> dict[int, tuple[ComponentChange, ...]]:
    """Per item, the old revision's components that the new revision drops or uses in another
    quantity (orders for them may no longer be needed as they are), from the same eBOM diff the
    change order's page shows."""
    revision_ids = [r for i in items for r in (i.from_revision_id, i.to_revision_id) if r]
    snapshots = current_eboms(revision_ids=revision_ids)
    revision_of = {snapshot.pk: revision_id for revision_id, snapshot in snapshots.items()}
    by_revision: dict[int, list[EBomLineData]] = {}
    part_ids: dict[str, int] = {}
    for line in ebom_lines(ebom_ids=revision_of):
        part_ids[line.part.number] = line.part_id
        by_revision.setdefault(revision_of[line.ebom_id], []).append(EBomLineData(
            find_number=line.find_number, part=line.part.number, quantity=line.quantity,
            unit=line.unit.code, item_type=line.item_type))
    found = {}
    for item in items:
        if not item.from_revision_id:
            continue
        diff = ebom_diff(by_revision.get(item.from_revision_id, []),
                         by_revision.get(item.to_revision_id, []) if item.to_revision_id else [])
        changes = []
        for entry in diff.entries:
            if entry.kind == "removed":
                kind = ImpactKind.REMOVED_COMPONENT
            elif entry.kind == "changed" and {c.field for c in entry.changes} & {"quantity",
                                                                                  "unit"}:
                kind = ImpactKind.CHANGED_COMPONENT
            else:
                continue
            old = entry.old
            changes.append(ComponentChange(
                part_id=part_ids[old.part], part=old.part, kind=kind, old_quantity=old.quantity,
                new_quantity=entry.new.quantity if entry.new else None, unit=old.unit))
        found[item.pk] = tuple(changes)
    return found


def _purchase_hit(line: PurchaseOrderLine, kind: str,
                  effective_from: date | None) -> PurchaseOrderHit:
    order = line.order
    return PurchaseOrderHit(
        order_id=order.pk, number=order.number, system=order.system.name,
        supplier=order.supplier, plant=order.plant.code, status=order.status,
        line_number=line.line_number, part_id=line.part_id, part=line.part.number, kind=kind,
        quantity=line.quantity, open_quantity=line.open_quantity, unit=line.unit.code,
        due_date=line.due_date, against=Against.of(line.due_date, effective_from),
        effective_from=effective_from)


def _production_hit(order: ProductionOrder, kind: str,
                    effective_from: date | None) -> ProductionOrderHit:
    start = plant_date(order.plant, order.planned_start)
    return ProductionOrderHit(
        order_id=order.pk, number=order.number, system=order.system.name,
        plant=order.plant.code, status=order.status, part_id=order.part_id,
        part=order.part.number, kind=kind, quantity=order.quantity, unit=order.unit.code,
        planned_start=order.planned_start, planned_end=order.planned_end, start_date=start,
        against=Against.of(start, effective_from), effective_from=effective_from,
        revision=order.revision.label if order.revision else None,
        mbom_version_id=order.mbom_version_id)


def _mbom_hits(item: AffectedItem, graph: UpwardGraph, ancestors: set[int],
               own_versions: list[MBomVersion]) -> tuple[MBomHit, ...]:
    hits: dict[int, MBomHit] = {}
    for version in own_versions:
        if version.mbom.revision_id == item.from_revision_id:
            hits[version.pk] = MBomHit(plant=version.mbom.plant.code, part=item.part.number,
                                       revision=version.mbom.revision.label,
                                       version_id=version.pk, version_number=version.number,
                                       via=())
    via: dict[int, set[str]] = {}
    edges = {}
    for child in {item.part_id} | ancestors:
        for edge in graph.edges.get(child, ()):
            if edge.source == MBOM and edge.parent in ancestors:
                via.setdefault(edge.mbom_version_id, set()).add(graph.numbers[child])
                edges[edge.mbom_version_id] = edge
    for version_id, edge in edges.items():
        hits[version_id] = MBomHit(plant=edge.plant, part=graph.numbers[edge.parent],
                                   revision=edge.revision_label, version_id=version_id,
                                   version_number=edge.mbom_version_number,
                                   via=tuple(sorted(via[version_id])))
    return tuple(sorted(hits.values(), key=lambda h: (h.plant, h.part, h.revision)))

