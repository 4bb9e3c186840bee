"""ECO release end to end on the demo: new revisions released, mBOMs regenerated at every plant
as of the effectivity, messages for each plant's ERP naming the change and held until the first
effective day, open orders flagged — or, if any of it fails, nothing at all."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model

from thread.bom.models import MBomVersion
from thread.catalog import services as catalog
from thread.catalog.models import Part, PartRevision
from thread.changes import selectors, services
from thread.changes.choices import ChangeOrderEventKind, ChangeOrderStatus, ImpactFlagStatus
from thread.changes.models import ChangeOrder, ImpactFlag
from thread.demo.seed import seed_demo
from thread.errors import InvalidInput
from thread.flows import services as flows
from thread.flows.models import ExternalSystem, OutboundMessage
from thread.orders.models import ProductionOrder

REASON = "Release ECO-1001 after the last stage"


def approved_eco_1001() -> tuple[ChangeOrder, object]:
    seed_demo()
    manager = get_user_model().objects.create_superuser("cm", "cm@example.com", "pw")
    eco = ChangeOrder.objects.get(number="ECO-1001")
    while eco.status == ChangeOrderStatus.IN_REVIEW:
        for stage in selectors.stages_open_for(change_order=eco, user=manager):
            services.change_order_approve_stage(change_order=eco, stage=stage, actor=manager,
                                                comment="ok")
        eco.refresh_from_db()
    assert eco.status == ChangeOrderStatus.APPROVED
    return eco, manager


def counts() -> dict[str, int]:
    return {"versions": MBomVersion.objects.count(), "messages": OutboundMessage.objects.count(),
            "flags": ImpactFlag.objects.count(),
            "released": PartRevision.objects.filter(status="released").count()}


@pytest.mark.parametrize("erp_holds_effectivity", [False, True])
def test_release_regenerates_sends_with_effectivity_and_flags_open_orders(
        db, erp_holds_effectivity):
    eco, manager = approved_eco_1001()
    erp = ExternalSystem.objects.get(kind="erp")
    flows.system_delivery_configure(
        system=erp, actor=manager, reason="test",
        connector_options={"paths": {"*": "{topic}"},
                           "holds_future_effectivity": erp_holds_effectivity})
    services.change_order_release(change_order=eco, actor=manager, reason=REASON)

    eco.refresh_from_db()
    assert eco.status == ChangeOrderStatus.RELEASED
    drive_b = PartRevision.objects.get(part__number="MT-500", label="B")
    assert drive_b.status == "released"
    # Each plant's new drive-unit mBOM, generated as of the first effective day with MT-511.
    new = MBomVersion.objects.filter(mbom__revision=drive_b).select_related("mbom__plant")
    assert sorted((v.mbom.plant.code, v.as_of) for v in new) == [
        ("BER", date(2027, 1, 15)), ("CLT", date(2027, 1, 15))]
    for version in new:
        assert set(version.lines.values_list("part__number", flat=True)) >= {"MT-511"}
        assert "MT-510" not in set(version.lines.values_list("part__number", flat=True))
    # One message per plant for the changed drive unit, caused by the ECO, naming it and its
    # effectivity; for an ERP that cannot hold future effectivity, held until 15 January
    # begins at that plant.
    messages = OutboundMessage.objects.filter(ordering_key__startswith="mbom:",
                                              ordering_key__endswith=":MT-500")
    sent = {m.ordering_key: m for m in messages if m.cause == eco}
    assert set(sent) == {"mbom:BER:MT-500", "mbom:CLT:MT-500"}
    for key, zone in (("mbom:BER:MT-500", "Europe/Berlin"),
                      ("mbom:CLT:MT-500", "America/New_York")):
        message = sent[key]
        assert message.payload["change_order"] == {
            "number": "ECO-1001", "effectivity": "date", "effective_from": "2027-01-15"}
        assert message.not_before == (None if erp_holds_effectivity else
                                      datetime(2027, 1, 15, tzinfo=ZoneInfo(zone)))
        assert message.correlation_id == "ECO-1001"
    # The open MT-510 purchase order and the BK-100 production orders (Berlin; Charlotte's two)
    # are flagged, open.
    flags = ImpactFlag.objects.filter(change_order=eco)
    assert flags.count() == 4
    assert set(flags.values_list("status", flat=True)) == {ImpactFlagStatus.OPEN}
    assert flags.filter(purchase_order__isnull=False).get().purchase_order.supplier
    for production in ProductionOrder.objects.filter(part__number="BK-100"):
        assert flags.filter(production_order=production).exists()
    # The release event tells the story.
    event = eco.events.get(kind=ChangeOrderEventKind.RELEASED)
    assert event.details["messages"] == len([m for m in OutboundMessage.objects.all()
                                             if m.cause == eco])
    assert event.details["flags"] == 4
    assert {"plant": "BER", "mbom": "MT-500 rev B", "version": 1} in event.details["mboms"]


@pytest.mark.django_db(transaction=True)
def test_a_failed_release_changes_nothing_and_the_eco_records_why(db):
    eco, manager = approved_eco_1001()
    # Charlotte's published rules substitute CT-3.6x200 with CT-4.8x200; the substitute
    # goes obsolete, so Charlotte's rules can no longer run and the release must fail whole.
    catalog.part_update(part=Part.objects.get(number="CT-4.8x200"), actor=manager,
                        reason="supplier discontinued it", lifecycle_state="obsolete")
    before = counts()
    with pytest.raises(InvalidInput, match="cannot run"):
        services.change_order_release(change_order=eco, actor=manager, reason=REASON)

    eco.refresh_from_db()
    assert eco.status == ChangeOrderStatus.APPROVED
    assert counts() == before
    assert PartRevision.objects.get(part__number="MT-500", label="B").status == "draft"
    failed = eco.events.get(kind=ChangeOrderEventKind.RELEASE_FAILED)
    assert (failed.actor, failed.reason) == (manager, REASON)
    assert "cannot run" in failed.details["error"]


@pytest.mark.django_db(transaction=True)
def test_a_failed_release_through_the_api_is_a_problem_and_still_recorded(person):
    eco, manager = approved_eco_1001()
    catalog.part_update(part=Part.objects.get(number="CT-4.8x200"), actor=manager,
                        reason="supplier discontinued it", lifecycle_state="obsolete")
    client = person("change manager")
    client.cookies["csrftoken"] = client.csrf_token
    response = client.post(f"/api/v1/changes/change-orders/{eco.pk}/release/",
                           {"reason": REASON}, format="json", HTTP_X_CSRFTOKEN=client.csrf_token,
                           HTTP_IDEMPOTENCY_KEY="release-1")
    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["code"] == "rule_cannot_run"
    eco.refresh_from_db()
    assert eco.status == ChangeOrderStatus.APPROVED
    assert eco.events.get(kind=ChangeOrderEventKind.RELEASE_FAILED).actor == client.user
