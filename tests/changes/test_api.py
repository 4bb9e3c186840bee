"""The change order API: the PLM's atomic, idempotent push (with eBOMs and PLM approvals), who
may call what, the workflow actions, filters and pinned query counts."""

from __future__ import annotations

import copy

import pytest

from thread.bom.ebom import services as bom
from thread.bom.models import EBom, EBomLine
from thread.catalog import services as catalog
from thread.catalog.models import Part, PartRevision, RevisionEffectivity, UnitOfMeasure
from thread.changes import services
from thread.changes.models import Approval, ChangeOrder, ChangeOrderEvent
from thread.flows.models import InboundMessage

from ..conftest import make_system_client, problem
from .conftest import CHANGE_ORDERS, DRIVE_A, NEW_LINES

PUSH = {
    "number": "ECO-1001", "title": "Replace mid motor MT-510 with MT-511 (higher torque)",
    "type": "design", "priority": "high", "requested_by": "j.meyer (PLM)",
    "description": "MT-511 gives 95 Nm.", "change_reason": "Hill-climbing complaints",
    "submit": True, "reason": "PLM ECO 1001 released for review",
    "affected_items": [{
        "part": "MT-500", "kind": "modify", "from_revision": "A", "to_revision": "B",
        "effectivity": {"kind": "date", "effective_from": "2027-01-15"},
        "stock_disposition": "use_as_is", "wip_disposition": "use_as_is",
        "open_orders_disposition": "rework",
        "ebom": {"lines": NEW_LINES},
    }],
}


@pytest.fixture
def released_drive(units):
    bom.ebom_push(payload=DRIVE_A, actor=None, reason="initial release")
    return Part.objects.get(number="MT-500")


@pytest.fixture
def body():
    return copy.deepcopy(PUSH)


def state() -> dict[str, int]:
    return {"change orders": ChangeOrder.objects.count(), "events": ChangeOrderEvent.objects.count(),
            "revisions": PartRevision.objects.count(), "parts": Part.objects.count(),
            "eboms": EBom.objects.count(), "lines": EBomLine.objects.count(),
            "effectivities": RevisionEffectivity.objects.count(),
            "history": ChangeOrder.history.count()}


def test_the_plm_pushes_a_change_order_with_the_new_revisions_ebom(plm, released_drive,
                                                                  design_change, body):
    response = plm.push(CHANGE_ORDERS, body, key="eco-1001")
    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["number"], data["status"], data["type"], data["priority"],
            data["requested_by"], data["source_system"], data["review_round"]) == (
        "ECO-1001", "in_review", {"code": "design", "name": "Design change"}, "high",
        "j.meyer (PLM)", "PLM test", 1)
    [item] = data["affected_items"]
    assert (item["part"]["number"], item["kind"], item["from_revision"]["label"],
            item["to_revision"], item["effectivity"]) == (
        "MT-500", "modify", "A", {"id": item["to_revision"]["id"], "label": "B",
                                  "status": "draft"},
        {"kind": "date", "effective_from": "2027-01-15", "serial_from": "", "serial_to": "",
         "lot": ""})
    assert [e["kind"] for e in data["events"]] == ["pushed", "item_added", "submitted"]
    b = PartRevision.objects.get(part=released_drive, label="B")
    assert EBom.objects.get(revision=b).inbound_message == InboundMessage.objects.get(
        idempotency_key="eco-1001")
    assert Part.objects.get(number="MT-511").name == "Mid motor 250 W 95 Nm"
    eco = ChangeOrder.objects.get(number="ECO-1001")
    first = eco.history.earliest("history_date")
    assert (first.history_user, first.history_change_reason) == (
        plm.system.service_user, "PLM ECO 1001 released for review")
    assert eco.affected_items.get().reviewed_ebom == EBom.objects.get(revision=b)


