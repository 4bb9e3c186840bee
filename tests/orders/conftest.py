"""Fixtures of the order and impact tests: two plants in different time zones served by the
test ERP, and a small bike whose drive unit MT-500 (rev A released, rev B a draft effective
from 2027-01-15 that replaces motor MT-510 with MT-511) sits in BK-100, with mBOMs generated at
both plants."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from thread.bom.ebom import services as ebom_services
from thread.bom.mbom.generation import mbom_generate
from thread.bom.rules import services as rules_services
from thread.catalog import services as catalog
from thread.catalog.effectivity import EffectivityInput
from thread.catalog.models import Part, PartRevision
from thread.changes import services as changes
from thread.changes.services import StageInput
from thread.flows import services as flows
from thread.orders.services import (
    ProductionOrderInput,
    PurchaseOrderInput,
    PurchaseOrderLineInput,
)

from ..support.inventree_fake import InvenTreeFake

PURCHASE_ORDERS = "/api/v1/orders/purchase-orders/"
PRODUCTION_ORDERS = "/api/v1/orders/production-orders/"
IMPACT_FLAGS = "/api/v1/changes/impact-flags/"
IMPACT = "/api/v1/changes/impact/"
EFFECTIVE = date(2027, 1, 15)


def line(find, part, qty="1", unit="pcs", item_type="component", **extra):
    return {"find_number": find, "part": part, "quantity": qty, "unit": unit,
            "item_type": item_type, **extra}


BIKE = {
    "part": "BK-100", "revision": "A", "name": "E-bike", "release": True, "reason": "initial",
    "lines": [
        line(10, "FR-200", lines=[line(10, "TB-310", "1250", "mm")]),
        line(40, "MT-500", revision="A", lines=[
            line(10, "MT-510", name="Mid motor 85 Nm"), line(20, "SC-M8", "3"),
            line(30, "KT-900", item_type="phantom", lines=[line(10, "WA-M8", "3")])]),
        line(50, "DOC-1", item_type="document"),
    ],
}
DRIVE_B = {"part": "MT-500", "revision": "B", "reason": "new motor", "lines": [
    line(10, "MT-511", name="Mid motor 95 Nm"), line(20, "SC-M8", "4"),
    line(30, "KT-900", item_type="phantom")]}


@pytest.fixture
def plants(units, erp):
    return {code: catalog.plant_create(code=code, name=code, time_zone=zone, actor=None,
                                       reason="t", erp_system=erp.system)
            for code, zone in (("BER", "Europe/Berlin"), ("CLT", "America/New_York"))}


def publish_rules(plant):
    rule_set = rules_services.rule_set_create(plant=plant, name=f"{plant.code} rules", actor=None,
                                   reason="t")
    draft = rule_set.versions.get()
    rules_services.rule_set_draft_edit(
        version=draft, lock_version=0, actor=None, reason="t",
        add=[rules_services.RuleInput(order=10, name="No documents", action="exclude",
                           condition={"field": "item_type", "op": "eq", "value": "document"})])
    return rules_services.rule_set_version_publish(version=draft, actor=None, reason="t")


@pytest.fixture
def bike(plants):
    """BK-100 A released with its mBOMs at both plants; MT-500 B a draft (new motor)."""
    ebom_services.ebom_push(payload=BIKE, actor=None, reason="initial")
    ebom_services.ebom_push(payload=DRIVE_B, actor=None, reason="new motor")
    bike = PartRevision.objects.get(part__number="BK-100", label="A")
    for plant in plants.values():
        version = publish_rules(plant)
        mbom_generate(revision=bike, plant=plant, cause=version, actor=None, reason="t")
    return {number: Part.objects.get(number=number)
            for number in ("BK-100", "FR-200", "MT-500", "MT-510", "MT-511", "SC-M8", "WA-M8",
                           "TB-310")}


@pytest.fixture
def eco(bike, roles):
    """ECO-1: MT-500 A → B from 2027-01-15, in draft."""
    change_type = changes.change_type_create(
        code="design", name="Design change", actor=None, reason="t",
        stages=[StageInput(10, "Engineering", ["change manager"])])
    change_order = changes.change_order_create(number="ECO-1", title="Stronger motor",
                                               change_type=change_type, actor=None, reason="t")
    drive = bike["MT-500"]
    changes.affected_item_add(
        change_order=change_order, part=drive, kind="modify",
        from_revision=PartRevision.objects.get(part=drive, label="A"),
        to_revision=PartRevision.objects.get(part=drive, label="B"),
        effectivity=EffectivityInput(kind="date", effective_from=EFFECTIVE), actor=None,
        reason="t", stock_disposition="use_as_is", wip_disposition="use_as_is",
        open_orders_disposition="rework")
    return change_order


def po(number, *lines, plant="BER", status="open", supplier="Drivetec"):
    return PurchaseOrderInput(number=number, supplier=supplier, plant=plant, status=status,
                              lines=list(lines))


def po_line(number, part, qty, due, unit="pcs", **extra):
    return PurchaseOrderLineInput(line_number=number, part=part, quantity=Decimal(qty),
                                  unit=unit, due_date=due, **extra)


def mo(number, part, start, end=None, plant="BER", qty="10", status="released"):
    return ProductionOrderInput(number=number, part=part, plant=plant, quantity=Decimal(qty),
                                unit="pcs", planned_start=start, planned_end=end or start,
                                status=status)


INVENTREE_TOKEN = "inv-token"


@pytest.fixture
def inventree(bike, erp, monkeypatch):
    """The test ERP is an InvenTree, serving both plants."""
    monkeypatch.setenv("INVENTREE_TOKEN", INVENTREE_TOKEN)
    with InvenTreeFake(token=INVENTREE_TOKEN) as fake:
        category = fake.add_category("From Thread")
        erp.system = flows.system_delivery_configure(
            system=erp.system, actor=None, reason="InvenTree", connector="inventree",
            base_url=fake.url, credential_name="INVENTREE_TOKEN",
            connector_options={"category": category, "plant": "BER"},
            connect_timeout_seconds=1, read_timeout_seconds=3)
        yield fake


# The work-order tests' fixture (defined next to their helpers).
from .work_order_support import shop_floor  # noqa: E402, F401
