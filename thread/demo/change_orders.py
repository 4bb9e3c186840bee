"""The demo's change orders: the types with their approval stages, the PLM's settings, and
ECO-1001 pushed by the demo PLM and waiting in review, so the admin opens on a realistic change
with its diffs. Everything goes through thread.changes.services; a second run changes nothing."""

from __future__ import annotations

from datetime import date

from thread.catalog.effectivity import EffectivityInput
from thread.changes import services as changes
from thread.changes.models import ChangeOrder, ChangeOrderType, PlmSettings
from thread.changes.services import ChangeOrderPush, ItemPush, StageInput
from thread.flows.models import ExternalSystem

from .product import PARTS, _drive_unit

REASON = "Demo data"
ENGINEERING = StageInput(10, "Engineering", ["change manager"])
MANUFACTURING = StageInput(20, "Manufacturing engineering", ["analyst"])
QUALITY = StageInput(30, "Quality", ["quality"])
TYPES = [  # code, name, stages
    ("design", "Design change", [ENGINEERING, MANUFACTURING, QUALITY]),
    ("cost-reduction", "Cost reduction", [ENGINEERING, MANUFACTURING]),
    ("supplier-change", "Supplier change", [ENGINEERING, StageInput(20, "Quality", ["quality"])]),
    ("deviation", "Deviation", [StageInput(10, "Quality", ["quality"])]),
]
NEW_MOTOR = {"find_number": 10, "part": "MT-511", "name": "Mid motor 250 W 95 Nm",
             "quantity": "1", "unit": "pcs", "item_type": "component",
             "attributes": {"supplier": "Drivetec", "power_w": "250", "torque_nm": "95"}}


def drive_unit_rev_b_lines() -> list[dict]:
    """MT-500 rev B: rev A's direct lines with the MT-511 motor instead of MT-510 (the
    sub-assemblies keep their released revisions, so they are named without their lines)."""
    lines = [{k: v for k, v in line.items() if k != "lines"} for line in _drive_unit()["lines"]]
    return [NEW_MOTOR if line["part"] == "MT-510" else line for line in lines]


def eco_1001() -> ChangeOrderPush:
    return ChangeOrderPush(
        number="ECO-1001", title="Replace mid motor MT-510 with MT-511 (higher torque)",
        change_type="design", priority="high", requested_by="j.meyer (PLM)",
        description=f"{PARTS['MT-510'].name} is replaced by the 95 Nm variant MT-511 in the drive "
                    "unit; same mounting, same connector.",
        change_reason="Customers report weak hill-climbing; the supplier offers MT-511 at the "
                      "same price from January.",
        submit=True,
        affected_items=[ItemPush(
            part="MT-500", kind="modify", from_revision="A", to_revision="B",
            effectivity=EffectivityInput(kind="date", effective_from=date(2027, 1, 15)),
            ebom={"lines": drive_unit_rev_b_lines()}, stock_disposition="use_as_is",
            wip_disposition="use_as_is", open_orders_disposition="rework",
            notes="Open orders for MT-500 A: swap the motor before shipping.")])


def seed_change_orders() -> dict[str, int]:
    created: dict[str, int] = {}
    existing = set(ChangeOrderType.objects.values_list("code", flat=True))
    for code, name, stages in TYPES:
        if code not in existing:
            changes.change_type_create(code=code, name=name, stages=stages, actor=None,
                                       reason=REASON)
            created["change order types"] = created.get("change order types", 0) + 1
    plm = ExternalSystem.objects.get(kind="plm", name="PLM")
    if not PlmSettings.objects.filter(system=plm).exists():
        changes.plm_settings_set(system=plm, approves_in_plm=False, actor=None,
                                 reason="Demo: change orders are approved in Thread")
    if not ChangeOrder.objects.filter(number="ECO-1001").exists():
        # Pushed as the demo PLM would: its service user is the actor, so history names it.
        changes.change_order_push(push=eco_1001(), system=plm, actor=plm.service_user,
                                  reason="Demo: PLM pushes ECO-1001 for review")
        created["change orders"] = 1
    return created
