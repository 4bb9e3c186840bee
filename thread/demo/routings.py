"""The demo plants' work centers and the e-bike's routings, pushed as the demo ERP would
(`POST /api/v1/orders/` work-centers and routings go through the same services).

Berlin assembles the bike on one line: kitting (every mBOM line without an operation code is
issued here), final assembly (the lines the "Final assembly" rule points to ASSY), an end-of-
line test and packing (labels). Charlotte's routing was pushed without its firmware station:
its mBOM sends the firmware to 0090-FLASH, which the routing does not have, so Charlotte's work
order is held until a process engineer adds the operation and rebuilds it (README, "Try it").
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from thread.flows.models import ExternalSystem
from thread.orders.models import Routing
from thread.orders.routings.services import (
    OperationInput,
    WorkCenterInput,
    routing_push,
    work_centers_upsert,
)

REASON = "Demo: the ERP's work centers and routings"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
ALL_DAYS = (*WEEKDAYS, "sat", "sun")
DEMO_SHIFT_MINUTES = 15
DEMO_SHIFTS = [f"{m // 60:02d}:{m % 60:02d}" for m in range(0, 24 * 60, DEMO_SHIFT_MINUTES)]

WORK_CENTERS = [
    WorkCenterInput(plant="BER", code="KIT-1", name="Kitting area", capacity_unit="h",
                    shift_starts={day: ["06:00", "14:00"] for day in WEEKDAYS}),
    WorkCenterInput(plant="BER", code="ASM-1", name="Assembly line 1", capacity_unit="h",
                    shift_starts={day: ["06:00", "14:00", "22:00"] for day in WEEKDAYS}),
    WorkCenterInput(plant="BER", code="TST-1", name="End-of-line test bench", capacity_unit="h",
                    shift_starts={day: ["06:00", "14:00"] for day in WEEKDAYS}),
    WorkCenterInput(plant="BER", code="PCK-1", name="Packing", capacity_unit="pcs",
                    shift_starts={day: ["06:00", "14:00"] for day in WEEKDAYS}),
    # Charlotte sends its work orders at shift start. A real cell has two or three shifts a
    # day; the demo's run a quarter of an hour, around the clock, so that a batch goes out while
    # you watch (README, "Try it").
    WorkCenterInput(plant="CLT", code="FIN-A", name="Final assembly cell A", capacity_unit="h",
                    shift_starts={day: DEMO_SHIFTS for day in ALL_DAYS}),
    WorkCenterInput(plant="CLT", code="FLASH-1", name="Firmware flashing station",
                    capacity_unit="h", shift_starts={day: DEMO_SHIFTS for day in ALL_DAYS}),
]

EFFECTIVE = date(2026, 1, 1)
ROUTINGS = [  # plant, operations
    ("BER", [
        OperationInput(sequence=10, operation_code="KIT", work_center="KIT-1",
                       description="Pick the order's kit", setup_minutes=Decimal(10),
                       run_minutes=Decimal("4.5"),
                       instructions="Pick by the kit list; fasteners come from the Kanban rack."),
        OperationInput(sequence=20, operation_code="ASSY", work_center="ASM-1",
                       description="Final assembly", setup_minutes=Decimal(30),
                       run_minutes=Decimal(42), queue_minutes=Decimal(15), milestone=True,
                       reports_quantity=True, document_reference="WI-BK100-ASSY rev C",
                       instructions="Torque the stem bolts to 5 Nm; route the harness as in "
                                    "WI-BK100-ASSY figure 4."),
        OperationInput(sequence=30, operation_code="TEST", work_center="TST-1",
                       description="End-of-line test", run_minutes=Decimal(8), milestone=True,
                       reports_quantity=True),
        OperationInput(sequence=40, operation_code="PACK", work_center="PCK-1",
                       description="Pack and label", run_minutes=Decimal(6),
                       move_minutes=Decimal(20), reports_quantity=True),
    ]),
    ("CLT", [
        OperationInput(sequence=10, operation_code="0010-FINAL", work_center="FIN-A",
                       description="Final assembly", setup_minutes=Decimal(20),
                       run_minutes=Decimal(48), milestone=True, reports_quantity=True),
    ]),
]


def seed_routings() -> dict[str, int]:
    erp = ExternalSystem.objects.get(kind="erp", name="ERP")
    created: dict[str, int] = {}
    result = work_centers_upsert(centers=WORK_CENTERS, actor=erp.service_user, reason=REASON)
    if result["created"]:
        created["work centers"] = len(result["created"])
    for plant, operations in ROUTINGS:
        if Routing.objects.filter(part__number="BK-100", plant__code=plant).exists():
            continue  # a process engineer may have changed it since: leave it alone
        routing_push(system=erp, part="BK-100", plant=plant, effective_from=EFFECTIVE,
                     operations=operations, actor=erp.service_user, reason=REASON)
        created["routings"] = created.get("routings", 0) + 1
    return created
