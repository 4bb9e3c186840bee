"""Reads of the shop floor's feedback (docs/feedback.md)."""

from __future__ import annotations

from django.db.models import QuerySet

from thread.flows.models import ExternalSystem

from .models import OperationResult, OrderProgress, QualityEvent, RollupDay


def operation_results_list(*, system: ExternalSystem | None = None) -> QuerySet[OperationResult]:
    """Results, newest first; an MES sees those of its own work orders."""
    results = OperationResult.objects.select_related(
        "work_order", "plant", "revision__part", "operation", "work_center", "corrects")
    if system is not None and system.kind == "mes":
        results = results.filter(work_order__mes_system=system)
    return results.order_by("-id")


def quality_events_list(*, system: ExternalSystem | None = None) -> QuerySet[QualityEvent]:
    events = QualityEvent.objects.select_related("work_order", "plant", "revision__part")
    if system is not None and system.kind == "mes":
        events = events.filter(system=system)
    return events.order_by("-id")


def rollup_days_list() -> QuerySet[RollupDay]:
    return RollupDay.objects.select_related("plant", "revision__part").order_by("-id")


def order_progress_list() -> QuerySet[OrderProgress]:
    """What ERPs reported of their orders' progress, newest first."""
    return OrderProgress.objects.select_related(
        "production_order", "system", "plant", "revision__part").order_by("-id")
