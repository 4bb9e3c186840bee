"""Sending current mBOM versions to their plant's ERP again (docs/mbom.md, "Sending to the
ERP"): after a new ERP is connected (an InvenTree that holds nothing yet), or when the ERP lost
what it was sent. The message is the one generation writes, rebuilt from the stored version —
the same lines, parts, units and sources — on the same ordering key, so it queues behind
anything still on its way for that mBOM. A converging ERP connector applies only what differs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from thread.bom.engine.serialise import decimal_text
from thread.catalog.selectors import outbound_unit_codes
from thread.errors import ErrorItem, StateConflict
from thread.flows.models import OutboundMessage
from thread.flows.outbox import NewOutboundMessage, outbound_messages_write
from thread.history import require_reason

from ..models import MBomLine, MBomVersion
from .generation import TOPIC, optional_decimal_text, ordering_key, parts_described


def mbom_versions_send(*, versions: Iterable[MBomVersion], actor: AbstractBaseUser | None,
                       reason: str) -> list[OutboundMessage]:
    """One `mbom.published` message per version to its plant's ERP, in one transaction. Only
    current versions are sent (an old one would overwrite the ERP's BOM with the past), and
    only to plants that have an ERP."""
    reason = require_reason(reason)
    with transaction.atomic():
        rows = list(MBomVersion.objects.select_related(
            "mbom__revision__part__base_unit", "mbom__plant__erp_system",
            "rule_set_version", "root__part").filter(pk__in=[v.pk for v in versions])
            .order_by("pk"))
        problems = [ErrorItem(f"/versions/{index}", code, detail) for index, (code, detail) in
                    enumerate(_refusal(v) for v in rows) if code]
        if problems:
            raise StateConflict("; ".join(p.detail for p in problems), problems)
        lines = {}
        for line in MBomLine.objects.filter(version__in=rows).select_related(
                "part", "unit", "substitutes_for").order_by("version_id", "position"):
            lines.setdefault(line.version_id, []).append(line)
        described = parts_described({v.mbom.revision.part.number for v in rows}
                                    | {line.part.number for found in lines.values()
                                       for line in found})
        sent = []
        for erp in {v.mbom.plant.erp_system for v in rows}:
            mine = [v for v in rows if v.mbom.plant.erp_system == erp]
            units = outbound_unit_codes(system=erp)
            sent += outbound_messages_write(system=erp, messages=[NewOutboundMessage(
                topic=TOPIC, payload=stored_payload(v, lines.get(v.pk, []), units, described),
                about=v, cause=None, ordering_key=ordering_key(v.mbom.plant,
                                                               v.mbom.revision.part.number),
                correlation_id=f"resend:{v.pk}") for v in mine])
    return sent


def _refusal(version: MBomVersion) -> tuple[str, str]:
    if not version.is_current:
        return "not_current", f"{version} is not current: only the current version is sent."
    if version.mbom.plant.erp_system is None:
        return "no_erp", f"Plant {version.mbom.plant.code} has no ERP."
    return "", ""


def stored_payload(version: MBomVersion, lines: list[MBomLine], units: dict[str, str],
                   described: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The message generation wrote for this version, rebuilt from what is stored
    (`described`: `parts_described` of every part the versions name, read once)."""
    revision = version.mbom.revision
    numbers = {revision.part.number, *(line.part.number for line in lines)}
    resolved = version.resolved_revisions or {}
    return {
        "plant": version.mbom.plant.code, "part": revision.part.number,
        "revision": revision.label, "version": version.number,
        "base_unit": revision.part.base_unit.code,
        "rule_set_version": version.rule_set_version.number, "as_of": version.as_of.isoformat(),
        "product": version.root.part.number, "product_revision": version.root.label,
        "lines": [{
            "position": line.position, "part": line.part.number,
            "quantity": decimal_text(line.quantity), "unit": line.unit.code,
            "item_type": line.item_type, "make_or_buy": line.make_or_buy,
            "scrap_percent": optional_decimal_text(line.scrap_percent),
            "yield_percent": optional_decimal_text(line.yield_percent), "operation": line.operation,
            "erp_fields": dict(line.erp_fields),
            "substitutes_for": line.substitutes_for.number if line.substitutes_for else None,
            "reference_designators": list(line.reference_designators)} for line in lines],
        "parts": {number: {**described[number],
                           "revision": resolved.get(number, {}).get("label", "")}
                  for number in sorted(numbers) if number in described},
        "units": units,
        "sources": {str(line.position): list(dict.fromkeys(
            i for path in (line.lineage or {}).get("paths", []) for i in path))
            for line in lines},
    }
