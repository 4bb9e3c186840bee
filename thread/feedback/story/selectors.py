"""One part revision's story, read as plain data (docs/feedback.md, "The thread page").

Now, or **as recorded at a moment** (`at`): what existed then, as it stood then. Immutable
things carry their own time (eBOM snapshots, rule-set, mBOM and routing versions, approvals,
change-order events, results, messages); what changes is read from its history table as of the
moment (the revision's status, change orders, production and work orders, impact flags, drift
findings). Nothing recorded after the moment shows.

A fixed number of queries, whatever the revision's number of orders, results and messages: the
lists hold the newest `LIMIT` with their totals, figures come from the roll-up days (now) or the
raw results (at a moment), names and links from lookups made once per section."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db.models import CharField, Model, Q, QuerySet
from django.db.models.functions import Cast
from django.urls import reverse

from thread.bom.models import EBom, EBomLine, MappingRuleSetVersion, MBomVersion
from thread.catalog.effectivity import plant_date, plant_today
from thread.catalog.models import PartRevision, Plant, PlantPart
from thread.changes.choices import ChangeOrderStatus
from thread.changes.models import AffectedItem, Approval, ChangeOrder, ChangeOrderEvent, ImpactFlag
from thread.errors import DomainError
from thread.flows.models import DriftFinding, OutboundMessage
from thread.orders.choices import RoutingStatus
from thread.orders.models import ProductionOrder, RoutingOperation, RoutingVersion, WorkOrder

from ..effects import change_order_effects
from ..models import FeedbackAlert, QualityEvent, RollupDay
from ..rollups import Figures
from ..services import rollups_recomputed

LIMIT = 50  # orders, messages, flags, findings: the newest, with the totals
TIMELINE = 200


class NotRecordedThen(DomainError):
    """The revision did not exist at the moment asked for."""


@dataclass(frozen=True)
class Moment:
    """Now (`at` None) or a recorded moment; filters what existed then."""

    at: datetime | None

    def upto(self, field: str) -> Q:
        return Q(**{f"{field}__lte": self.at}) if self.at is not None else Q()

    def of(self, model: type[Model]) -> QuerySet:
        """The model's rows as they stood: now, its rows; at a moment, the latest history
        record of each row up to then, unless that record is its deletion. Read them by `id`,
        not `pk` (a history record's primary key is its own). Records, not instances rebuilt
        from them: an instance loads any field the history leaves out, one query per row."""
        if self.at is None:
            return model.objects.all()
        return model.history.filter(history_date__lte=self.at).latest_of_each() \
            .exclude(history_type="-")

    def passed(self, when: datetime | None) -> bool:
        return when is not None and (self.at is None or when <= self.at)


def _admin(model: type[Model] | Model, pk: Any) -> str:
    meta = model._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[pk])


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def revision_by_key(part: str, label: str) -> PartRevision | None:
    return PartRevision.objects.select_related("part").filter(part__number=part,
                                                              label=label).first()


def revision_story(*, revision: PartRevision, at: datetime | None = None) -> dict[str, Any]:
    """The whole story of one revision (see the module docstring)."""
    moment = Moment(at)
    then = _revision_then(revision, moment)
    ebom = _ebom(revision, moment)
    changes = _change_orders(revision, moment)
    plants = _plants(revision, moment)
    orders = _orders(revision, moment)
    messages = _messages(revision, plants, moment)
    flags = _impact_flags(revision, changes, moment)
    drift = _drift(messages["mbom_message_ids"], moment)
    feedback = _feedback(revision, plants, moment)
    feedback["change_effects"] = _change_effects(revision, changes, moment)
    timeline = _timeline(revision, ebom, changes, plants, orders, flags, feedback, moment)
    part = revision.part
    return _named({
        "at": at, "part": part.number, "name": part.name, "revision": revision.label,
        "status": then["status"], "released_at": then["released_at"],
        "released_by_id": then["released_by_id"], "description": then["description"],
        "links": {"revision": _admin(PartRevision, revision.pk),
                  "part": _admin(type(part), part.pk)},
        "ebom": ebom, "change_orders": changes, "plants": plants["list"],
        "production_orders": orders["list"], "production_order_total": orders["total"],
        "messages": messages["list"], "message_total": messages["total"],
        "message_statuses": messages["statuses"],
        "impact_flags": flags["list"], "impact_flag_total": flags["total"],
        "drift_findings": drift["list"], "drift_finding_total": drift["total"],
        "feedback": feedback, "timeline": timeline,
    })


def _named(story: dict[str, Any]) -> dict[str, Any]:
    """Every `…_id` naming a user (`released_by_id`, `actor_id`, …) becomes the user's name
    (`released_by`, `actor`), from one lookup; an approver the PLM named keeps that name."""
    found: set[int] = set()

    def walk(node: Any, visit) -> None:
        if isinstance(node, dict):
            for key in [k for k in node if k in _USER_KEYS]:
                visit(node, key)
            for value in node.values():
                walk(value, visit)
        elif isinstance(node, list):
            for value in node:
                walk(value, visit)

    walk(story, lambda node, key: found.add(node[key]) if node[key] is not None else None)
    names = dict(get_user_model().objects.filter(pk__in=found).values_list("pk", "username"))

    def rename(node: dict[str, Any], key: str) -> None:
        user_id = node.pop(key)
        named = _USER_KEYS[key]
        node[named] = node.get(named) or names.get(user_id, "")

    walk(story, rename)
    return story


_USER_KEYS = {"released_by_id": "released_by", "created_by_id": "created_by",
              "actor_id": "actor", "approver_id": "approver"}


# --- The revision and its eBOM -----------------------------------------------------------------

def _revision_then(revision: PartRevision, moment: Moment) -> dict[str, Any]:
    row: Any = revision
    if moment.at is not None:
        row = revision.history.filter(history_date__lte=moment.at) \
            .order_by("-history_date", "-history_id").first()
        if row is None or row.history_type == "-":
            raise NotRecordedThen(f"{revision} was not recorded yet at {moment.at.isoformat()}.")
    return {"status": row.status, "released_at": row.released_at,
            "released_by_id": row.released_by_id, "description": row.description}


def _ebom(revision: PartRevision, moment: Moment) -> dict[str, Any]:
    snapshots = list(EBom.objects.filter(Q(revision=revision) & moment.upto("created_at"))
                     .order_by("number"))
    current = snapshots[-1] if snapshots else None
    lines = [] if current is None else [
        {"find_number": line.find_number, "part": line.part.number, "name": line.part.name,
         "quantity": line.quantity, "unit": line.unit.code, "item_type": line.item_type}
        for line in EBomLine.objects.filter(ebom=current).select_related("part", "unit")]
    return {"snapshot": current.number if current else None,
            "snapshots": [{"number": s.number, "created_at": s.created_at,
                           "created_by_id": s.created_by_id, "reason": s.reason,
                           "line_count": s.line_count,
                           "link": _admin(EBom, s.pk)} for s in snapshots],
            "lines": lines}


# --- Change orders --------------------------------------------------------------------------

def _change_orders(revision: PartRevision, moment: Moment) -> list[dict[str, Any]]:
    """The change orders that bring this revision in or take it out, with their approvals."""
    items = list(moment.of(AffectedItem).filter(
        Q(to_revision_id=revision.pk) | Q(from_revision_id=revision.pk)))
    orders = {order.id: order for order in moment.of(ChangeOrder).filter(
        id__in={item.change_order_id for item in items})}
    labels = dict(PartRevision.objects.filter(
        pk__in={i.from_revision_id for i in items} | {i.to_revision_id for i in items})
        .values_list("pk", "label"))
    approvals: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for approval in Approval.objects.filter(Q(change_order_id__in=orders) & moment.upto("at")):
        approvals[approval.change_order_id].append({
            "stage": approval.stage_name, "round": approval.review_round,
            "decision": approval.decision, "approver_id": approval.approver_id,
            "approver": approval.external_approver, "at": approval.at,
            "comment": approval.comment})
    events: dict[int, list[ChangeOrderEvent]] = defaultdict(list)
    for event in ChangeOrderEvent.objects.filter(Q(change_order_id__in=orders)
                                                 & moment.upto("at")):
        events[event.change_order_id].append(event)
    out = []
    for item in sorted(items, key=lambda i: i.change_order_id):
        order = orders.get(item.change_order_id)
        if order is None:
            continue
        out.append({
            "number": order.number, "title": order.title, "status": order.status,
            "role": "introduces" if item.to_revision_id == revision.pk else "replaces",
            "from_revision": labels.get(item.from_revision_id),
            "to_revision": labels.get(item.to_revision_id),
            "released_at": order.released_at if moment.passed(order.released_at) else None,
            "approvals": approvals[order.id], "events": events[order.id],
            "link": _admin(ChangeOrder, order.id)})
    return out


# --- Per plant: mBOM versions, rule-set versions, routings ---------------------------------

def _plants(revision: PartRevision, moment: Moment) -> dict[str, Any]:
    versions = list(MBomVersion.objects.filter(Q(mbom__revision=revision)
                                               & moment.upto("created_at"))
                    .select_related("mbom__plant", "rule_set_version__rule_set__plant")
                    .order_by("mbom_id", "number"))
    routing_versions = list(RoutingVersion.objects.filter(
        Q(routing__part_id=revision.part_id, status=RoutingStatus.RELEASED)
        & moment.upto("released_at")).select_related("routing__plant")
        .order_by("routing_id", "number"))
    order_plants = set(moment.of(ProductionOrder).filter(revision_id=revision.pk)
                       .values_list("plant_id", flat=True).distinct())
    # A plant with published rules generates the mBOM of every released product not inactive
    # there (docs/mbom.md): its rules are part of the story even before the first version.
    rule_sets: dict[int, MappingRuleSetVersion] = {}
    for version in MappingRuleSetVersion.objects.filter(
            Q(published_at__isnull=False) & moment.upto("published_at")) \
            .select_related("rule_set__plant").order_by("-published_at"):
        rule_sets.setdefault(version.rule_set.plant_id, version)
    plant_ids = {v.mbom.plant_id for v in versions} | {v.routing.plant_id
                                                       for v in routing_versions} \
        | order_plants | (set(rule_sets) - set(moment.of(PlantPart).filter(
            part_id=revision.part_id, active=False).values_list("plant_id", flat=True)))
    plants = {p.pk: p for p in Plant.objects.filter(pk__in=plant_ids)}
    out = []
    for plant_id in sorted(plants, key=lambda pk: plants[pk].code):
        plant = plants[plant_id]
        mine = [v for v in versions if v.mbom.plant_id == plant_id]
        routings = [v for v in routing_versions if v.routing.plant_id == plant_id]
        current_rules = rule_sets.get(plant_id)
        out.append({
            "plant": plant.code, "name": plant.name,
            "rule_set_version": None if current_rules is None else {
                "number": current_rules.number, "published_at": current_rules.published_at,
                "link": _admin(MappingRuleSetVersion, current_rules.pk)},
            "mbom_versions": [{
                "number": v.number, "current": v is mine[-1], "created_at": v.created_at,
                "created_by_id": v.created_by_id, "reason": v.reason, "as_of": v.as_of,
                "line_count": v.line_count, "rule_set_version": v.rule_set_version.number,
                "rule_set_link": _admin(MappingRuleSetVersion, v.rule_set_version_id),
                "link": _admin(MBomVersion, v.pk),
                "lineage": reverse("admin:bom_mbom_accountability", args=[v.mbom_id]),
                "id": v.pk} for v in mine],
            "routing_versions": [{
                "number": v.number, "effective_from": v.effective_from,
                "released_at": v.released_at, "released_by_id": v.released_by_id,
                "reason": v.reason, "in_effect": v is _in_effect(routings, plant, moment.at),
                "link": _admin(RoutingVersion, v.pk), "id": v.pk} for v in routings],
        })
    return {"list": out, "versions": versions, "routing_versions": routing_versions,
            "rule_sets": rule_sets, "plants": plants}


def _in_effect(versions: list[RoutingVersion], plant: Plant,
               at: datetime | None) -> RoutingVersion | None:
    """The released version whose effective date (at the plant) is the latest one reached."""
    day = plant_date(plant, at) if at is not None else plant_today(plant)
    reached = [v for v in versions if v.effective_from <= day]
    return reached[-1] if reached else None


# --- Orders ---------------------------------------------------------------------------------

def _orders(revision: PartRevision, moment: Moment) -> dict[str, Any]:
    """The newest production orders built from this revision, each with its work orders and the
    exact versions they were built from."""
    orders_then = moment.of(ProductionOrder).filter(revision_id=revision.pk)
    total = orders_then.count()
    orders = list(orders_then.order_by("-planned_start", "-id")[:LIMIT])
    work_orders = list(moment.of(WorkOrder).filter(
        production_order_id__in=[o.id for o in orders]).order_by("id"))
    mbom_versions = {v.pk: v for v in MBomVersion.objects.filter(
        pk__in={o.mbom_version_id for o in orders} | {w.mbom_version_id for w in work_orders})
        .select_related("mbom")}
    rule_sets = dict(MappingRuleSetVersion.objects.filter(
        pk__in={w.rule_set_version_id for w in work_orders}).values_list("pk", "number"))
    routings = dict(RoutingVersion.objects.filter(
        pk__in={w.routing_version_id for w in work_orders}).values_list("pk", "number"))
    plants = dict(Plant.objects.filter(pk__in={o.plant_id for o in orders})
                  .values_list("pk", "code"))
    by_order: dict[int, list[WorkOrder]] = defaultdict(list)
    for work_order in work_orders:
        by_order[work_order.production_order_id].append(work_order)

    def mbom(pk: int | None) -> dict[str, Any] | None:
        version = mbom_versions.get(pk)
        return None if version is None else {
            "number": version.number, "link": _admin(MBomVersion, pk),
            "lineage": reverse("admin:bom_mbom_accountability", args=[version.mbom_id])}

    listed = [{
        "number": order.number, "plant": plants.get(order.plant_id), "quantity": order.quantity,
        "status": order.status, "erp_status": order.erp_status,
        "planned_start": order.planned_start, "planned_end": order.planned_end,
        "mbom_version": mbom(order.mbom_version_id), "link": _admin(ProductionOrder, order.id),
        "id": order.id,
        "work_orders": [{
            "number": w.number, "status": w.status, "sent_at": _passed(moment, w.sent_at),
            "finished_at": _passed(moment, w.finished_at), "mbom_version": mbom(w.mbom_version_id),
            "rule_set_version": None if w.rule_set_version_id is None else {
                "number": rule_sets.get(w.rule_set_version_id),
                "link": _admin(MappingRuleSetVersion, w.rule_set_version_id)},
            "routing_version": None if w.routing_version_id is None else {
                "number": routings.get(w.routing_version_id),
                "link": _admin(RoutingVersion, w.routing_version_id)},
            "link": _admin(WorkOrder, w.id), "id": w.id} for w in by_order[order.id]],
    } for order in orders]
    return {"list": listed, "total": total, "orders": orders, "work_orders": work_orders}


def _passed(moment: Moment, when: datetime | None) -> datetime | None:
    return when if moment.passed(when) else None


# --- Messages, impact flags, drift ----------------------------------------------------------

def _messages(revision: PartRevision, plants: dict[str, Any],
              moment: Moment) -> dict[str, Any]:
    """What was sent to whom about this revision: its mBOM versions, its work orders (the
    documents, changes and completions), and the feedback told to the PLM."""
    kinds = ContentType.objects.get_for_models(MBomVersion, WorkOrder, FeedbackAlert)
    # Every work order of the revision, not only the listed ones: the totals count them all
    # (subqueries, so the query count stays fixed; a message names its object as text).
    work_orders = WorkOrder.objects.filter(revision=revision)
    through = WorkOrder.outbound_messages.through
    about = (Q(about_type=kinds[MBomVersion],
               about_id__in=[str(v.pk) for v in plants["versions"]])
             | Q(about_type=kinds[WorkOrder], about_id__in=_ids_as_text(work_orders))
             | Q(about_type=kinds[FeedbackAlert], about_id__in=_ids_as_text(
                 FeedbackAlert.objects.filter(revision=revision)))
             | Q(pk__in=through.objects.filter(workorder__in=work_orders)
                 .values("outboundmessage_id")))
    messages = OutboundMessage.objects.filter(about & moment.upto("created_at"))
    statuses: dict[str, int] = defaultdict(int)
    rows = list(messages.select_related("system").order_by("-created_at", "-id")
                .values("pk", "topic", "system__name", "status", "created_at", "delivered_at",
                        "finished_at", "ordering_key", "about_type_id"))
    mbom_ids = [row["pk"] for row in rows if row["about_type_id"] == kinds[MBomVersion].pk]
    for row in rows:
        row["status"] = _status_then(row, moment)
        statuses[row["status"]] += 1
    return {"list": [{"topic": r["topic"], "system": r["system__name"], "status": r["status"],
                      "created_at": r["created_at"],
                      "delivered_at": _passed(moment, r["delivered_at"]),
                      "ordering_key": r["ordering_key"],
                      "link": reverse("flows-monitor:message", args=[r["pk"]])}
                     for r in rows[:LIMIT]],
            "total": len(rows), "statuses": dict(statuses), "mbom_message_ids": mbom_ids}


def _ids_as_text(rows: QuerySet) -> QuerySet:
    return rows.order_by().annotate(id_text=Cast("id", CharField())).values("id_text")


def _status_then(row: dict[str, Any], moment: Moment) -> str:
    """A message's status at the moment: delivered once delivered, its final status once
    finished, and on its way before that."""
    if moment.at is None:
        return row["status"]
    if moment.passed(row["delivered_at"]):
        return "delivered"
    if moment.passed(row["finished_at"]):
        return row["status"]
    return "pending"


def _impact_flags(revision: PartRevision, changes: list[dict[str, Any]],
                  moment: Moment) -> dict[str, Any]:
    """The flags raised on this revision's orders, and by its change orders."""
    order_ids = ProductionOrder.objects.filter(revision=revision).values_list("pk", flat=True)
    flags = moment.of(ImpactFlag).filter(
        Q(production_order_id__in=order_ids)
        | Q(change_order__number__in=[c["number"] for c in changes]))
    total = flags.count()
    listed = list(flags.order_by("-raised_at", "-id")[:LIMIT])
    numbers = dict(ChangeOrder.objects.filter(pk__in={f.change_order_id for f in listed})
                   .values_list("pk", "number"))
    orders = dict(ProductionOrder.objects.filter(pk__in={f.production_order_id for f in listed})
                  .values_list("pk", "number"))
    return {"total": total, "flags": listed, "list": [{
        "change_order": numbers.get(flag.change_order_id), "kind": flag.kind,
        "production_order": orders.get(flag.production_order_id),
        "purchase_order_id": flag.purchase_order_id, "status": flag.status,
        "summary": flag.summary, "raised_at": flag.raised_at,
        "link": _admin(ImpactFlag, flag.id)} for flag in listed]}


def _drift(mbom_message_ids: Iterable[int], moment: Moment) -> dict[str, Any]:
    findings = moment.of(DriftFinding).filter(message_id__in=list(mbom_message_ids))
    total = findings.count()
    listed = list(findings.order_by("-first_seen_at", "-id")[:LIMIT])
    systems = dict(OutboundMessage.objects.filter(pk__in={f.message_id for f in listed})
                   .values_list("pk", "system__name"))
    return {"total": total, "list": [{
        "system": systems.get(f.message_id), "object": f.object, "field": f.field,
        "thread_value": f.thread_value, "peer_value": f.peer_value, "status": f.status,
        "first_seen_at": f.first_seen_at} for f in listed]}


# --- Results, roll-ups, alerts ----------------------------------------------------------------

def _feedback(revision: PartRevision, plants: dict[str, Any], moment: Moment) -> dict[str, Any]:
    """Per plant and operation: the figures, a daily series for the charts, scrap by reason
    (largest first) and defects; the alerts told to the PLM."""
    days: list[tuple[int, str, date, Figures]] = []
    if moment.at is None:
        for row in RollupDay.objects.filter(revision=revision):
            days.append((row.plant_id, row.operation_code, row.day, Figures().add(row)))
    else:
        for key, figures in rollups_recomputed(revision=revision, at=moment.at).items():
            days.append((key.plant_id, key.operation_code, key.day, figures))
    codes = dict(Plant.objects.filter(pk__in={d[0] for d in days}).values_list("pk", "code"))
    sequence = _operation_sequence(plants["routing_versions"])
    per_operation: dict[tuple[str, str], Figures] = defaultdict(Figures)
    series: dict[tuple[str, str], dict[date, Figures]] = defaultdict(lambda: defaultdict(Figures))
    total = Figures()
    for plant_id, operation, day, figures in days:
        where = (codes[plant_id], operation)
        per_operation[where].add(figures)
        series[where][day].add(figures)
        total.add(figures)
    operations = sorted(per_operation, key=lambda w: (w[0], sequence.get(w[1], 10**6), w[1]))
    alerts = list(FeedbackAlert.objects.filter(Q(revision=revision) & moment.upto("raised_at"))
                  .select_related("plant").order_by("-raised_at", "-id")[:LIMIT])
    return {
        "total": _figures(total),
        "operations": [{"plant": plant, "operation": operation or None,
                        "figures": _figures(per_operation[(plant, operation)]),
                        "days": [{"day": day, "first_pass_yield": f.first_pass_yield,
                                  "run_per_unit_mean": f.run_per_unit_mean,
                                  "run_vs_standard": f.run_vs_standard,
                                  "good_quantity": f.good_quantity,
                                  "scrap_quantity": f.scrap_quantity}
                                 for day, f in sorted(series[(plant, operation)].items())]}
                       for plant, operation in operations],
        "scrap_by_reason": _pareto(total.scrap_by_reason),
        "defects": _pareto(total.defects),
        "alerts": [{"kind": a.kind, "plant": a.plant.code, "operation": a.operation_code,
                    "defect_code": a.defect_code, "measured": a.measured,
                    "threshold": a.threshold, "detail": a.detail, "raised_at": a.raised_at,
                    "cleared_at": _passed(moment, a.cleared_at),
                    "link": _admin(FeedbackAlert, a.pk)} for a in alerts],
        "alert_rows": alerts,
    }


def _change_effects(revision: PartRevision, changes: list[dict[str, Any]],
                    moment: Moment) -> list[dict[str, Any]]:
    """Did the change that brought this revision in help? Its before/after per plant
    (feedback.effects), now only: the comparison windows run up to today."""
    if moment.at is not None:
        return []
    released = [c["number"] for c in changes
                if c["role"] == "introduces" and c["status"] == ChangeOrderStatus.RELEASED]
    out = []
    for change_order in ChangeOrder.objects.filter(number__in=released):
        for effect in change_order_effects(change_order=change_order):
            if effect.part != revision.part.number:
                continue
            out.append({"change_order": change_order.number, "plant": effect.plant.code,
                        "comparable": effect.comparable,
                        "before": {"revision": effect.before.revision.label,
                                   "start": effect.before.start, "end": effect.before.end},
                        "after": {"revision": effect.after.revision.label,
                                  "start": effect.after.start, "end": effect.after.end},
                        "changes": effect.changes()})
    return out


def _figures(figures: Figures) -> dict[str, Any]:
    return {"results": figures.results, "good_quantity": figures.good_quantity,
            "scrap_quantity": figures.scrap_quantity,
            "first_pass_yield": figures.first_pass_yield,
            "run_per_unit_mean": figures.run_per_unit_mean,
            "run_vs_standard": figures.run_vs_standard,
            "setup_mean": figures.setup_mean, "quality_events": figures.quality_events}


def _pareto(quantities: dict[str, Any]) -> list[dict[str, Any]]:
    """Largest first, each with the cumulative share of the whole (a Pareto chart's line)."""
    whole = sum(quantities.values())
    running, out = 0, []
    for code, quantity in sorted(quantities.items(), key=lambda kv: (-kv[1], kv[0])):
        running += quantity
        out.append({"code": code or "(no reason)", "quantity": quantity,
                    "cumulative_share": (running / whole).quantize(quantity.__class__("0.0001"))
                    if whole else None})
    return out


def _operation_sequence(routing_versions: list[RoutingVersion]) -> dict[str, int]:
    sequence: dict[str, int] = {}
    for operation in RoutingOperation.objects.filter(
            version__in=routing_versions).order_by("version_id", "sequence"):
        sequence.setdefault(operation.operation_code, operation.sequence)
    return sequence


# --- Who did what, when and why -------------------------------------------------------------

def _timeline(revision: PartRevision, ebom: dict[str, Any], changes: list[dict[str, Any]],
              plants: dict[str, Any], orders: dict[str, Any], flags: dict[str, Any],
              feedback: dict[str, Any], moment: Moment) -> list[dict[str, Any]]:
    """Every step of the story with its actor and reason, newest first (the newest
    `TIMELINE`): from the history tables and the immutable versions' own who/when/why."""
    entries: list[dict[str, Any]] = []

    def add(at: datetime | None, actor_id: int | None, what: str, why: str = "",
            link: str = "") -> None:
        if moment.passed(at):
            entries.append({"at": at, "actor_id": actor_id, "what": what, "why": why,
                            "link": link})

    for row in revision.history.filter(moment.upto("history_date")):
        add(row.history_date, row.history_user_id,
            f"{revision.part.number} rev {revision.label}: {_CHANGE[row.history_type]}, "
            f"status {row.status}",
            row.history_change_reason or "", _admin(PartRevision, revision.pk))
    for snapshot in ebom["snapshots"]:
        add(snapshot["created_at"], snapshot["created_by_id"],
            f"eBOM snapshot {snapshot['number']} ({snapshot['line_count']} lines)",
            snapshot["reason"], snapshot["link"])
    for change in changes:
        for event in change.pop("events"):
            add(event.at, event.actor_id, f"{change['number']}: {event.get_kind_display()}",
                event.reason, change["link"])
    rule_sets = {v.rule_set_version_id: v.rule_set_version for v in plants["versions"]}
    for rules in (*rule_sets.values(), *plants["rule_sets"].values()):
        rule_sets.setdefault(rules.pk, rules)
    for rules in rule_sets.values():
        add(rules.published_at, rules.published_by_id,
            f"{rules.rule_set.plant.code} rules v{rules.number} published", rules.reason,
            _admin(MappingRuleSetVersion, rules.pk))
    for version in plants["versions"]:
        add(version.created_at, version.created_by_id,
            f"mBOM {version.mbom.plant.code} v{version.number} generated", version.reason,
            _admin(MBomVersion, version.pk))
    for version in plants["routing_versions"]:
        add(version.released_at, version.released_by_id,
            f"Routing {version.routing.plant.code} v{version.number} released", version.reason,
            _admin(RoutingVersion, version.pk))
    for row in ProductionOrder.history.filter(
            Q(id__in=[o.id for o in orders["orders"]]) & moment.upto("history_date")):
        add(row.history_date, row.history_user_id,
            f"Production order {row.number}: {_CHANGE[row.history_type]}, status {row.status}",
            row.history_change_reason or "", _admin(ProductionOrder, row.id))
    for row in WorkOrder.history.filter(
            Q(id__in=[w.id for w in orders["work_orders"]]) & moment.upto("history_date")):
        add(row.history_date, row.history_user_id,
            f"Work order {row.number}: {_CHANGE[row.history_type]}, status {row.status}",
            row.history_change_reason or "", _admin(WorkOrder, row.id))
    for flag in flags["flags"]:
        link = _admin(ImpactFlag, flag.id)
        add(flag.raised_at, flag.raised_by_id, f"Impact flag raised: {flag.summary}", "", link)
        add(flag.acknowledged_at, flag.acknowledged_by_id, "Impact flag acknowledged",
            flag.acknowledge_note, link)
        add(flag.resolved_at, flag.resolved_by_id, "Impact flag resolved",
            flag.resolution_note, link)
    for alert in feedback.pop("alert_rows"):
        add(alert.raised_at, None, f"Alert to the PLM: {alert.detail}", "",
            _admin(FeedbackAlert, alert.pk))
    for event in QualityEvent.objects.filter(Q(revision=revision) & moment.upto("recorded_at")) \
            .order_by("-recorded_at")[:LIMIT]:
        add(event.recorded_at, None, f"Quality event {event.defect_code}: {event.quantity}",
            event.description, _admin(QualityEvent, event.pk))
    entries.sort(key=lambda e: e["at"], reverse=True)
    return entries[:TIMELINE]


_CHANGE = {"+": "created", "~": "changed", "-": "deleted"}
