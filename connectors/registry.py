"""Connectors by name: ExternalSystem.connector names one of these."""

from __future__ import annotations

from .base import Connector
from .inventree import InvenTreeConnector
from .rest import RestJsonConnector
from .webhook import WebhookConnector

CONNECTORS: dict[str, Connector] = {c.name: c for c in (RestJsonConnector(), WebhookConnector(),
                                                         InvenTreeConnector())}


def get_connector(name: str) -> Connector:
    try:
        return CONNECTORS[name]
    except KeyError:
        raise LookupError(f"unknown connector {name!r}; known: {', '.join(sorted(CONNECTORS))}")\
            from None


def connector_names() -> list[str]:
    return sorted(CONNECTORS)