def test_a_replay_answers_the_same_and_another_body_is_refused(plm, released_drive,
                                                              design_change, body):
    first = plm.push(CHANGE_ORDERS, body, key="k1")
    before = state()
    again = plm.push(CHANGE_ORDERS, body, key="k1")
    assert (again.status_code, again["Idempotent-Replayed"]) == (201, "true")
    assert again.json() == first.json()
    body["title"] = "Something else"
    reused = plm.push(CHANGE_ORDERS, body, key="k1")
    assert (reused.status_code, problem(reused)["type"]) == (422, "/problems/idempotency-key-reused")
    assert state() == before


def test_a_bad_ebom_line_is_named_and_nothing_is_written(plm, released_drive, design_change,
                                                        body):
    body["affected_items"][0]["ebom"]["lines"][3]["quantity"] = "-4"
    before = state()
    response = plm.push(CHANGE_ORDERS, body)
    assert response.status_code == 400
    errors = problem(response)["errors"]
    assert [(e["pointer"], e["code"]) for e in errors] == [
        ("/affected_items/0/ebom/lines/3/quantity", "not_positive")]
    assert state() == before
    assert InboundMessage.objects.get().status == "rejected"


def test_an_item_problem_after_the_ebom_rolls_back_the_ebom_too(plm, released_drive,
                                                               design_change, body):
    body["affected_items"][0]["from_revision"] = "Z"
    before = state()
    response = plm.push(CHANGE_ORDERS, body)
    assert [(e["pointer"], e["code"]) for e in problem(response)["errors"]] == [
        ("/affected_items/0/from_revision", "unknown_revision")]
    assert state() == before


@pytest.mark.parametrize("change, pointer, code", [
    (lambda b: b["affected_items"][0].update(qty=1), "/affected_items/0/qty", "unknown_field"),
    (lambda b: b.update(type="nope"), "/type", "unknown_type"),
    (lambda b: b["affected_items"][0]["effectivity"].update(effective_from=None),
     "/affected_items/0/effectivity/effective_from", "invalid"),
    (lambda b: b["affected_items"][0]["ebom"].update(release=True),
     "/affected_items/0/ebom/release", "unknown_field"),
    (lambda b: b.update(affected_items=[]), "/affected_items", "empty"),
    (lambda b: b.update(approvals=[{"stage": "Engineering", "by": "x"}]), "/approvals",
     "approved_in_thread"),
])
def test_push_refusals_point_into_the_body(plm, released_drive, design_change, body, change,
                                           pointer, code):
    change(body)
    before = state()
    response = plm.push(CHANGE_ORDERS, body)
    assert response.status_code == 400, response.content
    assert (pointer, code) in [(e["pointer"], e["code"]) for e in problem(response)["errors"]]
    assert state() == before


def test_an_existing_number_is_a_conflict(plm, released_drive, design_change, body):
    plm.push(CHANGE_ORDERS, body)
    response = plm.push(CHANGE_ORDERS, body)
    assert (response.status_code, problem(response)["errors"][0]["pointer"]) == (409, "/number")


def test_a_plm_that_approves_in_the_plm_sends_approved_change_orders(plm, released_drive,
                                                                    design_change, body, people):
    services.plm_settings_set(system=plm.system, approves_in_plm=True, actor=None,
                              reason="Approvals happen in Windchill")
    del body["submit"]
    response = plm.push(CHANGE_ORDERS, body)
    assert (response.status_code, problem(response)["errors"][0]["pointer"]) == (400,
                                                                                "/approvals")
    body["approvals"] = [
        {"stage": "engineering", "by": "j.meyer", "at": "2026-11-20T09:00:00Z",
         "comment": "calc ok"},
        {"stage": "Change board", "by": "k.ito", "comment": "go"}]
    response = plm.push(CHANGE_ORDERS, body)
    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["status"], [e["kind"] for e in data["events"]]) == (
        "approved", ["pushed", "item_added", "submitted", "approved_in_plm"])
    assert [(a["stage_name"], a["stage"] is not None, a["approver"], a["source"], a["decision"])
            for a in data["approvals"]] == [
        ("engineering", True, "j.meyer", "plm", "approved"),
        ("Change board", False, "k.ito", "plm", "approved")]
    eco = ChangeOrder.objects.get(number="ECO-1001")
    # Not approved again in Thread: the stages are skipped, the change manager releases.
    client = people_client(people["carol"])
    refused = client.post(f"{CHANGE_ORDERS}{eco.pk}/approve/",
                          {"stage": "Engineering", "comment": "again"}, format="json")
    assert (refused.status_code, problem(refused)["errors"][0]["code"]) == (
        409, "invalid_transition")
    released = client.post(f"{CHANGE_ORDERS}{eco.pk}/release/", {"reason": "go"},
                           format="json")
    assert (released.status_code, released.json()["status"]) == (200, "released")


