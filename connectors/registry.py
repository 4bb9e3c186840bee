"""Connectors by name: ExternalSystem.connector names one of these."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from .base import Connector, PeerConfig
from .erpnext import ErpNextConnector, ErpNextOrders
from .inventree import InvenTreeConnector
from .odoo import OdooConnector
from .odoo_orders import OdooOrders
from .orders import OrdersReader
from .rest import RestJsonConnector
from .webhook import WebhookConnector

CONNECTORS: dict[str, Connector] = {c.name: c for c in (RestJsonConnector(), WebhookConnector(),
                                                         InvenTreeConnector(), OdooConnector(),
                                                         ErpNextConnector())}


# Connectors whose ERP Thread polls for its orders (docs/connectors.md): how to read them.
ORDER_READERS: dict[str, Callable[..., OrdersReader]] = {
    "odoo": lambda client, peer, deadline: OdooOrders(CONNECTORS["odoo"], client, peer,
                                                      deadline=deadline),
    "erpnext": lambda client, peer, deadline: ErpNextOrders(CONNECTORS["erpnext"], client, peer,
                                                            deadline=deadline),
}


def orders_reader(name: str, client: httpx.Client, peer: PeerConfig, *,
                  deadline: float | None) -> OrdersReader:
    return ORDER_READERS[name](client, peer, deadline)


def reads_orders(name: str) -> bool:
    return name in ORDER_READERS


def get_connector(name: str) -> Connector:
    try:
        return CONNECTORS[name]
    except KeyError:
        raise LookupError(f"unknown connector {name!r}; known: {', '.join(sorted(CONNECTORS))}")\
            from None


def connector_names() -> list[str]:
    return sorted(CONNECTORS)


def drift_topics(name: str) -> frozenset[str]:
    """The topics a connector can read back for the drift check (none: it cannot)."""
    connector = CONNECTORS.get(name)
    return connector.readable_topics if connector is not None else frozenset()


def takes(name: str, topic: str) -> bool:
    """Whether the connector delivers `topic` by its own mapping (see Connector.topics)."""
    connector = CONNECTORS.get(name)
    return connector is not None and connector.topics is not None and topic in connector.topics
