"""The demo's mBOMs: one eBOM, two plants, two different mBOM sets, waiting for the ERP."""

from __future__ import annotations

from decimal import Decimal

import pytest

from thread.bom.mbom import preview as generation
from thread.bom.models import MBomVersion
from thread.catalog.models import Part, Plant
from thread.catalog.selectors import revision_in_effect
from thread.demo.seed import seed_demo
from thread.flows.models import OutboundMessage


@pytest.fixture
def demo(db):
    return seed_demo()


def mboms_at(code: str) -> dict[str, MBomVersion]:
    return {v.mbom.revision.part.number: v for v in MBomVersion.objects.filter(
        mbom__plant__code=code, is_current=True).select_related("mbom__revision__part")}


def test_the_two_plants_hold_different_mboms_from_one_ebom(demo):
    berlin, charlotte = mboms_at("BER"), mboms_at("CLT")
    assert {"BK-100", "FR-200", "FR-210"} <= set(berlin)
    assert "BK-100" in charlotte and "FR-200" not in charlotte
    frame_at_clt = charlotte["BK-100"].lines.get(part__number="FR-200")
    assert frame_at_clt.make_or_buy == "buy"
    tube = berlin["FR-210"].lines.select_related("unit").get(part__number="TB-310")
    assert (tube.quantity, tube.unit.code) == (Decimal("1.29"), "m")
    assert berlin["BK-100"].root == charlotte["BK-100"].root


def test_every_demo_mbom_waits_for_the_erp_and_a_rerun_changes_nothing(demo):
    versions = MBomVersion.objects.count()
    messages = OutboundMessage.objects.filter(topic="mbom.published", status="pending")
    assert messages.count() == versions
    assert set(messages.values_list("ordering_key", flat=True)) >= {
        "mbom:BER:BK-100", "mbom:CLT:BK-100", "mbom:BER:FR-200"}
    assert "mBOM versions" not in seed_demo().created
    assert (MBomVersion.objects.count(), messages.count()) == (versions, versions)


def test_the_stored_demo_mboms_account_for_every_ebom_line(demo):
    bike = revision_in_effect(part=Part.objects.get(number="BK-100"))
    for plant in Plant.objects.all():
        report = generation.accountability(revision=bike, plant=plant)
        assert (report.problems, report.mismatches) == ([], [])
