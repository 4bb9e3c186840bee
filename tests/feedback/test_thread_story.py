"""The thread: the demo product's story through the API, field by field; the story as recorded
at each moment of a scripted history (the demo's release, rule publish, orders, then its change
order released), showing what existed then and nothing later; and the query count, which does
not grow with the revision's orders and results."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from thread.bom.models import MappingRuleSetVersion
from thread.catalog.models import PartRevision
from thread.changes import selectors as change_selectors
from thread.changes import services as change_services
from thread.changes.choices import ChangeOrderStatus
from thread.changes.models import ChangeOrder
from thread.demo.seed import seed_demo
from thread.feedback.models import OperationResult
from thread.feedback.services import ResultInput, operation_result_record, rollups_recompute
from thread.feedback.story.selectors import NotRecordedThen, revision_story
from thread.orders.models import ProductionOrder, WorkOrder

from ..conftest import problem
from ..support.openapi import assert_documented

THREAD = "/api/v1/feedback/threads/{}/{}/"


@pytest.fixture
def demo(db, roles):
    seed_demo()
    return PartRevision.objects.select_related("part").get(part__number="BK-100", label="B")


def bike_results(work_order: WorkOrder, scrap_at_last: int = 2) -> None:
    """The MES reports every operation of the work order, with scrap at the last one."""
    operations = list(work_order.operations.order_by("sequence"))
    end = timezone.now() - timedelta(hours=1)
    for index, operation in enumerate(operations):
        last = index == len(operations) - 1
        scrap = Decimal(scrap_at_last if last else 0)
        operation_result_record(given=ResultInput(
            work_order=work_order.number, operation=operation.sequence,
            good_quantity=work_order.quantity - scrap, scrap_quantity=scrap,
            scrap_reason="MISALIGNED" if scrap else "", run_minutes=Decimal(60),
            started_at=end - timedelta(hours=2), ended_at=end, operation_completed=True),
            system=work_order.mes_system, actor=None, reason="MES report")


def test_the_demo_products_story_field_by_field(demo, person):
    auditor = person("auditor")
    answer = auditor.get(THREAD.format("BK-100", "B"))
    assert answer.status_code == 200, answer.content
    assert_documented(answer, "/api/v1/feedback/threads/{part}/{revision}/")
    story = answer.json()
    assert (story["at"], story["part"], story["name"], story["revision"], story["status"]) == (
        None, "BK-100", "E-bike, city", "B", "released")
    assert story["released_by"] == "admin"
    # Design: the eBOM snapshot in effect, line by line; no change order names rev B yet.
    assert story["ebom"]["snapshot"] == 1 and len(story["ebom"]["lines"]) == 24
    assert story["ebom"]["lines"][0] == {"find_number": 10, "part": "FR-200",
                                         "name": "Frame assembly", "quantity": "1.000000",
                                         "unit": "pcs", "item_type": "component"}
    assert story["change_orders"] == []
    # Per plant: rules v1 in effect, mBOM v1 built from them, routing v1 in effect.
    assert [p["plant"] for p in story["plants"]] == ["BER", "CLT"]
    for plant in story["plants"]:
        assert plant["rule_set_version"]["number"] == 1
        [mbom] = plant["mbom_versions"]
        assert (mbom["number"], mbom["current"], mbom["rule_set_version"]) == (1, True, 1)
        assert [(r["number"], r["in_effect"]) for r in plant["routing_versions"]] == [(1, True)]
        assert auditor.get(mbom["lineage"]).status_code == 200
    # Orders, and what each work order was built from, one click away.
    orders = {o["number"]: o for o in story["production_orders"]}
    assert story["production_order_total"] == 3
    assert {n: o["plant"] for n, o in orders.items()} == {
        "1000456": "BER", "1000457": "CLT", "1000458": "CLT"}
    [berlin] = orders["1000456"]["work_orders"]
    work_order = WorkOrder.objects.get(number="1000456", plant__code="BER")
    assert (berlin["number"], berlin["mbom_version"]["number"],
            berlin["rule_set_version"]["number"], berlin["routing_version"]["number"]) == (
        "1000456", 1, 1, 1)
    assert berlin["mbom_version"]["link"].endswith(
        f"/bom/mbomversion/{work_order.mbom_version_id}/change/")
    assert berlin["rule_set_version"]["link"].endswith(
        f"/bom/mappingrulesetversion/{work_order.rule_set_version_id}/change/")
    assert berlin["routing_version"]["link"].endswith(
        f"/orders/routingversion/{work_order.routing_version_id}/change/")
    # What was sent to whom: the mBOMs to the ERP, the work orders to the MES (not yet drained).
    topics = {(m["topic"], m["system"]) for m in story["messages"]}
    assert {("mbom.published", "ERP"), ("work_order", "MES")} <= topics
    assert story["message_total"] == len(story["messages"])
    assert sum(story["message_statuses"].values()) == story["message_total"]
    # Who did what, when and why: newest first, each with its actor and reason.
    released = next(e for e in story["timeline"]
                    if e["what"] == "BK-100 rev B: changed, status released")
    assert released["actor"] == "admin" and released["why"]
    assert story["timeline"] == sorted(story["timeline"], key=lambda e: e["at"], reverse=True)
    assert story["feedback"]["total"]["results"] == 0 and story["impact_flags"] == []
    # The drive unit's new revision: the change order that brings it in, in review.
    motor = auditor.get(THREAD.format("MT-500", "B")).json()
    assert [(c["number"], c["role"], c["status"], c["from_revision"], c["to_revision"])
            for c in motor["change_orders"]] == [
        ("ECO-1001", "introduces", "in_review", "A", "B")]


def test_results_show_in_the_story_with_their_series_and_pareto(demo, person):
    bike_results(WorkOrder.objects.get(number="1000456", plant__code="BER"))
    story = person("auditor").get(THREAD.format("BK-100", "B")).json()
    feedback = story["feedback"]
    assert feedback["total"]["results"] == 4
    assert [(o["plant"], o["operation"]) for o in feedback["operations"]] == [
        ("BER", "KIT"), ("BER", "ASSY"), ("BER", "TEST"), ("BER", "PACK")]  # routing order
    pack = feedback["operations"][-1]
    assert pack["figures"]["first_pass_yield"] == "0.960000"  # 48 good of 50
    assert [d["first_pass_yield"] for d in pack["days"]] == ["0.960000"]
    assert feedback["scrap_by_reason"] == [{"code": "MISALIGNED", "quantity": "2.000000",
                                            "cumulative_share": "1.0000"}]
    assert any(m["topic"] == "work_order.completed" for m in story["messages"])


def test_an_unknown_revision_or_moment_is_a_clear_problem(demo, person):
    auditor = person("auditor")
    assert auditor.get(THREAD.format("BK-100", "Z")).status_code == 404
    bad = auditor.get(THREAD.format("BK-100", "B"), {"at": "last tuesday"})
    assert bad.status_code == 400 and problem(bad)["errors"][0]["pointer"] == "/at"
    before = auditor.get(THREAD.format("BK-100", "B"), {"at": "2001-01-01T00:00:00Z"})
    assert before.status_code == 404 and "not recorded yet" in problem(before)["detail"]


def release_eco_1001() -> ChangeOrder:
    manager = get_user_model().objects.create_superuser("cm", "cm@example.com", "pw")
    eco = ChangeOrder.objects.get(number="ECO-1001")
    while eco.status == ChangeOrderStatus.IN_REVIEW:
        for stage in change_selectors.stages_open_for(change_order=eco, user=manager):
            change_services.change_order_approve_stage(change_order=eco, stage=stage,
                                                       actor=manager, comment="ok")
        eco.refresh_from_db()
    return change_services.change_order_release(change_order=eco, actor=manager,
                                                reason="Release ECO-1001")


def test_at_each_moment_the_story_shows_what_existed_then_and_nothing_later(demo):
    """The demo's own history, in this order: rev B released, the plants' rules published
    (then its mBOMs), the ERP's orders, ECO-1001 submitted; then ECO-1001 released here."""
    bike = demo
    released_at = bike.history.get(status="released", history_type="~").history_date
    rules = {v.rule_set.plant.code: v.published_at
             for v in MappingRuleSetVersion.objects.select_related("rule_set__plant")}
    ordered_at = ProductionOrder.history.filter(number="1000456").earliest(
        "history_date").history_date
    before_release = timezone.now()
    release_eco_1001()
    eco_released_at = ChangeOrder.objects.get(number="ECO-1001").released_at
    assert released_at < rules["BER"] <= rules["CLT"] < ordered_at < before_release

    with pytest.raises(NotRecordedThen):
        revision_story(revision=bike, at=bike.history.earliest("history_date").history_date
                       - timedelta(microseconds=1))
    draft = revision_story(revision=bike, at=released_at - timedelta(microseconds=1))
    assert draft["status"] == "draft" and draft["released_at"] is None

    at_release = revision_story(revision=bike, at=released_at)
    assert (at_release["status"], at_release["production_order_total"]) == ("released", 0)
    assert all(p["rule_set_version"] is None and p["mbom_versions"] == []
               for p in at_release["plants"])
    assert all(e["at"] <= released_at for e in at_release["timeline"])
    assert at_release["message_total"] == 0

    at_rules = revision_story(revision=bike, at=rules["BER"])
    plants = {p["plant"]: p for p in at_rules["plants"]}
    assert plants["BER"]["rule_set_version"]["number"] == 1
    assert "CLT" not in plants or plants["CLT"]["rule_set_version"] is None \
        or rules["CLT"] == rules["BER"]

    at_order = revision_story(revision=bike, at=ordered_at)
    assert "1000456" in {o["number"] for o in at_order["production_orders"]}
    assert all(len(p["mbom_versions"]) == 1 for p in at_order["plants"])
    assert at_order["impact_flags"] == []
    assert all(m["status"] == "pending" for m in at_order["messages"])  # none delivered then

    motor_b = PartRevision.objects.get(part__number="MT-500", label="B")
    before = revision_story(revision=motor_b, at=before_release)
    assert (before["status"], before["change_orders"][0]["status"]) == ("draft", "in_review")
    assert before["change_orders"][0]["released_at"] is None
    now = revision_story(revision=motor_b)
    assert (now["status"], now["change_orders"][0]["status"]) == ("released", "released")
    assert now["change_orders"][0]["released_at"] == eco_released_at
    # The release hit the bike's open orders: flagged now, not before.
    bike_now = revision_story(revision=bike)
    assert {f["change_order"] for f in bike_now["impact_flags"]} == {"ECO-1001"}
    assert revision_story(revision=bike, at=before_release)["impact_flags"] == []


