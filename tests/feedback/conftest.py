"""The feedback tests stand on the work-order fixtures: the bike with its mBOMs at both plants,
the test ERP and MES, Berlin's work centers and routing (KIT 10, ASSY 20)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from thread.orders.models import WorkOrder

from ..orders.conftest import bike, plants  # noqa: F401 (fixtures)
from ..orders.work_order_support import release, shop_floor  # noqa: F401 (fixtures)

RESULTS = "/api/v1/feedback/operation-results/"
EVENTS = "/api/v1/feedback/quality-events/"
ROLLUPS = "/api/v1/feedback/rollup-days/"


@pytest.fixture
def work_order(shop_floor):  # noqa: F811
    """Berlin's work order 1000001 for 25 bikes, sent to the MES (pending in the outbox)."""
    release(shop_floor["erp"])
    return WorkOrder.objects.get(number="1000001")


def result(**fields) -> dict:
    """A result of operation 10 of work order 1000001, an hour ago, with what the test says."""
    now = timezone.now()
    return {"work_order": "1000001", "operation": 10, "good_quantity": "10",
            "started_at": (now - timedelta(hours=1)).isoformat(),
            "ended_at": (now - timedelta(minutes=30)).isoformat(), **fields}
