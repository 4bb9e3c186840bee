"""ERPNext (Frappe, v15) as a plant's ERP (docs/connectors.md, "ERPNext"): items and BOMs out,
by converging on the REST resource API (`/api/resource/<DocType>`, `Authorization: token
<key>:<secret>`); work orders and purchase orders in, as plain data for the orders app's poll.

A submitted document is immutable in ERPNext, so an `mbom.published` message converges thus:
1. the items: every part the mBOM names is found by `item_code` (Thread's part number) in one
   list request, and each missing one is created (item_name, item_group, stock_uom);
2. the product's default, submitted BOM is read and compared with the mBOM: the same items,
   quantities, units (and operations) — nothing is written;
3. else a **new BOM** is created submitted (`docstatus` 1), active and default; ERPNext moves the
   default to it and the previous one stays as its history.
A `routing.released` message does the same with the operations (`with_operations`, operation,
workstation, time in minutes): a new default BOM with the current default's items and the
routing's operations. A repeated or resumed delivery finds the BOM it made and writes nothing.

Frappe refuses with `417` (ValidationError and its kin), `409` (DuplicateEntryError), `404` or
`403` (PermissionError), with `exc_type` and `_server_messages`: the delivery is dead with those
words; 5xx and timeouts are retried.

Options (ExternalSystem.connector_options):
    {"item_group": "Products",            # the group of items Thread creates
     "units": {"pcs": "Nos"},             # Thread unit code → ERPNext UOM (default pcs → Nos)
     "work_centers": {"ASM-1": "Assembly Line 1"},  # Thread work center → Workstation
     "plant": "BER",                      # the plant whose orders the poll reads
     "time_zone": "Europe/Berlin",        # the site's time zone (default UTC)
     "quantity_digits": 6}
The credential (one environment variable) is "<api key>:<api secret>" of ERPNext's user.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx

from .base import MappingError, OutboundEnvelope, PeerConfig, ProbeReport, read_credential
from .converging import ConvergingConnector, Conversation, Difference
from .mbom_plan import Plan, at_precision, number_of, unit_map
from .orders import ManufacturingOrder, PurchaseLine, PurchaseOrder

TOPIC = "mbom.published"
ROUTING_TOPIC = "routing.released"
DEFAULT_UNITS = {"pcs": "Nos"}
QUANTITY_DIGITS = 6  # unless the option says
# What the user must be allowed to read, as "test connection" checks it.
NEEDED_DOCTYPES = ("Item", "BOM", "Operation", "Workstation", "Work Order", "Purchase Order")
FRAPPE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"
FIRST_POLL_DAYS, OVERLAP_SECONDS = 30, 300
# Work Order statuses and what they are in Thread's mirror (a draft is planned).
WORK_ORDER_STATUSES = {"Draft": "planned", "Not Started": "released", "In Process": "in_progress",
                       "Stopped": "planned", "Completed": "completed", "Closed": "closed",
                       "Cancelled": "cancelled"}


def resource(doctype: str, name: str | None = None) -> str:
    path = f"/api/resource/{quote(doctype)}"
    return f"{path}/{quote(name, safe='')}" if name is not None else path


def listing(conversation: Conversation, doctype: str, *, fields: list[str],
            filters: list[list[Any]], order_by: str = "") -> list[dict[str, Any]]:
    """Every matching document (Frappe pages by `limit_page_length`; 0 is all)."""
    params = {"fields": json.dumps(fields), "filters": json.dumps(filters),
              "limit_page_length": 0}
    if order_by:
        params["order_by"] = order_by
    return (conversation.request("GET", resource(doctype), params=params) or {}).get("data", [])


class ErpNextConnector(ConvergingConnector):
    name = "erpnext"
    readable_topics = frozenset({TOPIC})
    topics = frozenset({TOPIC, ROUTING_TOPIC})

    def auth_headers(self, peer: PeerConfig) -> dict[str, str]:
        if not peer.credential_name:
            raise MappingError(f"{peer.system_name}: ERPNext needs the user's API key and secret: "
                               "set the credential name to the environment variable that "
                               "holds \"<api key>:<api secret>\"")
        return {"Authorization": f"token {read_credential(peer.credential_name)}"}

    def answer_text(self, response: httpx.Response) -> str:
        """Frappe's refusal in its own words: the exception type and its messages."""
        try:
            body = response.json()
        except ValueError:
            return response.text[:500]
        messages = []
        for raw in json.loads(body.get("_server_messages") or "[]"):
            try:
                messages.append(str(json.loads(raw).get("message", raw)))
            except (ValueError, AttributeError):
                messages.append(str(raw))
        if body.get("_error_message"):
            messages.append(str(body["_error_message"]))
        text = f"{body.get('exc_type') or 'error'}: {' '.join(messages) or body.get('exception', '')}"
        if response.status_code == 403:
            text += (" — give ERPNext's user the role that may do this (Manufacturing Manager, "
                     "Item Manager, Purchase User)")
        return text[:800]

    def units(self, peer: PeerConfig, payload: Mapping[str, Any]) -> dict[str, str]:
        return unit_map(DEFAULT_UNITS, peer.options, payload)

    def rounded(self, value: Any, peer: PeerConfig) -> Decimal:
        return at_precision(value, peer.options, QUANTITY_DIGITS)

    # --- test connection -------------------------------------------------------------------

    def probe(self, client: httpx.Client, peer: PeerConfig, *,
              deadline: float | None = None) -> ProbeReport:
        """"Test connection" for ERPNext: the key (`frappe.auth.get_logged_user`), the user's
        read access to each doctype Thread uses, and the item group new items go to."""
        def checks(conversation: Conversation) -> tuple[bool, str]:
            user = conversation.request("GET", "/api/method/frappe.auth.get_logged_user")
            for doctype in NEEDED_DOCTYPES:
                conversation.request("GET", resource(doctype), params={"limit_page_length": 1})
            group = peer.options.get("item_group") or "Products"
            if conversation.request("GET", resource("Item Group", group),
                                    missing_ok=True) is None:
                return False, (f"item group {group!r} does not exist in ERPNext: set the "
                               "connector option 'item_group'")
            return True, (f"connection OK — ERPNext as {(user or {}).get('message')!r}, "
                          f"item group {group!r}")

        return self.probe_with(client, peer, deadline=deadline, checks=checks)

    # --- delivery -------------------------------------------------------------------------

    def converge(self, conversation: Conversation, envelope: OutboundEnvelope,
                 peer: PeerConfig) -> str:
        payload = envelope.payload
        if envelope.topic == ROUTING_TOPIC:
            return self.converge_routing(conversation, payload, peer)
        if envelope.topic != TOPIC:
            raise MappingError(f"the ERPNext connector takes {TOPIC} and {ROUTING_TOPIC}, not "
                               f"{envelope.topic!r}")
        plan = Plan.of(payload, self.units(peer, payload))
        created = self.ensure_items(conversation, plan, peer)
        current = self.default_bom(conversation, plan.product)
        operations = current.get("operations") or [] if current else []
        wanted = self.bom_doc(plan, peer, items=[
            {"item_code": line.part, "qty": float(self.rounded(line.quantity, peer)),
             "uom": line.unit,
             **({"operation": line.operation} if operations and line.operation in
                {op["operation"] for op in operations} else {})}
            for line in plan.lines], operations=operations)
        return self.converge_bom(conversation, plan, current, wanted, peer, created)

    def ensure_items(self, conversation: Conversation, plan: Plan, peer: PeerConfig) -> int:
        numbers = sorted(plan.part_units)
        found = {row["name"] for row in listing(conversation, "Item", fields=["name"],
                                                 filters=[["name", "in", numbers]])}
        group = peer.options.get("item_group") or "Products"
        missing = [number for number in numbers if number not in found]
        for number in missing:
            conversation.request("POST", resource("Item"), body={
                "item_code": number, "item_name": plan.names[number][:140],
                "item_group": group, "stock_uom": plan.part_units[number],
                "is_stock_item": 1})
        for number in numbers:
            conversation.remember("item", number, number)
        return len(missing)

    def default_bom(self, conversation: Conversation, item: str) -> dict[str, Any] | None:
        """The item's default, submitted BOM, whole (with its items and operations)."""
        rows = listing(conversation, "BOM", fields=["name"],
                       filters=[["item", "=", item], ["is_default", "=", 1],
                                ["docstatus", "=", 1]], order_by="creation desc")
        if not rows:
            return None
        return (conversation.request("GET", resource("BOM", rows[0]["name"])) or {}).get("data")

    def bom_doc(self, plan: Plan, peer: PeerConfig, *, items: list[dict[str, Any]],
                operations: list[dict[str, Any]]) -> dict[str, Any]:
        return {"item": plan.product, "quantity": 1, "uom": plan.unit, "is_active": 1,
                "is_default": 1, "with_operations": 1 if operations else 0,
                "items": items, "operations": [
                    {"operation": op["operation"], "workstation": op["workstation"],
                     "time_in_mins": float(self.rounded(op["time_in_mins"], peer))}
                    for op in operations]}

    def shape(self, doc: Mapping[str, Any] | None, peer: PeerConfig) -> tuple:
        """What Thread compares of a BOM: its items and operations, order aside."""
        if not doc:
            return ()
        return (sorted((row["item_code"], self.rounded(row.get("qty"), peer),
                        row.get("uom") or "", row.get("operation") or "")
                       for row in doc.get("items") or []),
                sorted((op["operation"], op.get("workstation") or "",
                        self.rounded(op.get("time_in_mins"), peer))
                       for op in doc.get("operations") or []),
                str(doc.get("uom") or ""), self.rounded(doc.get("quantity"), peer))

    def converge_bom(self, conversation: Conversation, plan: Plan, current: dict | None,
                     wanted: dict[str, Any], peer: PeerConfig, created: int) -> str:
        items = f"{created} item{'s' if created != 1 else ''} created"
        if current is not None and self.shape(current, peer) == self.shape(wanted, peer):
            conversation.remember("bom", plan.key, current["name"])
            return f"{plan.product}: {items}, default BOM {current['name']} unchanged"
        answer = conversation.request("POST", resource("BOM"), body={**wanted, "docstatus": 1})
        name = (answer or {}).get("data", {}).get("name", "?")
        conversation.remember("bom", plan.key, name)
        return (f"{plan.product}: {items}, BOM {name} submitted as the default"
                + (f" (replacing {current['name']})" if current else ""))

    def converge_routing(self, conversation: Conversation, payload: Mapping[str, Any],
                         peer: PeerConfig) -> str:
        try:
            plant, part = payload["plant"], payload["part"]
            steps = sorted(payload["operations"], key=lambda op: int(op["sequence"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise MappingError(f"not a routing message: {exc}") from None
        current = self.default_bom(conversation, part)
        if current is None:
            raise MappingError(f"{part} has no default BOM in ERPNext yet: send the mBOM first, "
                               "then this routing again (a BOM's operations are submitted with "
                               "its items)")
        known = {row["name"] for row in listing(conversation, "Operation", fields=["name"],
                                                 filters=[["name", "in", [s["operation_code"]
                                                                          for s in steps]]])}
        for step in steps:
            if step["operation_code"] not in known:
                conversation.request("POST", resource("Operation"), body={
                    "name": step["operation_code"],
                    "description": step.get("description") or step["operation_code"]})
                known.add(step["operation_code"])
        centers = peer.options.get("work_centers") or {}
        operations = [{"operation": step["operation_code"],
                       "workstation": centers.get(step["work_center"], step["work_center"]),
                       "time_in_mins": number_of(step["run_minutes"])} for step in steps]
        codes = {op["operation"] for op in operations}
        # Where the mBOM consumes each part (the routing message lists it), else as it was.
        consumed: dict[str, str] = {}
        for entry in payload.get("line_operations") or []:
            consumed.setdefault(entry["part"], entry["operation"])
        items = []
        for row in current.get("items") or []:
            operation = consumed.get(row["item_code"]) or row.get("operation")
            items.append({"item_code": row["item_code"],
                          "qty": float(self.rounded(row["qty"], peer)), "uom": row.get("uom"),
                          **({"operation": operation} if operation in codes else {})})
        plan = Plan(plant, part, "", 0, str(current.get("uom") or ""), {}, {}, ())
        wanted = self.bom_doc(plan, peer, items=items, operations=operations)
        return self.converge_bom(conversation, plan, current, wanted, peer, 0)

    # --- drift ----------------------------------------------------------------------------

    def compare(self, conversation: Conversation, envelope: OutboundEnvelope,
                peer: PeerConfig) -> list[Difference]:
        """Drift: the item's default BOM against the mBOM message, line by line (by item)."""
        plan = Plan.of(envelope.payload, self.units(peer, envelope.payload))
        current = self.default_bom(conversation, plan.product)
        if current is None:
            return [Difference(plan.key, "", "a default BOM", "")]
        theirs: dict[str, list[dict]] = {}
        for row in current.get("items") or []:
            theirs.setdefault(row["item_code"], []).append(row)
        differences = []
        for line in plan.lines:
            rows = theirs.get(line.part) or []
            where = f"{plan.key}/{line.position}"
            if not rows:
                differences.append(Difference(where, "", f"{line.quantity} of {line.part}", ""))
                continue
            row = rows.pop(0)
            if self.rounded(row.get("qty"), peer) != self.rounded(line.quantity, peer):
                differences.append(Difference(where, "qty", text(line.quantity),
                                              text(row.get("qty"))))
            if (row.get("uom") or "") != line.unit:
                differences.append(Difference(where, "uom", line.unit, row.get("uom") or ""))
        differences += [Difference(f"{plan.key}/+{code}", "", "", f"{text(row.get('qty'))} "
                                   "(extra line)") for code, rows in theirs.items()
                        for row in rows]
        return differences


def text(value: Any) -> str:
    return f"{Decimal(str(value or 0)).normalize():f}"


# --- Orders in (the orders app's poll) -----------------------------------------------------------

def frappe_datetime(value: Any, zone: ZoneInfo) -> datetime | None:
    """Frappe's datetimes are the site's local time, without a zone (System Settings → Time
    Zone; the connector option 'time_zone')."""
    if not value:
        return None
    return datetime.fromisoformat(str(value)[:26]).replace(tzinfo=zone)


class ErpNextOrders:
    """Work orders and purchase orders modified since a moment (Frappe's `modified`)."""

    def __init__(self, connector: ErpNextConnector, client: httpx.Client, peer: PeerConfig, *,
                 deadline: float | None) -> None:
        self.conversation = Conversation(connector, client, peer, deadline=deadline,
                                         known_ids={})
        self.thread_units = {erp: thread for thread, erp in
                             unit_map(DEFAULT_UNITS, peer.options).items()}
        try:
            self.zone = ZoneInfo(peer.options.get("time_zone") or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            raise MappingError(f"{peer.system_name}: connector option 'time_zone' "
                               f"{peer.options.get('time_zone')!r} is not a time zone") from None

    def since(self, mark: str | None, now: datetime) -> str:
        """The mark is the site's own `modified` text; a first poll starts at the site's time
        FIRST_POLL_DAYS ago."""
        if not mark:
            return (now.astimezone(self.zone) - timedelta(days=FIRST_POLL_DAYS)) \
                .replace(tzinfo=None).strftime(FRAPPE_DATETIME)
        moment = datetime.fromisoformat(mark[:26]) - timedelta(seconds=OVERLAP_SECONDS)
        return moment.strftime(FRAPPE_DATETIME)

    def manufacturing_orders(self, since: str) -> list[ManufacturingOrder]:
        rows = listing(self.conversation, "Work Order",
                       fields=["name", "production_item", "qty", "stock_uom",
                               "planned_start_date", "planned_end_date", "status", "docstatus",
                               "modified"],
                       filters=[["modified", ">=", since]], order_by="modified asc")
        out = []
        for row in rows:
            status = "Cancelled" if row.get("docstatus") == 2 else \
                "Draft" if row.get("docstatus") == 0 else row.get("status") or ""
            out.append(ManufacturingOrder(
                name=row["name"], part=row.get("production_item") or "",
                quantity=Decimal(str(row.get("qty") or 0)),
                unit=self.thread_units.get(row.get("stock_uom") or "", row.get("stock_uom") or ""),
                state=status, status=WORK_ORDER_STATUSES.get(status, ""),
                start=frappe_datetime(row.get("planned_start_date"), self.zone),
                end=frappe_datetime(row.get("planned_end_date"), self.zone),
                modified=row["modified"]))
        return out

    def purchase_orders(self, since: str) -> list[PurchaseOrder]:
        """Submitted (or cancelled) purchase orders modified since, each read whole."""
        names = [row["name"] for row in listing(
            self.conversation, "Purchase Order", fields=["name"],
            filters=[["modified", ">=", since], ["docstatus", "!=", 0]],
            order_by="modified asc")]
        out = []
        for name in names:
            doc = (self.conversation.request("GET", resource("Purchase Order", name)) or {}) \
                .get("data") or {}
            ordered = frappe_datetime(doc.get("transaction_date"), self.zone)
            lines = []
            for row in doc.get("items") or []:
                due = frappe_datetime(row.get("schedule_date") or doc.get("schedule_date"),
                                      self.zone)
                uom = row.get("uom") or row.get("stock_uom") or ""
                lines.append(PurchaseLine(
                    id=int(row.get("idx") or 0), part=row.get("item_code") or "",
                    quantity=Decimal(str(row.get("qty") or 0)),
                    received=Decimal(str(row.get("received_qty") or 0)),
                    unit=self.thread_units.get(uom, uom), due=due.date() if due else None))
            out.append(PurchaseOrder(
                name=doc.get("name", name), supplier=doc.get("supplier") or "",
                state=doc.get("status") or "", cancelled=doc.get("docstatus") == 2,
                closed=doc.get("status") in ("Closed", "Completed"),
                ordered_on=ordered.date() if ordered else None, lines=tuple(lines),
                modified=doc.get("modified") or ""))
        return out
