"""The stand-in for "publish a rule change" in the browser scenario — the one place to replace.

The mBOM publish (a published rule set regenerates each plant's mBOMs and writes an
`mbom.published` message for the plant's ERP) is not built yet. Until it is,
`produce_erp_messages` writes what that publish will write, the same way it will: through
`outbound_message_write`, inside one transaction, topic `mbom.published`, ordering key
`mbom:<plant>:<part>`. When the publish exists, replace the body of this function with the real
thing (publish the plant's draft rule set) and keep its callers.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from thread.catalog.models import Part, Plant
from thread.flows.models import ExternalSystem, OutboundMessage
from thread.flows.outbox import outbound_message_write

TOPIC = "mbom.published"


def produce_erp_messages(*, erp: ExternalSystem, plant: Plant,
                         parts: Iterable[Part]) -> list[OutboundMessage]:
    """One `mbom.published` message per part for the plant's ERP, in one transaction, about the
    part and caused by the plant (the real publish names the rule-set publish as the cause)."""
    with transaction.atomic():
        return [
            outbound_message_write(
                system=erp, topic=TOPIC, about=part, cause=plant,
                payload={"plant": plant.code, "part": part.number, "lines": []},
                ordering_key=f"mbom:{plant.code}:{part.number}")
            for part in parts
        ]
