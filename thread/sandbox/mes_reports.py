"""The sandbox MES reports back (docs/feedback.md, "In the demo"): for a work order it received,
what a real MES would send when the order is done — a B2MML ProcessOperationsPerformance with
every operation completed and about 8 % scrap at the last one, and a quality event with a defect
code the revision has not had before.

It talks to Thread as any MES does: through the API, over HTTP, with an API key of the MES
system (issued for the report, valid for an hour, revoked afterwards), from a django-q2 worker —
so the inbox records the messages and everything downstream (roll-ups, the completed work
order's message to the ERP, alerts to the PLM) happens as in production."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.utils import timezone
from django_q.tasks import async_task

from connectors.b2mml.document import Envelope
from connectors.b2mml.performance import SegmentReport, operations_performance_xml
from thread.errors import StateConflict
from thread.flows.services import api_key_issue, api_key_revoke
from thread.orders.choices import WorkOrderStatus
from thread.orders.models import WorkOrder

TASK = "thread.sandbox.mes_reports.mes_report_results"
REPORTABLE = (WorkOrderStatus.PENDING, WorkOrderStatus.SENT, WorkOrderStatus.ACKNOWLEDGED,
              WorkOrderStatus.IN_PROGRESS)
SCRAP_REASON, NEW_DEFECT = "MISALIGNED", "FRAME-CRACK"


def reportable_work_orders():
    return (WorkOrder.objects.filter(status__in=REPORTABLE, mes_system__isnull=False)
            .select_related("plant", "part").order_by("number"))


def mes_report_request(*, work_order: WorkOrder) -> str:
    """Queue the sandbox MES's report on `work_order` for a worker; the task id."""
    if work_order.status not in REPORTABLE or work_order.mes_system_id is None:
        raise StateConflict(f"Work order {work_order.number} is "
                            f"{work_order.get_status_display().lower()}: the MES has nothing to "
                            "report on it.")
    return async_task(TASK, work_order.pk)


def _thread_url(path: str) -> str:
    """Thread's own address, as the sandbox peers are reached (THREAD_SANDBOX_BASE_URL)."""
    parts = urlsplit(settings.THREAD_SANDBOX_BASE_URL)
    return f"{parts.scheme}://{parts.netloc}{path}"


def mes_report_results(work_order_id: int) -> dict:
    """The task: the performance document and the quality event, POSTed to Thread's API."""
    work_order = WorkOrder.objects.select_related("mes_system", "plant").get(pk=work_order_id)
    operations = list(work_order.operations.select_related("work_center").order_by("sequence"))
    now = timezone.now()
    reports = []
    for index, operation in enumerate(operations):
        last = index == len(operations) - 1
        # About 8 % scrapped at the last operation: under a 95 % yield target.
        scrap = max(Decimal(2), (work_order.quantity / 12).to_integral_value()) \
            if last and work_order.quantity > 2 else Decimal(0)
        ended = now - timedelta(minutes=20 * (len(operations) - 1 - index))
        reports.append(SegmentReport(
            work_order=work_order.number, report_id=f"{work_order.number}-{operation.sequence}",
            operation=operation.sequence, started_at=ended - timedelta(minutes=15),
            ended_at=ended, completed=True, work_center=operation.work_center.code,
            good_quantity=work_order.quantity - scrap, unit="", scrap_quantity=scrap,
            scrap_reason=SCRAP_REASON if scrap else "",
            setup_minutes=operation.setup_minutes,
            run_minutes=(operation.run_minutes * work_order.quantity * Decimal("1.1"))
            .quantize(Decimal("0.01")), lot=f"LOT-{work_order.number}", serial="",
            corrects=""))
    document = operations_performance_xml(reports, envelope=Envelope(
        work_order.mes_system.name, f"perf-{work_order.number}-{uuid.uuid4().hex[:8]}", now))
    issued = api_key_issue(system=work_order.mes_system, actor=None,
                           reason="The sandbox MES reports results (demo)",
                           label="sandbox MES report", expires_at=now + timedelta(hours=1))
    headers = {"Authorization": f"Bearer {issued.raw_key}"}
    try:
        with httpx.Client(timeout=30) as client:
            results = client.post(_thread_url("/api/v1/feedback/operation-results/"),
                                  content=document,
                                  headers={**headers, "Content-Type": "application/xml",
                                           "Idempotency-Key": f"sandbox-{uuid.uuid4()}"})
            event = client.post(_thread_url("/api/v1/feedback/quality-events/"), json={
                "event_id": f"{work_order.number}-qe-1", "work_order": work_order.number,
                "operation": operations[-1].sequence if operations else None,
                "defect_code": NEW_DEFECT, "quantity": "1", "occurred_at": now.isoformat(),
                "description": "Hairline crack at the head tube weld", "disposition": "scrap"},
                headers={**headers, "Idempotency-Key": f"sandbox-{uuid.uuid4()}"})
    finally:
        api_key_revoke(api_key=issued.api_key, actor=None,
                       reason="The sandbox MES's report is done")
    return {"work_order": work_order.number, "results": results.status_code,
            "quality_event": event.status_code}
