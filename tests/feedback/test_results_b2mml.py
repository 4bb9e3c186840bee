"""Results as B2MML V0701 ProcessOperationsPerformance: validated against the official schema,
parsed without DTDs or entities, every SegmentResponse a result — all or none, the pointer
naming the segment; the renderer the sandbox MES uses round-trips through the reader."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from connectors.b2mml.document import Envelope
from connectors.b2mml.performance import (
    SegmentReport,
    operations_performance_xml,
    parse_operations_performance,
)
from connectors.b2mml.validate import validate_xml
from thread.feedback.models import OperationResult, RollupDay

from ..conftest import problem
from .conftest import RESULTS


def report(**fields) -> SegmentReport:
    now = timezone.now()
    return SegmentReport(**{
        "work_order": "1000001", "report_id": "seg-1", "operation": 10,
        "started_at": now - timedelta(hours=1), "ended_at": now - timedelta(minutes=10),
        "completed": True, "work_center": "KIT-1", "good_quantity": Decimal(24), "unit": "pcs",
        "scrap_quantity": Decimal(1), "scrap_reason": "DENT", "setup_minutes": Decimal(11),
        "run_minutes": Decimal(38), "lot": "L-7", "serial": "", "corrects": "", **fields})


def document(*reports: SegmentReport) -> bytes:
    return operations_performance_xml(reports, envelope=Envelope("MES", "perf-1",
                                                                 datetime(2026, 12, 7, tzinfo=UTC)))


def test_the_renderer_writes_valid_b2mml_that_reads_back():
    sent = [report(), report(report_id="seg-2", operation=20, scrap_quantity=Decimal(0),
                             scrap_reason="", completed=False, lot="", work_center="")]
    xml = document(*sent)
    assert validate_xml(xml) == []
    assert [replace(r, path="") for r in parse_operations_performance(xml)] == sent


def test_a_performance_document_records_every_segment(work_order, mes):
    xml = document(report(), report(report_id="seg-2", operation=20, good_quantity=Decimal(20),
                                    scrap_quantity=Decimal(0), scrap_reason="",
                                    completed=False))
    answer = mes.post(RESULTS, xml, content_type="application/xml", HTTP_IDEMPOTENCY_KEY="p-1")
    assert answer.status_code == 201, answer.content
    assert [r["report_id"] for r in answer.json()] == ["seg-1", "seg-2"]
    first = OperationResult.objects.get(report_id="seg-1")
    assert (first.good_quantity, first.scrap_quantity, first.scrap_reason, first.lot) == (
        24, 1, "DENT", "L-7")
    assert first.operation_completed and first.work_center.code == "KIT-1"
    assert RollupDay.objects.filter(operation_code="KIT").get().results == 1
    again = mes.post(RESULTS, xml, content_type="application/xml", HTTP_IDEMPOTENCY_KEY="p-2")
    assert again.status_code == 200  # the same reports: recorded once
    assert OperationResult.objects.count() == 2


def test_one_bad_segment_stores_nothing_and_is_named(work_order, mes):
    xml = document(report(), report(report_id="seg-2", operation=70))
    answer = mes.post(RESULTS, xml, content_type="application/xml", HTTP_IDEMPOTENCY_KEY="p-1")
    assert answer.status_code == 400
    [error] = problem(answer)["errors"]
    assert error["code"] == "unknown_operation"
    assert error["pointer"].startswith("/ProcessOperationsPerformance/DataArea/")
    assert "SegmentResponse" in error["pointer"] and error["pointer"].endswith("/operation")
    assert not OperationResult.objects.exists() and not RollupDay.objects.exists()


def test_invalid_or_dangerous_xml_is_refused(work_order, mes):
    not_b2mml = mes.post(RESULTS, b"<ProcessOperationsPerformance/>",
                         content_type="application/xml", HTTP_IDEMPOTENCY_KEY="x-1")
    assert not_b2mml.status_code == 400
    entity = mes.post(RESULTS, b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM '
                               b'"file:///etc/passwd">]><x>&e;</x>',
                      content_type="application/xml", HTTP_IDEMPOTENCY_KEY="x-2")
    assert entity.status_code == 400
    assert problem(entity)["errors"][0]["code"] == "doctype_forbidden"
    broken = mes.post(RESULTS, b"<ProcessOperationsPerformance", content_type="application/xml",
                      HTTP_IDEMPOTENCY_KEY="x-3")
    assert broken.status_code == 400
    too_big = mes.post(RESULTS, b"<x>" + b" " * 3_000_000 + b"</x>",
                       content_type="application/xml", HTTP_IDEMPOTENCY_KEY="x-4")
    assert too_big.status_code == 413
    assert not OperationResult.objects.exists()
