"""Alerts back to engineering (docs/feedback.md, "Alerts to the PLM"): checked in the
transaction of each result and quality event, right after its roll-up.

- yield: the first-pass yield of the revision's operation at the plant, over the threshold's
  window (plant-local days up to the result's day), under the target;
- run time: actual run time per unit over standard above the factor;
- a defect code not seen before on the revision (at any plant).

A yield or run-time alert is raised once per crossing: it stays raised while the figures stay
outside, clears when they are back, and only a later crossing raises a new one. Each alert is an
outbound message to every PLM Thread sends to (topic `feedback.alert`), caused by the result or
event, on the revision's ordering key — in order per revision, never twice for one crossing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.db.models import Q
from django.utils import timezone

from thread.flows.choices import SystemKind
from thread.flows.models import ExternalSystem
from thread.flows.outbox import outbound_message_write

from .choices import AlertKind
from .models import FeedbackAlert, FeedbackThreshold, OperationResult, QualityEvent, RollupDay
from .rollups import Figures

TOPIC = "feedback.alert"


def threshold_for(*, plant_id: int, part_id: int) -> FeedbackThreshold | None:
    """The part's own threshold at the plant, else the plant's default."""
    found = {t.part_id: t for t in FeedbackThreshold.objects.filter(
        Q(part_id=part_id) | Q(part__isnull=True), plant_id=plant_id)}
    return found.get(part_id) or found.get(None)


def result_thresholds_check(result: OperationResult) -> list[FeedbackAlert]:
    threshold = threshold_for(plant_id=result.plant_id, part_id=result.revision.part_id)
    if threshold is None:
        return []
    start = result.day - timedelta(days=threshold.window_days - 1)
    figures = Figures()
    for day in RollupDay.objects.filter(plant_id=result.plant_id, revision_id=result.revision_id,
                                        operation_code=result.operation_code, day__gte=start,
                                        day__lte=result.day):
        figures.add(day)
    raised = []
    checks = ((AlertKind.LOW_YIELD, threshold.min_first_pass_yield, figures.first_pass_yield,
               lambda measured, limit: measured < limit, "first-pass yield"),
              (AlertKind.SLOW_RUN, threshold.max_run_vs_standard, figures.run_vs_standard,
               lambda measured, limit: measured > limit, "run time over standard"))
    for kind, limit, measured, crossed, what in checks:
        if limit is None or measured is None:
            continue
        current = FeedbackAlert.objects.select_for_update(of=("self",)).filter(
            kind=kind, plant_id=result.plant_id, revision_id=result.revision_id,
            operation_code=result.operation_code, cleared_at__isnull=True).first()
        if crossed(measured, limit) and current is None:
            raised.append(_raise(
                kind=kind, plant=result.plant, revision=result.revision,
                operation_code=result.operation_code, measured=measured, threshold=limit,
                window=(start, result.day), result=result,
                detail=f"{result.revision} at {result.plant.code}, operation "
                       f"{result.operation_code}: {what} {measured} over {start} to "
                       f"{result.day} (threshold {limit})."))
        elif not crossed(measured, limit) and current is not None:
            current.cleared_at = timezone.now()
            current.save(update_fields=["cleared_at"])
    return raised


def event_novelty_check(event: QualityEvent) -> FeedbackAlert | None:
    """A defect code the revision never had before (at any plant)."""
    seen = QualityEvent.objects.filter(revision_id=event.revision_id,
                                       defect_code=event.defect_code).exclude(pk=event.pk)
    if seen.exists() or FeedbackAlert.objects.filter(
            kind=AlertKind.NEW_DEFECT, revision_id=event.revision_id,
            defect_code=event.defect_code).exists():
        return None
    return _raise(kind=AlertKind.NEW_DEFECT, plant=event.plant, revision=event.revision,
                  operation_code=event.operation_code, defect_code=event.defect_code,
                  measured=event.quantity, threshold=None, window=(event.day, event.day),
                  quality_event=event,
                  detail=f"{event.revision} at {event.plant.code}: defect {event.defect_code} "
                         f"({event.quantity}) for the first time"
                         + (f", operation {event.operation_code}" if event.operation_code else "")
                         + (f": {event.description}" if event.description else "."))


def _raise(*, kind: str, plant, revision, operation_code: str, measured: Decimal | None,
           threshold: Decimal | None, window, detail: str, defect_code: str = "",
           result: OperationResult | None = None,
           quality_event: QualityEvent | None = None) -> FeedbackAlert:
    alert = FeedbackAlert.objects.create(
        kind=kind, plant=plant, revision=revision,
        operation_code="" if kind == AlertKind.NEW_DEFECT else operation_code,
        defect_code=defect_code, measured=measured, threshold=threshold,
        window_start=window[0], window_end=window[1], detail=detail, result=result,
        quality_event=quality_event, raised_at=timezone.now())
    payload = {"alert": alert.pk, "kind": kind, "part": revision.part.number,
               "revision": revision.label, "plant": plant.code, "operation": operation_code,
               "defect_code": defect_code,
               "measured": None if measured is None else str(measured),
               "threshold": None if threshold is None else str(threshold),
               "window": {"from": window[0].isoformat(), "to": window[1].isoformat()},
               "detail": detail}
    for plm in ExternalSystem.objects.filter(kind=SystemKind.PLM, enabled=True).exclude(
            connector=""):
        outbound_message_write(system=plm, topic=TOPIC, payload=payload, about=alert,
                               cause=result or quality_event,
                               ordering_key=f"revision:{revision.part.number}|{revision.label}")
    return alert