def test_the_query_count_does_not_grow_with_orders_and_results(demo):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            revision_story(revision=demo)
            revision_story(revision=demo, at=timezone.now())
        return len(captured.captured_queries)

    bike_results(WorkOrder.objects.get(number="1000456", plant__code="BER"))
    queries()  # the content types are cached after the first
    first = queries()
    order = ProductionOrder.objects.get(number="1000456")
    built = WorkOrder.objects.get(number="1000456", plant__code="BER")
    for n in range(12):  # more orders of the same revision, each with its work order
        more = ProductionOrder.objects.create(
            system=order.system, number=f"9{n:06d}", part=order.part, plant=order.plant,
            quantity=Decimal(5), unit=order.unit, planned_start=order.planned_start,
            planned_end=order.planned_end, status=order.status, revision=order.revision,
            mbom_version=order.mbom_version)
        WorkOrder.objects.create(
            production_order=more, mes_system=built.mes_system, plant=more.plant,
            number=more.number, part=more.part, quantity=more.quantity, unit=more.unit,
            revision=built.revision, mbom_version=built.mbom_version,
            rule_set_version=built.rule_set_version, routing_version=built.routing_version,
            format=built.format, status="sent", built_at=timezone.now(), document="<x/>")
    for result in OperationResult.objects.all():  # and results on earlier days
        for days in range(1, 6):
            OperationResult.objects.create(**{
                **{f.attname: getattr(result, f.attname) for f in OperationResult._meta.fields
                   if f.attname not in ("id", "operation_completed", "corrects_id")},
                "day": result.day - timedelta(days=days)})
    rollups_recompute()
    assert queries() == first
