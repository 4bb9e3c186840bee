"""The change manager's and the approvers' admin: create an ECO and its affected item, run it
stage by stage with reasons, see the diffs, list actions, and pinned query counts."""

from __future__ import annotations

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from thread.changes import services
from thread.changes.choices import ChangeOrderEventKind
from thread.changes.models import ChangeOrder, ChangeOrderEvent

from .conftest import stage


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page(eco) -> str:
    return f"/admin/changes/changeorder/{eco.pk}/change/"


def workflow(client, eco, step, reason, **extra):
    return client.post(f"/admin/changes/changeorder/{eco.pk}/workflow/{step}/",
                       {"reason": reason, **extra})


def test_a_change_manager_creates_an_eco_and_its_affected_item(design_change, drive, people):
    client = login(people["carol"])
    response = client.post("/admin/changes/changeorder/add/", {
        "number": "ECO-7", "title": "New motor", "change_type": design_change.pk,
        "priority": "normal", "description": "", "change_reason": "Torque",
        "reason": "Opened after the design review"})
    assert response.status_code == 302, response.context and response.context["errors"]
    eco = ChangeOrder.objects.get(number="ECO-7")
    assert (eco.requested_by, eco.history.get().history_change_reason) == (
        people["carol"], "Opened after the design review")
    response = client.post(f"/admin/changes/affecteditem/add/?change_order={eco.pk}", {
        "change_order": eco.pk, "part": drive["part"].pk, "kind": "modify",
        "from_revision": drive["A"].pk, "to_revision": drive["B"].pk,
        "stock_disposition": "use_as_is", "wip_disposition": "rework",
        "open_orders_disposition": "use_as_is", "notes": "",
        "effectivity_kind": "serial", "serial_from": "SN-1000", "serial_to": "",
        "effective_from": "", "lot": "", "reason": "Scope agreed"})
    assert response.status_code == 302, response.context and response.context["errors"]
    item = eco.affected_items.get()
    assert (item.wip_disposition, item.to_revision.effectivity.describe()) == (
        "rework", "serials from SN-1000")
    assert list(eco.events.values_list("kind", "reason")) == [
        ("created", "Opened after the design review"), ("item_added", "Scope agreed")]


def test_approvers_see_their_stage_and_approve_it_stage_by_stage(draft_eco, people):
    carol, andy = login(people["carol"]), login(people["andy"])
    workflow(carol, draft_eco, "submit", "Please review")
    draft_eco.refresh_from_db()
    assert draft_eco.status == "in_review"
    body = carol.get(page(draft_eco)).content.decode()
    assert "Approve stage “Engineering”" in body
    assert "Approve stage “Manufacturing engineering”" not in body  # not yet: order
    assert "Approve stage" not in andy.get(page(draft_eco)).content.decode()
    engineering = stage(draft_eco, "Engineering")
    workflow(carol, draft_eco, "approve", "Calculation checked", stage=engineering.pk)
    assert "Approve stage “Manufacturing engineering”" in andy.get(page(draft_eco)).content.decode()
    response = workflow(andy, draft_eco, "approve", "",
                        stage=stage(draft_eco, "Manufacturing engineering").pk)
    assert "A reason is required" in " ".join(m.message for m in response.wsgi_request._messages)
    workflow(andy, draft_eco, "approve", "Line ready",
             stage=stage(draft_eco, "Manufacturing engineering").pk)
    draft_eco.refresh_from_db()
    assert draft_eco.status == "approved"
    assert workflow(andy, draft_eco, "release", "go").status_code == 403
    workflow(carol, draft_eco, "release", "Supplier ready")
    draft_eco.refresh_from_db()
    assert draft_eco.status == "released"


def test_the_page_shows_the_story_and_the_diff(draft_eco, people, django_assert_max_num_queries):
    client = login(people["eve"])
    with django_assert_max_num_queries(45):
        response = client.get(page(draft_eco))
    body = response.content.decode()
    assert response.status_code == 200
    diff = body.split('id="eco-diffs"')[1]
    assert "MT-511" in diff and "find_number: 20 → 25" in diff and "quantity: 3 → 4" in diff
    assert 'class="diff-added"' in body and 'class="diff-removed"' in body
    assert "Submit for review" not in body  # an auditor changes nothing
    impact = client.get(f"/admin/changes/impactflag/impact/{draft_eco.pk}/")
    assert f'href="/admin/changes/impactflag/impact/{draft_eco.pk}/"' in body
    assert impact.status_code == 200 and draft_eco.number in impact.content.decode()


def test_list_actions_take_the_reason(draft_eco, people):
    client = login(people["carol"])
    response = client.post("/admin/changes/changeorder/", {
        "action": "submit_selected", "_selected_action": [draft_eco.pk],
        "reason": "Batch submit"}, follow=True)
    assert response.status_code == 200
    draft_eco.refresh_from_db()
    assert draft_eco.status == "in_review"
    assert draft_eco.events.get(kind="submitted").reason == "Batch submit"
    client.post("/admin/changes/changeorder/", {
        "action": "approve_my_stages", "_selected_action": [draft_eco.pk],
        "reason": "Engineering ok"})
    assert list(draft_eco.approvals.values_list("stage_name", "comment")) == [
        ("Engineering", "Engineering ok")]


def test_the_change_list_costs_the_same_for_many(draft_eco, design_change, people,
                                                 django_assert_num_queries):
    client = login(people["eve"])
    with django_assert_num_queries(10):
        assert client.get("/admin/changes/changeorder/").status_code == 200
    for n in range(5):
        services.change_order_create(number=f"ECO-L{n}", title="t", change_type=design_change,
                                     actor=people["carol"], reason="r")
    with django_assert_num_queries(10):
        assert client.get("/admin/changes/changeorder/").status_code == 200


def test_the_change_order_page_costs_the_same_for_many_events(draft_eco, people,
                                                              django_assert_num_queries):
    client = login(people["eve"])
    client.get(page(draft_eco))  # warm the session and the content types
    with CaptureQueriesContext(connection) as few:
        assert client.get(page(draft_eco)).status_code == 200
    ChangeOrderEvent.objects.bulk_create(
        ChangeOrderEvent(change_order=draft_eco, kind=ChangeOrderEventKind.UPDATED,
                         actor=people["carol"], at=timezone.now(), reason=f"Edit {n}")
        for n in range(5))
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(page(draft_eco))
    assert all(f"Edit {n}" in response.content.decode() for n in range(5))


def test_the_impact_pages_first_admin_addresses_lead_to_their_new_home(draft_eco, people):
    client = login(people["eve"])
    old = client.get(f"/admin/orders/impactflag/impact/{draft_eco.pk}/?x=1")
    assert old.status_code == 301
    assert old["Location"] == f"/admin/changes/impactflag/impact/{draft_eco.pk}/?x=1"
    assert client.get(old["Location"]).status_code == 200