def test_an_approving_plm_must_still_send_a_complete_change_order(plm, released_drive,
                                                                 design_change, body):
    services.plm_settings_set(system=plm.system, approves_in_plm=True, actor=None, reason="x")
    body["approvals"] = [{"stage": "Engineering", "by": "j.meyer"}]
    body["affected_items"][0]["wip_disposition"] = ""
    response = plm.push(CHANGE_ORDERS, body)
    assert [(e["pointer"], e["code"]) for e in problem(response)["errors"]] == [
        ("/affected_items/0/wip_disposition", "required")]


def test_who_may_call_what(plm, erp, mes, released_drive, design_change, body, person):
    assert plm.push(CHANGE_ORDERS, body).status_code == 201
    eco = ChangeOrder.objects.get()
    assert erp.get(CHANGE_ORDERS).status_code == 200
    assert erp.get(f"{CHANGE_ORDERS}{eco.pk}/diff/").status_code == 200
    assert erp.push(CHANGE_ORDERS, body).status_code == 403
    assert mes.get(CHANGE_ORDERS).status_code == 403
    assert plm.push(f"{CHANGE_ORDERS}{eco.pk}/cancel/", {"reason": "x"}).status_code == 403
    manager = person("change manager")
    refused = manager.post(CHANGE_ORDERS, body, format="json", HTTP_X_CSRFTOKEN="c" * 32)
    assert refused.status_code == 403
    auditor = person("auditor")
    assert auditor.get(f"{CHANGE_ORDERS}{eco.pk}/").status_code == 200
    assert auditor.post(f"{CHANGE_ORDERS}{eco.pk}/cancel/", {"reason": "x"},
                        format="json").status_code == 403


def people_client(user):
    from rest_framework.test import APIClient
    client = APIClient()
    client.force_login(user)
    return client


def test_people_run_the_workflow_through_the_actions(plm, released_drive, design_change, body,
                                                    people):
    body["submit"] = False
    eco_id = plm.push(CHANGE_ORDERS, body).json()["id"]
    carol, andy = people_client(people["carol"]), people_client(people["andy"])
    url = f"{CHANGE_ORDERS}{eco_id}"
    missing = carol.post(f"{url}/submit/", {}, format="json")
    assert [e["pointer"] for e in problem(missing)["errors"]] == ["/reason"]
    assert carol.post(f"{url}/submit/", {"reason": "review please"},
                      format="json").json()["status"] == "in_review"
    unknown = carol.post(f"{url}/approve/", {"stage": "Nope", "comment": "ok"}, format="json")
    assert problem(unknown)["errors"][0]["code"] == "unknown_stage"
    not_member = andy.post(f"{url}/approve/", {"stage": "Engineering", "comment": "ok"},
                           format="json")
    assert (not_member.status_code, problem(not_member)["type"]) == (403, "/problems/forbidden")
    carol.post(f"{url}/approve/", {"stage": "Engineering", "comment": "calc ok"}, format="json")
    rejected = andy.post(f"{url}/reject/", {"stage": "Manufacturing engineering",
                                            "reason": "needs a fixture"}, format="json")
    assert rejected.json()["status"] == "draft"
    carol.post(f"{url}/submit/", {"reason": "fixture ordered"}, format="json")
    stage_id = Approval.objects.filter(stage_name="Engineering").first().stage_id
    carol.post(f"{url}/approve/", {"stage": str(stage_id), "comment": "still ok"},
               format="json")
    approved = andy.post(f"{url}/approve/", {"stage": "manufacturing engineering",
                                             "comment": "fixture there"}, format="json")
    assert approved.json()["status"] == "approved"
    not_allowed = andy.post(f"{url}/release/", {"reason": "go"}, format="json")
    assert not_allowed.status_code == 403
    released = carol.post(f"{url}/release/", {"reason": "go"}, format="json")
    assert released.json()["status"] == "released"
    assert [e["kind"] for e in released.json()["events"]] == [
        "pushed", "item_added", "submitted", "stage_approved", "rejected", "submitted",
        "stage_approved", "stage_approved", "approved", "released"]


