"""Work orders, routings and the release action in the admin: the pages people read (a fixed
number of queries), the production order's "release to the shop floor" with its reason, and a
released routing version that cannot be edited."""

from __future__ import annotations

from django.urls import reverse

from thread.orders.models import ProductionOrder, RoutingOperation, WorkOrder

from .test_admin import login
from .work_order_support import release


def test_the_work_order_page_shows_lineage_operations_and_the_document(
        shop_floor, roles, django_assert_num_queries):
    release(shop_floor["erp"])
    work_order = WorkOrder.objects.get()
    client = login("auditor")
    url = reverse("admin:orders_workorder_change", args=[work_order.pk])
    client.get(url)
    # session, user, permissions; the work order with its lineage, operations and materials
    # (prefetched, whatever their number); the read-only fields' related rows; its messages and
    # their attempts; the flow-alert banner's two
    with django_assert_num_queries(35):
        response = client.get(url)
    page = response.content.decode()
    assert response.status_code == 200
    for text in ("Built from", "BK-100 @ BER routing v1", "BER rules v1", "KIT-1",
                 "material_definitions", "ProcessOperationsSchedule", "Pending (in the outbox)"):
        assert text in page, text
    assert "Rebuild and send" not in page  # not held; and an auditor may not


def test_a_person_releases_a_planned_order_to_the_shop_floor_with_a_reason(shop_floor, roles):
    release(shop_floor["erp"], status="planned")
    order = ProductionOrder.objects.get()
    client = login("process engineering")
    url = reverse("admin:orders_productionorder_changelist")
    refused = client.post(url, {"action": "release_to_shop_floor",
                                "_selected_action": [order.pk], "reason": ""}, follow=True)
    assert "Give a reason" in refused.content.decode() and not WorkOrder.objects.exists()
    done = client.post(url, {"action": "release_to_shop_floor", "_selected_action": [order.pk],
                             "reason": "Planner released it by phone"}, follow=True)
    assert "work order pending" in done.content.decode()
    order.refresh_from_db()
    assert order.status == "released"
    assert order.history.first().history_change_reason == "Planner released it by phone"
    assert WorkOrder.objects.get().status == "pending"


def test_a_released_routing_version_is_read_only(shop_floor, roles):
    version = shop_floor["routing"]
    client = login("process engineering")
    url = reverse("admin:orders_routingversion_change", args=[version.pk])
    page = client.get(url).content.decode()
    assert "routing-workflow-form" not in page  # no release or withdraw for a released one
    operation = RoutingOperation.objects.get(version=version, sequence=10)
    response = client.post(url, {"notes": "x", "reason": "sneaky", "operations-TOTAL_FORMS": "1",
                                  "operations-INITIAL_FORMS": "1",
                                  "operations-0-id": operation.pk,
                                  "operations-0-sequence": "10",
                                  "operations-0-operation_code": "CHANGED"})
    assert response.status_code == 403
    operation.refresh_from_db()
    assert operation.operation_code == "KIT"
