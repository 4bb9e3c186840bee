"""The sandbox MES reports back as a real MES does: through Thread's API over HTTP (the live
server), with a key of its own that it revokes afterwards; the work order completes, the ERP is
told, the roll-up moves, and the scrap crosses Berlin's yield target so the PLM is told too."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from thread.errors import StateConflict
from thread.feedback.models import FeedbackAlert, OperationResult, QualityEvent, RollupDay
from thread.feedback.services import feedback_threshold_set
from thread.flows import services as flows
from thread.flows.models import ApiKey, OutboundMessage
from thread.orders.models import WorkOrder
from thread.sandbox import mes_reports

from ..orders.conftest import bike, plants  # noqa: F401 (fixtures)
from ..orders.work_order_support import release, shop_floor  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def at_the_mes(live_server, settings, shop_floor, plm):  # noqa: F811
    settings.THREAD_SANDBOX_BASE_URL = f"{live_server.url}/sandbox/"
    flows.system_delivery_configure(system=plm.system, actor=None, reason="t", connector="rest",
                                    base_url=f"{live_server.url}/sandbox/plm/")
    feedback_threshold_set(plant=shop_floor["plants"]["BER"], part=None, actor=None, reason="t",
                           min_first_pass_yield=Decimal("0.95"))
    release(shop_floor["erp"])
    return WorkOrder.objects.get(number="1000001")


def test_the_sandbox_mes_reports_through_the_api(at_the_mes, shop_floor):  # noqa: F811
    keys_before = ApiKey.objects.filter(revoked_at__isnull=True).count()
    answer = mes_reports.mes_report_results(at_the_mes.pk)
    assert answer == {"work_order": "1000001", "results": 201, "quality_event": 201}
    at_the_mes.refresh_from_db()
    assert at_the_mes.status == "completed"
    assert OperationResult.objects.count() == 2  # KIT and ASSY
    assert OperationResult.objects.get(operation_code="ASSY").scrap_quantity == 2
    assert QualityEvent.objects.get().defect_code == mes_reports.NEW_DEFECT
    assert RollupDay.objects.filter(revision=at_the_mes.revision).count() == 2
    assert OutboundMessage.objects.filter(topic="work_order.completed").count() == 1
    kinds = set(FeedbackAlert.objects.values_list("kind", flat=True))
    assert kinds == {"low_yield", "new_defect"}  # 23 of 25 is under 95 %; FRAME-CRACK is new
    assert OutboundMessage.objects.filter(topic="feedback.alert").count() == 2
    assert ApiKey.objects.filter(revoked_at__isnull=True).count() == keys_before  # revoked
    # It is refused for a work order the MES has finished.
    with pytest.raises(StateConflict, match="completed"):
        mes_reports.mes_report_request(work_order=at_the_mes)


def test_the_sandbox_page_offers_the_report_to_staff(at_the_mes, client, monkeypatch):
    queued = []
    monkeypatch.setattr(mes_reports, "async_task", lambda *a: queued.append(a) or "t")
    user = get_user_model().objects.create_user("op", password="pw", is_staff=True)
    user.groups.add(Group.objects.get_or_create(name="operator")[0])
    client.force_login(user)
    page = client.get("/sandbox/").content.decode()
    assert "MES: report results" in page and "1000001" in page
    client.post("/sandbox/mes-report/", {"work_order": at_the_mes.pk})
    assert queued == [(mes_reports.TASK, at_the_mes.pk)]