def test_filters(plm, released_drive, design_change, body):
    plm.push(CHANGE_ORDERS, body)
    other = copy.deepcopy(body)
    other.update(number="ECO-1002", submit=False)
    other["affected_items"][0].update(to_revision="C")
    plm.push(CHANGE_ORDERS, other)
    numbers = lambda query: [e["number"] for e in plm.get(CHANGE_ORDERS + query).json()["results"]]  # noqa: E731
    assert numbers("?status=draft") == ["ECO-1002"]
    assert numbers("?status=draft&status=in_review") == ["ECO-1001", "ECO-1002"]
    assert numbers("?part=MT-500") == ["ECO-1001", "ECO-1002"]
    assert numbers("?part=MT-520") == []
    assert numbers("?type=design&search=1002") == ["ECO-1002"]


def test_the_list_costs_the_same_for_one_and_for_many(plm, released_drive, design_change, body,
                                                     django_assert_num_queries):
    plm.push(CHANGE_ORDERS, body)
    with django_assert_num_queries(4):  # the key, the page, its items, its approvals
        assert len(plm.get(CHANGE_ORDERS).json()["results"]) == 1
    for n in range(2, 6):
        extra = copy.deepcopy(body)
        extra.update(number=f"ECO-100{n}", submit=False)
        extra["affected_items"][0].update(to_revision=f"B{n}")
        assert plm.push(CHANGE_ORDERS, extra).status_code == 201
    with django_assert_num_queries(4):
        assert len(plm.get(CHANGE_ORDERS).json()["results"]) == 5


def test_change_order_types_list_their_stages(erp, design_change):
    [data] = erp.get("/api/v1/changes/change-order-types/").json()["results"]
    assert [(s["order"], s["name"], s["required"], s["groups"]) for s in data["stages"]] == [
        (10, "Engineering", True, ["change manager"]),
        (20, "Manufacturing engineering", True, ["analyst"]),
        (30, "Quality", False, ["quality"])]


def test_a_change_orders_ebom_reads_units_as_the_plm_writes_them(plm, released_drive,
                                                                 design_change, body):
    catalog.system_unit_code_create(system=plm.system, code="Z-ST",
                                    unit=UnitOfMeasure.objects.get(code="pcs"), actor=None,
                                    reason="this PLM's own piece")
    lines = body["affected_items"][0]["ebom"]["lines"]
    lines[0]["unit"], lines[1]["unit"] = "Z-ST", "EA"
    response = plm.push(CHANGE_ORDERS, body)
    assert response.status_code == 201, response.content
    new = EBom.objects.get(revision__part__number="MT-500", revision__label="B")
    assert set(new.lines.values_list("unit__code", flat=True)) == {"pcs"}

    other = make_system_client("Other PLM", "plm")
    refused = other.push(CHANGE_ORDERS, {**body, "number": "ECO-1002"})
    assert [(e["pointer"], e["code"]) for e in problem(refused)["errors"]] == [
        ("/affected_items/0/ebom/lines/0/unit", "unknown_unit")]


def test_a_push_without_a_reason_is_recorded_with_who_pushed_it(plm, released_drive,
                                                                 design_change, body):
    body.pop("reason", None)
    response = plm.push(CHANGE_ORDERS, body, key="eco-no-reason")
    assert response.status_code == 201, response.content
    change_order = ChangeOrder.objects.get(number=body["number"])
    assert change_order.history.first().history_change_reason.startswith("API push by")
