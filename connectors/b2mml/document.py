"""A work order as plain data: what Thread tells an MES, before it becomes B2MML XML or
B2MML-JSON. The orders app builds these from its records; the renderers here turn them into
documents and the parsers turn documents back into them (the round trip the tests check).

Times are aware datetimes; durations are minutes (Decimal). Quantities are Decimal in the unit
named next to them (Thread's unit code)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal


class ScheduleVerb(enum.StrEnum):
    """The verb of an OperationsSchedule BOD Thread writes: a new work order (Process), a new
    state of one the MES already has (Change: the whole request again, as it now stands), or
    its withdrawal (Cancel: the request as last sent, so the MES knows exactly what goes)."""

    PROCESS = "Process"
    CHANGE = "Change"
    CANCEL = "Cancel"

    @property
    def root(self) -> str:
        return f"{self.value}OperationsSchedule"


class MaterialUse(enum.StrEnum):
    """B2MML's MaterialUse values Thread writes."""

    CONSUMED = "Consumed"
    PRODUCED = "Produced"


@dataclass(frozen=True)
class Material:
    """One MaterialRequirement: a component to issue to an operation, or the part it makes."""

    part: str  # the part number: the MaterialDefinitionID
    description: str
    quantity: Decimal
    unit: str
    use: MaterialUse = MaterialUse.CONSUMED
    revision: str = ""  # the produced part's revision label (blank for components)


@dataclass(frozen=True)
class Operation:
    """One routing operation of the work order: a SegmentRequirement."""

    sequence: int  # 10, 20, 30… unique in the work order
    code: str  # the operation code mBOM lines point to ("ASSY")
    description: str
    work_center: str  # the work center's code: the EquipmentRequirement's EquipmentID
    setup_minutes: Decimal
    run_minutes_per_unit: Decimal
    planned_minutes: Decimal  # setup + run * quantity (+ queue and move): the Duration
    queue_minutes: Decimal | None = None
    move_minutes: Decimal | None = None
    milestone: bool = False
    reports_quantity: bool = False
    instructions: str = ""
    document_reference: str = ""
    # The components issued to this operation. Not the work order's own part: the renderer adds
    # that (part, revision, quantity) to the last operation as the Produced requirement.
    materials: tuple[Material, ...] = ()


@dataclass(frozen=True)
class WorkOrderDocument:
    """One OperationsRequest: a production order as the MES receives it."""

    number: str  # the work order's id at the MES (the OperationsRequest ID)
    production_order: str  # the ERP's order number
    plant: str  # the plant code: the HierarchyScope's EquipmentID
    part: str
    part_description: str
    revision: str
    quantity: Decimal
    unit: str
    planned_start: datetime
    planned_end: datetime
    operations: tuple[Operation, ...]
    # Where it was built from, for the MES and for an auditor reading the document:
    # {"revision": "BK-100 B", "mbom_version": "12", "rule_set_version": "BER rules v3",
    #  "routing_version": "BK-100 @ BER v2"}
    lineage: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class MaterialDefinition:
    """A part the MES has not received yet (ProcessMaterialDefinition)."""

    part: str
    description: str
    unit: str


@dataclass(frozen=True)
class Envelope:
    """The ApplicationArea of a BOD: who sends it, when, and its unique id."""

    sender: str  # "Thread"
    bod_id: str  # unique per document (the work order number and version, a UUID…)
    created_at: datetime
