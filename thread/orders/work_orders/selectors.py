"""Reads of work orders, each owning its joins."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from thread.flows.models import DeliveryAttempt

from ..models import WorkOrder, WorkOrderMaterial, WorkOrderOperation


def work_orders_list() -> QuerySet[WorkOrder]:
    """Work orders with their lineage, operations and materials: a fixed number of queries for
    any page (the document itself is not read)."""
    materials = WorkOrderMaterial.objects.select_related("part", "unit").order_by("position")
    operations = (WorkOrderOperation.objects.select_related("work_center")
                  .prefetch_related(Prefetch("materials", queryset=materials))
                  .order_by("sequence"))
    return (WorkOrder.objects.defer("document")
            .select_related("plant", "mes_system", "part", "unit", "production_order",
                            "revision", "mbom_version", "rule_set_version", "routing_version")
            .prefetch_related(Prefetch("operations", queryset=operations)))


def work_order_delivery(work_order: WorkOrder, *, attempts: int = 50) -> tuple[list, list]:
    """The outbound messages a work order produced, and their delivery attempts (oldest first,
    up to `attempts`): two queries."""
    messages = list(work_order.outbound_messages.select_related("system").order_by("pk"))
    tried = list(DeliveryAttempt.objects.filter(message_id__in=[m.pk for m in messages])
                 .order_by("started_at")[:attempts])
    return messages, tried
