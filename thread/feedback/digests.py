"""The digest to engineering (docs/feedback.md, "Digest"): per design revision and plant with
results in the period, the period's figures — in all and per operation — as one outbound
message to every PLM Thread sends to. The period is the THREAD_FEEDBACK_DIGEST_DAYS plant-local
days up to yesterday; the schedule runs weekly (setup_thread; its cadence is the django-q2
schedule's, editable in the admin). A digest is recorded with the message in one transaction and
is unique per revision, plant and period end: a second run of the same period sends nothing."""

from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from thread.catalog.effectivity import plant_today
from thread.catalog.models import Plant
from thread.flows.choices import SystemKind
from thread.flows.models import ExternalSystem
from thread.flows.outbox import outbound_message_write

from .models import FeedbackDigest, RollupDay
from .rollups import Figures

TOPIC = "feedback.digest"


def digests_send(*, days: int | None = None) -> int:
    """Send the digests of the period just ended at each plant; returns how many were sent."""
    days = days or settings.THREAD_FEEDBACK_DIGEST_DAYS
    plms = list(ExternalSystem.objects.filter(kind=SystemKind.PLM, enabled=True)
                .exclude(connector=""))
    sent = 0
    for plant in Plant.objects.all():
        end = plant_today(plant) - timedelta(days=1)
        start = end - timedelta(days=days - 1)
        by_revision: dict[int, list[RollupDay]] = {}
        for day in RollupDay.objects.filter(plant=plant, day__gte=start, day__lte=end):
            by_revision.setdefault(day.revision_id, []).append(day)
        for days_of_revision in by_revision.values():
            sent += _digest(plant, days_of_revision, start, end, plms)
    return sent


def _digest(plant: Plant, days: list[RollupDay], start: date, end: date,
            plms: list[ExternalSystem]) -> int:
    revision = days[0].revision
    total, by_operation = Figures(), {}
    for day in days:
        total.add(day)
        by_operation.setdefault(day.operation_code, Figures()).add(day)
    figures = {"total": total.as_data(),
               "by_operation": {code: f.as_data() for code, f in sorted(by_operation.items())}}
    try:
        with transaction.atomic():
            digest = FeedbackDigest.objects.create(plant=plant, revision=revision,
                                                   period_start=start, period_end=end,
                                                   figures=figures, sent_at=timezone.now())
            payload = {"part": revision.part.number, "revision": revision.label,
                       "plant": plant.code, "from": start.isoformat(), "to": end.isoformat(),
                       **figures}
            for plm in plms:
                outbound_message_write(
                    system=plm, topic=TOPIC, payload=payload, about=digest, cause=None,
                    ordering_key=f"revision:{revision.part.number}|{revision.label}")
    except IntegrityError:  # this period's digest was sent already
        return 0
    return 1
