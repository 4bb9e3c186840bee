"""Fixtures and helpers of the mBOM tests (no tests here): a plant with an ERP, a released
product of a chosen size, published rules. Test modules take the fixtures with a star import."""

from __future__ import annotations

import pytest
from django.apps import apps

from thread.bom.ebom import services as ebom_services
from thread.bom.rules import services as rules_services
from thread.bom.rules.services import RuleInput
from thread.catalog import services as catalog
from thread.catalog.models import Part, PartRevision

ALL_LINES = RuleInput(order=10, name="Screws at assembly", action="assign_operation",
                      condition={"field": "category", "op": "eq", "value": "fastener"},
                      params={"operation": "ASSY"})
NO_DOCS = RuleInput(order=20, name="No documents", action="exclude",
                    condition={"field": "item_type", "op": "eq", "value": "document"})
TUBES_IN_M = RuleInput(order=30, name="Tubes in m", action="convert_unit",
                       condition={"field": "part", "op": "glob", "value": "TB-*"},
                       params={"unit": "m", "round_up_to_multiple": "0.01"})
BOX = RuleInput(order=40, name="Shipping box", action="add_item",
                condition={"field": "part", "op": "regex", "value": "^PR-[0-9]+$"},
                params={"part": "PK-1", "quantity": "1", "unit": "pcs"})


def product_body(number: str, leaves: int, quantity: str = "2", release: bool = True) -> dict:
    """A product with one made sub-assembly (a frame with a tube), a document, and `leaves`
    screws."""
    lines = [
        {"find_number": 1, "part": f"{number}-FR", "quantity": "1", "unit": "pcs",
         "item_type": "component",
         "lines": [{"find_number": 1, "part": "TB-1", "quantity": "1250", "unit": "mm",
                    "item_type": "component"}]},
        {"find_number": 2, "part": "DOC-1", "quantity": "1", "unit": "pcs",
         "item_type": "document"},
    ]
    lines += [{"find_number": 10 + i, "part": f"SC-{i}", "quantity": quantity, "unit": "pcs",
               "item_type": "component"} for i in range(leaves)]
    return {"part": number, "revision": "A", "release": release, "reason": "PLM release",
            "lines": lines}


def push(body: dict):
    return ebom_services.ebom_push(payload=body, actor=None, reason="PLM push")


@pytest.fixture
def shop(units, erp):
    """Plant BER with an ERP, parts the rules name, screws categorised as fasteners."""
    plant = catalog.plant_create(code="BER", name="Berlin", time_zone="Europe/Berlin",
                                 actor=None, reason="t", erp_system=erp.system)
    catalog.part_create(number="PK-1", name="Box", base_unit=units["pcs"], actor=None,
                        reason="t", make_or_buy="buy")
    catalog.part_create(number="TB-1", name="Tube", base_unit=units["m"], actor=None,
                        reason="t", make_or_buy="buy")
    return plant


def categorise_screws() -> None:
    Part.objects.filter(number__startswith="SC-").update(category="fastener", make_or_buy="buy")


@pytest.fixture
def rules(shop):
    """The plant's published rule set (v1)."""
    rule_set = rules_services.rule_set_create(plant=shop, name="Berlin rules", actor=None, reason="t")
    draft = rule_set.versions.get()
    rules_services.rule_set_draft_edit(version=draft, lock_version=draft.lock_version, actor=None,
                                 reason="t", add=[ALL_LINES, NO_DOCS, TUBES_IN_M, BOX])
    return rules_services.rule_set_version_publish(version=draft, actor=None, reason="Go live")


def new_version(version, *add, reason="Change rules"):
    """A draft from `version` with rules added, published: the next version."""
    draft = rules_services.rule_set_draft_start(rule_set=version.rule_set, actor=None, reason=reason)
    rules_services.rule_set_draft_edit(version=draft, lock_version=draft.lock_version, actor=None,
                                 reason=reason, add=list(add))
    return rules_services.rule_set_version_publish(version=draft, actor=None, reason=reason)


def draft_from(version, *add):
    draft = rules_services.rule_set_draft_start(rule_set=version.rule_set, actor=None, reason="try")
    rules_services.rule_set_draft_edit(version=draft, lock_version=draft.lock_version, actor=None,
                                 reason="try", add=list(add))
    draft.refresh_from_db()
    return draft


def revision(number: str, label: str = "A") -> PartRevision:
    return PartRevision.objects.select_related("part").get(part__number=number, label=label)


def row_counts() -> dict[str, int]:
    """Every table's row count: a read-only operation must leave all of them as they were."""
    return {model._meta.label: model._default_manager.count() for model in apps.get_models()}
