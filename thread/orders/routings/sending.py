"""A released routing to the plant's ERP, where that ERP takes routings from Thread (Odoo, whose
BOMs carry their operations: docs/connectors.md, "Odoo"). Other ERPs send Thread their routings
(`routing_push`) and get none back; a routing the plant's own ERP pushed is never echoed to it.

The message travels on the mBOM's ordering key of the part at the plant, so the ERP gets the
BOM and its operations in the order Thread wrote them."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Model

from connectors.registry import takes
from thread.bom.mbom.generation import ordering_key
from thread.bom.models import MBomVersion
from thread.catalog.selectors import outbound_unit_codes
from thread.errors import StateConflict
from thread.flows.models import ExternalSystem, OutboundMessage
from thread.flows.outbox import outbound_message_write
from thread.history import require_reason

from ..choices import RoutingStatus
from ..models import RoutingVersion

TOPIC = "routing.released"


def routing_payload(version: RoutingVersion) -> dict[str, Any]:
    """The routing's operations, and where the plant's newest mBOM of the part consumes its
    lines (part, position, operation code), so the ERP's BOM lines name their operation even
    when the mBOM went before the routing."""
    routing = version.routing
    part = routing.part
    mbom = MBomVersion.objects.filter(mbom__plant=routing.plant, mbom__revision__part=part,
                                      is_current=True).order_by("-created_at", "-id").first()
    consumed = [] if mbom is None else [
        {"part": line.part.number, "position": line.position, "operation": line.operation}
        for line in mbom.lines.select_related("part").exclude(operation="")
        .order_by("position")]
    return {
        "line_operations": consumed,
        "plant": routing.plant.code, "part": part.number, "name": part.name,
        "base_unit": part.base_unit.code, "routing_version": version.number,
        "effective_from": version.effective_from.isoformat(),
        "operations": [{"sequence": op.sequence, "operation_code": op.operation_code,
                        "description": op.description, "work_center": op.work_center.code,
                        "setup_minutes": str(op.setup_minutes),
                        "run_minutes": str(op.run_minutes)}
                       for op in version.operations.select_related("work_center")
                       .order_by("sequence")],
    }


def routing_release_send(*, version: RoutingVersion, sender: ExternalSystem | None = None,
                         cause: Model | None = None) -> OutboundMessage | None:
    """In the release's transaction: the routing message to the plant's ERP, if its connector
    takes routings and it is not the ERP that pushed this routing."""
    erp = version.routing.plant.erp_system
    if erp is None or (sender is not None and sender.pk == erp.pk) or \
            not takes(erp.connector, TOPIC):
        return None
    routing = version.routing
    return outbound_message_write(
        system=erp, topic=TOPIC, payload={**routing_payload(version),
                                          "units": outbound_unit_codes(system=erp)},
        about=version, cause=cause or version,
        ordering_key=ordering_key(routing.plant, routing.part.number))


def routing_version_send_again(*, version: RoutingVersion, actor: AbstractBaseUser | None,
                               reason: str) -> OutboundMessage:
    """An operator's "send again" (a newly connected ERP, a BOM edited away in Odoo): the
    released version as it stands, to the plant's ERP."""
    require_reason(reason)
    if version.status != RoutingStatus.RELEASED:
        raise StateConflict(f"{version} is {version.get_status_display().lower()}: only a "
                            "released routing is sent.")
    with transaction.atomic():
        message = routing_release_send(version=version)
    if message is None:
        erp = version.routing.plant.erp_system
        raise StateConflict(f"{version.routing.plant.code}'s ERP "
                            f"({erp.name if erp else 'none'}) does not take routings from "
                            "Thread: its connector reads them from the ERP itself.")
    return message
