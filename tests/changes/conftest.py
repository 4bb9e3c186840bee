"""Fixtures of the change order tests: a drive unit released as revision A, its draft revision
B with a new motor, a design-change type with three stages, and people in each role."""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from thread.bom.ebom import services as bom
from thread.catalog.effectivity import EffectivityInput
from thread.catalog.models import Part, PartRevision
from thread.changes import services
from thread.changes.services import StageInput

CHANGE_ORDERS = "/api/v1/changes/change-orders/"

DRIVE_A = {
    "part": "MT-500", "revision": "A", "name": "Drive unit assembly", "release": True,
    "reason": "initial release",
    "lines": [
        {"find_number": 10, "part": "MT-510", "name": "Mid motor 250 W", "quantity": "1",
         "unit": "pcs", "item_type": "component",
         "attributes": {"supplier": "Drivetec", "power_w": "250"}},
        {"find_number": 20, "part": "MT-520", "quantity": "1", "unit": "pcs",
         "item_type": "component"},
        {"find_number": 30, "part": "SC-M8x16", "quantity": "3", "unit": "pcs",
         "item_type": "component"},
        {"find_number": 40, "part": "DOC-4", "quantity": "1", "unit": "pcs",
         "item_type": "document"},
    ],
}

# Revision B: motor MT-511 replaces MT-510 at 10, four screws instead of three, the controller
# renumbered from 20 to 25, the document dropped, a washer added.
NEW_LINES = [
    {"find_number": 10, "part": "MT-511", "name": "Mid motor 250 W 95 Nm", "quantity": "1",
     "unit": "pcs", "item_type": "component", "attributes": {"supplier": "Drivetec",
                                                              "power_w": "250"}},
    {"find_number": 25, "part": "MT-520", "quantity": "1", "unit": "pcs",
     "item_type": "component"},
    {"find_number": 30, "part": "SC-M8x16", "quantity": "4", "unit": "pcs",
     "item_type": "component"},
    {"find_number": 50, "part": "WA-M8", "quantity": "4", "unit": "pcs",
     "item_type": "component"},
]

DATE_2027 = EffectivityInput(kind="date", effective_from=date(2027, 1, 15))
ALL_USE_AS_IS = {"stock_disposition": "use_as_is", "wip_disposition": "use_as_is",
                 "open_orders_disposition": "use_as_is"}


def person(username: str, *groups: str, superuser: bool = False):
    user = get_user_model().objects.create_user(username, password="pw", is_staff=True,
                                                is_superuser=superuser)
    user.groups.add(*Group.objects.filter(name__in=groups))
    return user


@pytest.fixture
def people(roles):
    return {"carol": person("carol", "change manager"), "andy": person("andy", "analyst"),
            "quinn": person("quinn", "quality"), "eve": person("eve", "auditor")}


@pytest.fixture
def design_change(roles):
    return services.change_type_create(
        code="design", name="Design change", actor=None, reason="setup",
        stages=[StageInput(10, "Engineering", ["change manager"]),
                StageInput(20, "Manufacturing engineering", ["analyst"]),
                StageInput(30, "Quality", ["quality"], required=False)])


@pytest.fixture
def drive(units):
    """MT-500 rev A released (with its parts), and rev B as a draft with the new lines."""
    bom.ebom_push(payload=DRIVE_A, actor=None, reason="initial release")
    bom.ebom_push(payload={"part": "MT-500", "revision": "B", "reason": "new motor",
                           "lines": NEW_LINES}, actor=None, reason="new motor")
    part = Part.objects.get(number="MT-500")
    return {"part": part, "A": PartRevision.objects.get(part=part, label="A"),
            "B": PartRevision.objects.get(part=part, label="B")}


@pytest.fixture
def draft_eco(design_change, drive, people):
    """ECO-1 in draft with one complete affected item (MT-500 A → B from 2027-01-15)."""
    eco = services.change_order_create(number="ECO-1", title="Higher torque motor",
                                       change_type=design_change, actor=people["carol"],
                                       reason="Customer complaints about hill climbing")
    services.affected_item_add(change_order=eco, part=drive["part"], kind="modify",
                               from_revision=drive["A"], to_revision=drive["B"],
                               effectivity=DATE_2027, actor=people["carol"], reason="scope",
                               **ALL_USE_AS_IS)
    return eco


def stage(eco, name: str):
    return eco.change_type.stages.get(name=name)
