"""Pushing eBOMs: snapshots, revisions, release, idempotency, both shapes, bulk writes."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from thread.bom.ebom import services
from thread.bom.ebom.ingest import flatten
from thread.bom.models import EBom, EBomLine
from thread.catalog import services as catalog
from thread.catalog.choices import RevisionStatus
from thread.catalog.models import Part, PartRevision
from thread.demo.product import structure
from thread.flows.models import InboundMessage

from ..conftest import problem
from .conftest import EBOMS, db_state, ebom_content


def test_a_push_creates_parts_revisions_and_snapshots_and_lists_them(plm, units, example):
    response = plm.push(EBOMS, example, key="first")
    assert response.status_code == 201, response.content
    body = response.json()
    top = PartRevision.objects.get(part__number="BK-100", label="B")
    assert body["revision"] == {"id": top.pk, "part": "BK-100", "label": "B", "status": "draft"}
    assert body["changed"] is True
    assert sorted(p["number"] for p in body["created_parts"]) == [
        "BK-100", "DOC-1", "FR-200", "KT-900", "SC-M5x12", "TB-310"]
    assert sorted((r["part"], r["label"]) for r in body["created_revisions"]) == [
        ("BK-100", "B"), ("FR-200", "C"), ("KT-900", "A")]
    assert sorted((e["part"], e["revision"], e["number"], e["line_count"])
                  for e in body["snapshots"]) == [
        ("BK-100", "B", 1, 3), ("FR-200", "C", 1, 1), ("KT-900", "A", 1, 1)]
    assert {e["id"] for e in body["snapshots"]} == set(EBom.objects.values_list("id", flat=True))
    tube = Part.objects.get(number="TB-310")
    assert (tube.base_unit.code, tube.make_or_buy, tube.name) == ("mm", "buy", "TB-310")
    frame = Part.objects.get(number="FR-200")
    assert (frame.make_or_buy, frame.name) == ("make", "Frame assembly")
    assert frame.history.get().history_user == plm.system.service_user
    assert frame.history.get().history_change_reason == "PLM release 2026-11-20"
    snapshot = EBom.objects.get(revision=top)
    assert snapshot.inbound_message == InboundMessage.objects.get(idempotency_key="first")
    assert (snapshot.created_by, snapshot.reason) == (plm.system.service_user,
                                                       "PLM release 2026-11-20")
    line = EBomLine.objects.get(part=tube)
    assert (line.quantity, line.unit.code, line.attributes) == (
        Decimal("1250"), "mm", {"material": "AL6061"})


def test_the_same_lines_again_make_no_new_snapshot(plm, units, example):
    first = plm.push(EBOMS, example).json()
    response = plm.push(EBOMS, example)
    assert response.status_code == 200
    body = response.json()
    assert (body["changed"], body["snapshots"], body["created_parts"]) == (False, [], [])
    assert sorted(e["id"] for e in body["unchanged"]) == sorted(
        e["id"] for e in first["snapshots"])
    assert EBom.objects.count() == 3


def test_a_changed_draft_gets_a_new_current_snapshot_and_keeps_the_old(plm, units, example):
    plm.push(EBOMS, example)
    example["lines"][0]["lines"][0]["quantity"] = "1300"
    body = plm.push(EBOMS, {**example, "reason": "ECR 17: longer tube"}).json()
    assert [(e["part"], e["number"]) for e in body["snapshots"]] == [("FR-200", 2)]
    frame = EBom.objects.filter(revision__part__number="FR-200").order_by("number")
    assert [(e.number, e.is_current, e.reason) for e in frame] == [
        (1, False, "PLM release 2026-11-20"), (2, True, "ECR 17: longer tube")]
    assert [str(line.quantity) for e in frame for line in e.lines.all()] == [
        "1250.000000", "1300.000000"]


def test_find_number_order_in_the_body_does_not_matter(plm, units, example):
    plm.push(EBOMS, example)
    example["lines"].reverse()
    assert plm.push(EBOMS, example).json()["changed"] is False


def test_release_releases_the_structure_and_supersedes_older_releases(plm, units, example):
    assert plm.push(EBOMS, {**example, "revision": "A", "release": True}).status_code == 201
    body = plm.push(EBOMS, {**example, "release": True, "reason": "PLM release B"}).json()
    assert sorted((r["part"], r["label"]) for r in body["released"]) == [("BK-100", "B")]
    a, b = PartRevision.objects.filter(part__number="BK-100").order_by("label")
    assert (a.status, b.status) == (RevisionStatus.SUPERSEDED, RevisionStatus.RELEASED)
    assert b.released_by == plm.system.service_user
    assert a.history.first().history_change_reason == "Superseded by revision B: PLM release B"
    assert set(PartRevision.objects.exclude(part__number="BK-100").values_list(
        "status", flat=True)) == {RevisionStatus.RELEASED}


def test_the_response_of_a_release_shows_the_revisions_as_released(plm, units, example):
    body = plm.push(EBOMS, {**example, "release": True}).json()
    assert body["revision"]["status"] == RevisionStatus.RELEASED
    assert {r["status"] for r in body["created_revisions"]} == {RevisionStatus.RELEASED}
    assert {r["status"] for r in body["released"]} == {RevisionStatus.RELEASED}


def test_release_also_releases_a_named_draft_that_did_not_change(plm, units, example):
    plm.push(EBOMS, example)
    body = plm.push(EBOMS, {**example, "release": True}).json()
    assert sorted((r["part"], r["label"]) for r in body["released"]) == [
        ("BK-100", "B"), ("FR-200", "C"), ("KT-900", "A")]


def test_a_child_without_revision_goes_to_its_current_draft(plm, units, example):
    kit = catalog.part_create(number="KT-900", name="Kit", base_unit=units["pcs"], actor=None,
                              reason="master")
    for label in ("A", "B"):
        catalog.revision_create(part=kit, label=label, actor=None, reason="drafts")
    plm.push(EBOMS, example)
    assert EBom.objects.get(revision__part=kit).revision.label == "B"


def test_a_released_child_pushed_unchanged_without_revision_is_accepted(plm, units, example):
    plm.push(EBOMS, {**example, "release": True})
    response = plm.push(EBOMS, example)
    assert (response.status_code, response.json()["changed"]) == (200, False)


def test_replaying_a_key_answers_the_stored_response_and_writes_nothing(plm, units, example):
    first = plm.push(EBOMS, example, key="k1")
    before = db_state()
    again = plm.push(EBOMS, example, key="k1")
    assert (again.status_code, again["Idempotent-Replayed"]) == (201, "true")
    assert again.json() == first.json()
    assert db_state() == before


def test_a_conflicting_replay_is_422_and_writes_nothing(plm, units, example):
    plm.push(EBOMS, example, key="k1")
    before = db_state()
    example["lines"][0]["lines"][0]["quantity"] = "9"
    response = plm.push(EBOMS, example, key="k1")
    assert response.status_code == 422
    assert problem(response)["type"] == "/problems/idempotency-key-reused"
    assert db_state() == before


def test_a_replayed_refusal_stays_refused(plm, units, example):
    example["lines"][0]["quantity"] = "0"
    first = plm.push(EBOMS, example, key="bad")
    again = plm.push(EBOMS, example, key="bad")
    assert first.status_code == again.status_code == 400
    assert again.json() == first.json()


def test_nested_and_flat_forms_make_the_same_ebom(plm, units):
    demo = structure()
    nested = {"part": demo["part"], "revision": demo["revision"], "lines": demo["lines"]}
    flat = {"part": demo["part"], "revision": demo["revision"], "rows": flatten(demo)}
    class Rollback(Exception):
        pass

    with pytest.raises(Rollback), transaction.atomic():
        assert plm.push(EBOMS, nested).status_code == 201
        from_nested = ebom_content()
        raise Rollback
    assert plm.push(EBOMS, flat).status_code == 201
    assert ebom_content() == from_nested
    assert len(from_nested) == len(flatten(demo)) > 150


def test_flat_rows_take_parent_revisions_from_the_rows_naming_them(plm, units):
    rows = [
        {"parent": "P-1", "find_number": 10, "part": "S-1", "revision": "C", "quantity": "1",
         "unit": "pcs", "item_type": "component"},
        {"parent": "S-1", "find_number": 10, "part": "L-1", "quantity": "2", "unit": "pcs",
         "item_type": "component"},
    ]
    assert plm.push(EBOMS, {"part": "P-1", "rows": rows}).status_code == 201
    assert EBom.objects.get(revision__part__number="S-1").revision.label == "C"
    assert EBom.objects.get(revision__part__number="P-1").revision.label == "A"


def _wide(count: int, prefix: str = "") -> dict:
    """A three-level structure of `count` lines: two sub-assemblies sharing the leaves."""
    half = count // 2 - 1
    leaves = [{"find_number": n, "part": f"{prefix}L-{n}", "quantity": "1.5", "unit": "mm",
               "item_type": "component", "attributes": {"n": n}} for n in range(1, half + 1)]
    return {"part": f"{prefix}TOP", "release": True, "lines": [
        {"find_number": 1, "part": f"{prefix}SUB-1", "quantity": "1", "unit": "pcs",
         "item_type": "component", "lines": leaves},
        {"find_number": 2, "part": f"{prefix}SUB-2", "quantity": "2", "unit": "pcs",
         "item_type": "phantom", "lines": leaves}]}


@pytest.mark.parametrize("existing", [False, True], ids=["new parts", "known parts, new lines"])
def test_the_query_count_does_not_grow_with_the_lines(units, django_assert_num_queries, existing):
    actor = get_user_model().objects.create_user("eng")
    bodies = {}
    for size in (20, 400):
        body = bodies[size] = _wide(size, prefix=f"S{size}-")
        if existing:  # the parts and a draft exist; the push changes every line
            services.ebom_push(payload={**body, "release": False}, actor=actor, reason="seed")
            for sub in body["lines"]:
                sub["lines"] = [{**line, "quantity": "3"} for line in sub["lines"]]
    with CaptureQueriesContext(connection) as small:
        result = services.ebom_push(payload=bodies[20], actor=actor, reason="bulk")
    assert (len(result.snapshots), len(result.released)) == (2 if existing else 3, 3)
    with django_assert_num_queries(len(small.captured_queries)):
        result = services.ebom_push(payload=bodies[400], actor=actor, reason="bulk")
    assert sum(e.line_count for e in result.snapshots) == (398 if existing else 400)


@override_settings(THREAD_MAX_EBOM_LINES=100)
def test_the_line_limit_is_a_setting(plm, units):
    assert plm.push(EBOMS, _wide(100)).status_code == 201
    assert plm.push(EBOMS, _wide(104)).status_code == 413


def test_erp_may_read_but_not_push_and_mes_may_do_neither(plm, erp, mes, units, example):
    assert erp.push(EBOMS, example).status_code == 403
    assert erp.get(EBOMS).status_code == 200
    assert mes.get(EBOMS).status_code == 403


def test_a_person_needs_the_release_right_to_release(person, units, example):
    analyst = person("analyst")
    analyst.cookies["csrftoken"] = analyst.csrf_token
    headers = {"HTTP_X_CSRFTOKEN": analyst.csrf_token}
    before = db_state()
    response = analyst.post(EBOMS, {**example, "release": True}, format="json",
                            HTTP_IDEMPOTENCY_KEY="a1", **headers)
    assert response.status_code == 403
    assert db_state() == before
    assert analyst.post(EBOMS, example, format="json", HTTP_IDEMPOTENCY_KEY="a2",
                        **headers).status_code == 201
    assert set(PartRevision.objects.values_list("status", flat=True)) == {RevisionStatus.DRAFT}


def test_each_new_part_has_one_creation_history_row_with_its_fields(plm, units, example):
    plm.push(EBOMS, example, key="first")
    services.ebom_push(payload={"part": "SOLO-1", "lines": [
        {"find_number": 1, "part": "SOLO-2", "quantity": "1", "unit": "pcs",
         "item_type": "component"}]}, actor=None, reason="script")
    fields = [f.attname for f in Part._meta.fields]
    for part in Part.objects.all():
        (row,) = part.history.all()
        assert row.history_type == "+"
        assert [getattr(row, name) for name in fields] == [getattr(part, name) for name in fields]
    solo = Part.objects.get(number="SOLO-2").history.get()
    assert (solo.history_user, solo.history_change_reason) == (None, "script")
