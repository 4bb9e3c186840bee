"""Results an ERP reports at the order level (docs/feedback.md, "Results an ERP reports").

An ERP that tracks build progress (InvenTree: a build's completed quantity) is read by the
build-order poll, which hands the production orders to the orders services and their progress
here, in the same transaction: a reading is recorded when it differs from the order's last one
(an order's first reading, when it has progress at all), so a repeated poll records nothing
twice."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from thread.flows.models import ExternalSystem
from thread.history import acting_user, require_reason
from thread.orders.erp_poll import BuildProgress
from thread.orders.models import ProductionOrder

from .models import OrderProgress


def order_progress_record(*, system: ExternalSystem, readings: Sequence[BuildProgress],
                          actor: AbstractBaseUser | None, reason: str) -> list[OrderProgress]:
    """Record what the ERP says of its production orders' progress, where it changed since the
    order's last reading. The orders must exist (the poll upserts them first); the caller holds
    the transaction. Two queries and one insert."""
    reason = require_reason(reason)
    latest = OrderProgress.objects.filter(production_order=OuterRef("pk")) \
        .order_by("-read_at", "-id")
    orders = {order.number: order for order in ProductionOrder.objects
              .filter(system=system, number__in=[r.number for r in readings])
              .annotate(last_completed=Subquery(latest.values("completed_quantity")[:1]),
                        last_scrapped=Subquery(latest.values("scrapped_quantity")[:1]),
                        last_read=Subquery(latest.values("pk")[:1]))}
    now, user = timezone.now(), acting_user(actor)
    recorded = []
    for reading in readings:
        order = orders[reading.number]
        last = (order.last_completed, order.last_scrapped) if order.last_read is not None \
            else (Decimal(0), None)
        if (reading.completed_quantity, reading.scrapped_quantity or None) == \
                (last[0], last[1] or None):
            continue
        recorded.append(OrderProgress(
            production_order=order, system=system, plant_id=order.plant_id,
            revision_id=order.revision_id, completed_quantity=reading.completed_quantity,
            scrapped_quantity=reading.scrapped_quantity, read_at=now, recorded_by=user,
            reason=reason))
    return OrderProgress.objects.bulk_create(recorded)


PROGRESS_REASON = "Build progress read from the ERP"


def build_progress_record(system: ExternalSystem, readings: Sequence[BuildProgress]) -> int:
    """The build-order poll's `progress` callback: records as the system's service user."""
    return len(order_progress_record(system=system, readings=readings,
                                     actor=system.service_user, reason=PROGRESS_REASON))
