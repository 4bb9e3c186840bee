"""Odoo as a plant's ERP (docs/connectors.md, "Odoo"): products and BOMs out, by converging, over
Odoo's external JSON-RPC API (17 and 18: `POST /jsonrpc`, `execute_kw` with the user's API key);
a released routing as the BOM's operations (`routing.released`); orders in: odoo_orders.py.

An `mbom.published` message makes the product's BOM in Odoo equal to Thread's mBOM:
1. the products: every part the mBOM names is found by `default_code` (Thread's part number) in
   one `search_read`, and the missing ones are created in one `create` (name, default_code, type,
   unit of measure);
2. Thread's BOM of the product at the plant (`mrp.bom`): the one an earlier delivery learnt,
   else the product's BOM whose `code` starts with "Thread "; created with its lines when there
   is none;
3. its lines (`mrp.bom.line`) are compared with the mBOM's lines, and the difference — lines to
   add, change and remove, and the BOM's own fields — is written in one `write` with Odoo's
   one2many commands (`(0, 0, vals)`, `(1, id, vals)`, `(2, id, 0)`).
Nothing is written that already holds, so a repeated, replayed or resumed delivery converges.

Odoo answers a refusal with HTTP 200 and an `error` object: a `ValidationError`, `UserError`,
`AccessError`, `AccessDenied` or `MissingError` is the data's fault and ends the delivery (dead,
with Odoo's message); any other error (a database conflict, a server error) is retried, like an
HTTP 5xx or a timeout.

Options (ExternalSystem.connector_options):
    {"database": "prod",                   # required: the Odoo database
     "login": "thread@example.com",        # required: the user the API key belongs to
     "units": {"pcs": "Units"},            # Thread unit code → Odoo unit of measure name
     "work_centers": {"ASM-1": "ASSY1"},   # Thread work center code → Odoo's (default: same)
     "plant": "BER",                       # the plant whose orders the poll reads
     "product_type": "consu",              # the type of products Thread creates
     "quantity_digits": 5}                 # Odoo's "Product Unit of Measure" precision
The credential is the user's API key (Odoo: Preferences → Account Security → New API Key).
Units: the system's unit codes in Thread's catalog (sent in the message) and the option `units`
map Thread's unit codes to Odoo's unit names ("pcs" is "Units" unless mapped otherwise); a unit
without a name there, or a name Odoo does not have, is a mapping error (dead, with the unit).
BOM substitutes have no place in Odoo's BOM: substitute lines are not sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from itertools import count
from typing import Any

import httpx

from .base import (
    Classification,
    MappingError,
    OutboundEnvelope,
    Outcome,
    PeerConfig,
    ProbeReport,
    read_credential,
)
from .converging import ConvergingConnector, Conversation, Difference, PeerRefused
from .mbom_plan import BOM_CODE_PREFIX, Plan, at_precision, number_of, unit_map

TOPIC = "mbom.published"
ROUTING_TOPIC = "routing.released"
RPC_PATH = "/jsonrpc"
DEFAULT_UNITS = {"pcs": "Units"}
QUANTITY_DIGITS = 5  # Odoo's "Product Unit of Measure" precision unless the option says
# Odoo's exceptions that say the data or the rights are wrong: retrying cannot help.
REFUSALS = frozenset(f"odoo.exceptions.{name}" for name in (
    "ValidationError", "UserError", "AccessError", "AccessDenied", "MissingError",
    "RedirectWarning"))
# The rights Thread's user needs, as "test connection" checks them.
NEEDED_RIGHTS = (("product.product", "read"), ("product.product", "create"),
                 ("uom.uom", "read"), ("mrp.bom", "read"), ("mrp.bom", "create"),
                 ("mrp.bom", "write"), ("mrp.bom.line", "unlink"), ("mrp.workcenter", "read"),
                 ("mrp.routing.workcenter", "create"), ("mrp.production", "read"),
                 ("purchase.order.line", "read"))
_REQUEST_IDS = count(1)


# --- JSON-RPC --------------------------------------------------------------------------------

class Rpc:
    """Odoo's external API over one conversation: authenticate once, then `execute_kw`."""

    def __init__(self, connector: OdooConnector, conversation: Conversation,
                 peer: PeerConfig) -> None:
        self.conversation, self.peer = conversation, peer
        self.database, self.login = connector.required(peer, "database"), \
            connector.required(peer, "login")
        self.key = connector.api_key(peer)
        self.uid: int | None = None

    def call(self, service: str, method: str, *args: Any, writes: bool = False,
             step: str = "") -> Any:
        body = {"jsonrpc": "2.0", "method": "call", "id": next(_REQUEST_IDS),
                "params": {"service": service, "method": method, "args": list(args)}}
        answer = self.conversation.request("POST", RPC_PATH, body=body, writes=writes,
                                           step=step or f"{service}.{method}")
        if not isinstance(answer, dict) or ("result" not in answer and "error" not in answer):
            raise PeerRefused(Classification(
                Outcome.DEAD, 200, "odoo-protocol",
                f"{step or method}: not a JSON-RPC answer — is {self.peer.base_url} Odoo?"))
        if "error" in answer:
            raise PeerRefused(fault(answer["error"], step or f"{service}.{method}"))
        return answer["result"]

    def authenticate(self) -> int:
        if self.uid is None:
            uid = self.call("common", "authenticate", self.database, self.login, self.key, {})
            if not uid:
                raise PeerRefused(Classification(
                    Outcome.DEAD, 200, "odoo-login",
                    f"Odoo refused the login {self.login!r} to database {self.database!r}: "
                    "check the login and the API key"))
            self.uid = int(uid)
        return self.uid

    def execute(self, model: str, method: str, *args: Any, writes: bool = False,
                **kwargs: Any) -> Any:
        uid = self.authenticate()
        return self.call("object", "execute_kw", self.database, uid, self.key, model, method,
                         list(args), kwargs, writes=writes, step=f"{model} {method}")


def fault(error: Mapping[str, Any], what: str) -> Classification:
    """Odoo's JSON-RPC error as a delivery outcome: its exception name decides."""
    data = error.get("data") or {}
    name = str(data.get("name") or "")
    message = str(data.get("message") or error.get("message") or "").strip()
    short = name.rsplit(".", 1)[-1] or "error"
    detail = f"{what}: Odoo {short}: {message}"[:1000]
    if name in REFUSALS:
        return Classification(Outcome.DEAD, 200, f"odoo-{short}", detail)
    return Classification(Outcome.RETRY, 200, f"odoo-{short}", detail)


def text(value: Any) -> str:
    """A value as a drift finding shows it: a many2one by its name, a number by value."""
    if isinstance(value, list | tuple) and len(value) == 2:
        return str(value[1])
    if value is False or value is None:
        return ""
    if isinstance(value, float):
        return f"{Decimal(str(value)).normalize():f}"
    return str(value)


def many2one(value: Any) -> int | None:
    """Odoo reads a many2one as [id, name], or False when unset."""
    return int(value[0]) if isinstance(value, list | tuple) and value else None


# --- The connector -----------------------------------------------------------------------------

class OdooConnector(ConvergingConnector):
    name = "odoo"
    readable_topics = frozenset({TOPIC})
    topics = frozenset({TOPIC, ROUTING_TOPIC})

    def required(self, peer: PeerConfig, option: str) -> str:
        value = peer.options.get(option)
        if not value or not isinstance(value, str):
            raise MappingError(f"{peer.system_name}: connector option {option!r} is not set "
                               "(see docs/connectors.md, \"Odoo\")")
        return value

    def api_key(self, peer: PeerConfig) -> str:
        if not peer.credential_name:
            raise MappingError(f"{peer.system_name}: Odoo needs the user's API key: set the "
                               "credential name to the environment variable that holds it")
        return read_credential(peer.credential_name)

    def auth_headers(self, peer: PeerConfig) -> dict[str, str]:
        return {}  # the API key travels in each call's arguments, as Odoo's API asks

    def units(self, peer: PeerConfig, payload: Mapping[str, Any]) -> dict[str, str]:
        return unit_map(DEFAULT_UNITS, peer.options, payload)

    # --- test connection -------------------------------------------------------------------

    def probe(self, client: httpx.Client, peer: PeerConfig, *,
              deadline: float | None = None) -> ProbeReport:
        """"Test connection" for Odoo: the server (`common.version`), the login and API key
        (`common.authenticate`) on the database, and the rights Thread needs."""
        def checks(conversation: Conversation) -> tuple[bool, str]:
            rpc = Rpc(self, conversation, peer)
            version = rpc.call("common", "version") or {}
            rpc.authenticate()
            missing = [f"{operation} {model}" for model, operation in NEEDED_RIGHTS
                       if not rpc.execute(model, "check_access_rights", operation,
                                          raise_exception=False)]
            if missing:
                return False, (f"the user {rpc.login!r} lacks rights Thread needs: "
                               f"{', '.join(missing)} (give them Manufacturing / Administrator, "
                               "Inventory / User and Purchase / User)")
            return True, (f"connection OK — Odoo {version.get('server_version', '?')}, "
                          f"database {rpc.database!r} as {rpc.login!r} (uid {rpc.uid})")

        return self.probe_with(client, peer, deadline=deadline, checks=checks)

    # --- delivery -------------------------------------------------------------------------

    def converge(self, conversation: Conversation, envelope: OutboundEnvelope,
                 peer: PeerConfig) -> str:
        if envelope.topic == ROUTING_TOPIC:
            return self.converge_routing(conversation, envelope, peer)
        if envelope.topic != TOPIC:
            raise MappingError(f"the Odoo connector takes {TOPIC} and {ROUTING_TOPIC}, not "
                               f"{envelope.topic!r}")
        plan = Plan.of(envelope.payload, self.units(peer, envelope.payload))
        rpc = Rpc(self, conversation, peer)
        uoms = self.uoms(rpc, plan)
        products, created = self.ensure_products(rpc, plan, uoms, peer)
        bom = self.find_bom(rpc, conversation, plan, products)
        wanted = self.bom_fields(plan, products, uoms, peer)
        if bom is None:
            answer = rpc.execute("mrp.bom", "create", {**wanted, "bom_line_ids": [
                [0, 0, vals] for vals in self.line_fields(plan, products, uoms, peer, {})]},
                writes=True)
            conversation.remember("bom", plan.key, answer)
            return (f"{plan.product}: {created} product{'s' if created != 1 else ''} created, "
                    f"BOM created with {len(plan.lines)} lines")
        commands = self.line_commands(rpc, plan, bom["id"], products, uoms, peer)
        header = {name: value for name, value in wanted.items()
                  if not self.same(bom.get(name), value, peer)}
        if commands or header:
            rpc.execute("mrp.bom", "write", [bom["id"]],
                        {**header, **({"bom_line_ids": commands} if commands else {})},
                        writes=True)
        return (f"{plan.product}: {created} product{'s' if created != 1 else ''} created, "
                f"{len(commands)} BOM line change{'s' if len(commands) != 1 else ''}"
                + (f", BOM fields {', '.join(sorted(header))}" if header else ""))

    def uoms(self, rpc: Rpc, plan: Plan) -> dict[str, int]:
        """Odoo's unit ids by name, each name the plan uses found once."""
        names = sorted(set(plan.part_units.values()) | {line.unit for line in plan.lines})
        found = {row["name"]: row["id"] for row in rpc.execute(
            "uom.uom", "search_read", [["name", "in", names]], fields=["name"])}
        missing = [name for name in names if name not in found]
        if missing:
            raise MappingError(f"Odoo has no unit of measure named {', '.join(map(repr, missing))}"
                               " — check the unit codes of the system or the option 'units'")
        return found

    def ensure_products(self, rpc: Rpc, plan: Plan, uoms: Mapping[str, int],
                        peer: PeerConfig) -> tuple[dict[str, dict[str, Any]], int]:
        numbers = sorted(plan.part_units)
        products = {row["default_code"]: row for row in rpc.execute(
            "product.product", "search_read", [["default_code", "in", numbers]],
            fields=["default_code", "name", "uom_id", "product_tmpl_id"])}
        missing = [number for number in numbers if number not in products]
        if missing:
            rpc.execute("product.product", "create", [
                {"name": plan.names[number], "default_code": number,
                 "type": peer.options.get("product_type") or "consu",
                 "uom_id": uoms[plan.part_units[number]],
                 "uom_po_id": uoms[plan.part_units[number]]} for number in missing],
                writes=True)
            products.update({row["default_code"]: row for row in rpc.execute(
                "product.product", "search_read", [["default_code", "in", missing]],
                fields=["default_code", "name", "uom_id", "product_tmpl_id"])})
        for number, row in products.items():
            rpc.conversation.remember("product", number, row["id"])
        return products, len(missing)

    def find_bom(self, rpc: Rpc, conversation: Conversation, plan: Plan,
                 products: Mapping[str, dict[str, Any]]) -> dict[str, Any] | None:
        """Thread's BOM of the product: the one learnt before (still the product's), else the
        product's BOM whose code Thread wrote."""
        template = many2one(products[plan.product]["product_tmpl_id"])
        fields = ["product_tmpl_id", "product_id", "product_qty", "product_uom_id", "type",
                  "code"]
        known = conversation.known("bom", plan.key)
        if known is not None:
            found = rpc.execute("mrp.bom", "search_read", [["id", "=", int(known)]],
                                fields=fields)
            if found and many2one(found[0]["product_tmpl_id"]) == template:
                return found[0]
            conversation.forget("bom", plan.key)  # deleted or re-pointed by hand: look it up
        found = rpc.execute("mrp.bom", "search_read",
                            [["product_tmpl_id", "=", template],
                             ["code", "=like", f"{BOM_CODE_PREFIX}{plan.plant} %"]],
                            fields=fields, order="id", limit=1)
        if found:
            conversation.remember("bom", plan.key, found[0]["id"])
            return found[0]
        return None

    def bom_fields(self, plan: Plan, products: Mapping[str, dict[str, Any]],
                   uoms: Mapping[str, int], peer: PeerConfig) -> dict[str, Any]:
        product = products[plan.product]
        return {"product_tmpl_id": many2one(product["product_tmpl_id"]),
                "product_id": product["id"], "product_qty": 1.0,
                "product_uom_id": uoms[plan.unit], "type": "normal", "code": plan.code}

    def line_fields(self, plan: Plan, products: Mapping[str, dict[str, Any]],
                    uoms: Mapping[str, int], peer: PeerConfig,
                    operations: Mapping[str, int]) -> list[dict[str, Any]]:
        """Odoo's values of each line; its operation where the BOM has the one it names."""
        return [{"product_id": products[line.part]["id"],
                 "product_qty": float(self.rounded(line.quantity, peer)),
                 "product_uom_id": uoms[line.unit], "sequence": line.position,
                 "operation_id": operations.get(line.operation) or False}
                for line in plan.lines]

    def operations(self, rpc: Rpc, bom: int) -> dict[str, int]:
        """The BOM's operations by Thread's operation code (the first word of their name)."""
        return {row["name"].split(" ", 1)[0]: row["id"] for row in rpc.execute(
            "mrp.routing.workcenter", "search_read", [["bom_id", "=", bom]], fields=["name"],
            order="sequence, id")}

    def paired_lines(self, rpc: Rpc, plan: Plan, bom: int,
                     products: Mapping[str, dict[str, Any]], uoms: Mapping[str, int],
                     peer: PeerConfig) -> tuple[list[tuple[dict[str, Any], dict[str, Any] | None]],
                                                list[dict[str, Any]]]:
        """Each planned line (as Odoo's values) with the BOM's existing line of the same
        product (the same sequence first), or None; and the existing lines no plan line took."""
        existing = rpc.execute("mrp.bom.line", "search_read", [["bom_id", "=", bom]],
                               fields=["product_id", "product_qty", "product_uom_id",
                                       "sequence", "operation_id"], order="sequence, id")
        taken: set[int] = set()
        pairs = []
        for wanted in self.line_fields(plan, products, uoms, peer, self.operations(rpc, bom)):
            candidates = [row for row in existing if row["id"] not in taken
                          and many2one(row["product_id"]) == wanted["product_id"]]
            match = next((row for row in candidates if row["sequence"] == wanted["sequence"]),
                         candidates[0] if candidates else None)
            if match is not None:
                taken.add(match["id"])
            pairs.append((wanted, match))
        return pairs, [row for row in existing if row["id"] not in taken]

    def line_commands(self, rpc: Rpc, plan: Plan, bom: int,
                      products: Mapping[str, dict[str, Any]], uoms: Mapping[str, int],
                      peer: PeerConfig) -> list[list[Any]]:
        """The one2many commands that make the BOM's lines the plan's."""
        pairs, extra = self.paired_lines(rpc, plan, bom, products, uoms, peer)
        commands: list[list[Any]] = []
        for wanted, match in pairs:
            if match is None:
                commands.append([0, 0, wanted])
                continue
            changed = {name: value for name, value in wanted.items()
                       if not self.same(match.get(name), value, peer)}
            if changed:
                commands.append([1, match["id"], changed])
        return commands + [[2, row["id"], 0] for row in extra]

    def rounded(self, value: Any, peer: PeerConfig) -> Decimal:
        return at_precision(value, peer.options, QUANTITY_DIGITS)

    def same(self, current: Any, wanted: Any, peer: PeerConfig) -> bool:
        """Odoo's value against Thread's: many2one by id, quantities at Odoo's precision."""
        if isinstance(wanted, float):
            try:
                return self.rounded(Decimal(str(current)), peer) == \
                    self.rounded(Decimal(str(wanted)), peer)
            except (InvalidOperation, ValueError):
                return False
        if isinstance(current, list):
            return many2one(current) == (wanted or None)
        return (current if current is not False else None) == \
            (wanted if wanted is not False else None)

    # --- drift ----------------------------------------------------------------------------

    def compare(self, conversation: Conversation, envelope: OutboundEnvelope,
                peer: PeerConfig) -> list[Difference]:
        """Drift: how Odoo's products and BOM differ from the mBOM message, read only, for the
        fields Thread writes."""
        plan = Plan.of(envelope.payload, self.units(peer, envelope.payload))
        rpc = Rpc(self, conversation, peer)
        uoms = self.uoms(rpc, plan)
        products = {row["default_code"]: row for row in rpc.execute(
            "product.product", "search_read", [["default_code", "in", sorted(plan.part_units)]],
            fields=["default_code", "name", "uom_id", "product_tmpl_id"])}
        differences = [Difference(number, "", "present", "")
                       for number in sorted(plan.part_units) if number not in products]
        if plan.product not in products:
            return differences
        bom = self.find_bom(rpc, conversation, plan, products)
        if bom is None:
            return [*differences, Difference(plan.key, "", plan.code, "")]
        wanted = self.bom_fields(plan, products, uoms, peer)
        differences += [Difference(plan.key, name, text(value), text(bom.get(name)))
                        for name, value in wanted.items()
                        if not self.same(bom.get(name), value, peer)]
        if any(line.part not in products for line in plan.lines):
            return differences
        by_id = {row["id"]: number for number, row in products.items()}
        unit_names = {uom_id: name for name, uom_id in uoms.items()}

        def ours(name: str, value: Any) -> str:  # Thread's value, named as Odoo reads it
            return unit_names.get(value, text(value)) if name == "product_uom_id" else text(value)

        pairs, extra = self.paired_lines(rpc, plan, bom["id"], products, uoms, peer)
        for wanted, match in pairs:
            where = f"{plan.key}/{wanted['sequence']}"
            if match is None:
                differences.append(Difference(
                    where, "", f"{wanted['product_qty']} of {by_id[wanted['product_id']]}", ""))
                continue
            differences += [Difference(where, name, ours(name, value), text(match.get(name)))
                            for name, value in wanted.items()
                            if not self.same(match.get(name), value, peer)]
        differences += [Difference(f"{plan.key}/+{text(row['product_id'])}", "", "",
                                   f"{text(row['product_qty'])} (extra line)")
                        for row in extra]
        return differences


    # --- routings -------------------------------------------------------------------------

    def converge_routing(self, conversation: Conversation, envelope: OutboundEnvelope,
                         peer: PeerConfig) -> str:
        """A released routing as the operations of Thread's BOM of the product
        (`mrp.routing.workcenter`: name "<code> <description>", work center by code, run time
        per unit as the manual cycle time, sequence), written in one call; the BOM is created
        without lines when the mBOM has not come yet (its delivery fills them)."""
        payload = envelope.payload
        try:
            plant, part = payload["plant"], payload["part"]
            operations = sorted(payload["operations"], key=lambda op: int(op["sequence"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise MappingError(f"not a routing message: {exc}") from None
        units = self.units(peer, payload)
        base_unit = payload.get("base_unit") or "pcs"
        if base_unit not in units:
            raise MappingError(f"{part}: Thread's unit {base_unit!r} has no Odoo unit of measure"
                               " — map it in the connector option 'units'")
        plan = Plan(plant, part, "", 0, units[base_unit], {part: payload.get("name") or part},
                    {part: units[base_unit]}, ())
        rpc = Rpc(self, conversation, peer)
        uoms = self.uoms(rpc, plan)
        products, created = self.ensure_products(rpc, plan, uoms, peer)
        centers = self.work_centers(rpc, peer, {op["work_center"] for op in operations})
        wanted = [{"name": f"{op['operation_code']} {op.get('description') or ''}".strip(),
                   "workcenter_id": centers[op["work_center"]], "time_mode": "manual",
                   "time_cycle_manual": float(self.rounded(number_of(op["run_minutes"]),
                                                           peer)),
                   "sequence": int(op["sequence"])} for op in operations]
        version = payload.get("routing_version")
        bom = self.find_bom(rpc, conversation, plan, products)
        if bom is None:
            answer = rpc.execute("mrp.bom", "create", {
                **self.bom_fields(plan, products, uoms, peer),
                "code": f"{BOM_CODE_PREFIX}{plant} routing v{version}",
                "operation_ids": [[0, 0, vals] for vals in wanted]}, writes=True)
            conversation.remember("bom", plan.key, answer)
            return f"{part}: BOM created with {len(wanted)} operations (routing v{version})"
        existing = rpc.execute("mrp.routing.workcenter", "search_read",
                               [["bom_id", "=", bom["id"]]],
                               fields=["name", "workcenter_id", "time_mode",
                                       "time_cycle_manual", "sequence"], order="sequence, id")
        commands: list[list[Any]] = []
        taken: set[int] = set()
        for values in wanted:
            match = next((row for row in existing if row["id"] not in taken and
                          row["sequence"] == values["sequence"]), None) or \
                next((row for row in existing if row["id"] not in taken and
                      row["name"] == values["name"]), None)
            if match is None:
                commands.append([0, 0, values])
                continue
            taken.add(match["id"])
            changed = {name: value for name, value in values.items()
                       if not self.same(match.get(name), value, peer)}
            if changed:
                commands.append([1, match["id"], changed])
        commands += [[2, row["id"], 0] for row in existing if row["id"] not in taken]
        if commands:
            rpc.execute("mrp.bom", "write", [bom["id"]], {"operation_ids": commands},
                        writes=True)
        assigned = self.assign_operations(rpc, bom["id"], payload.get("line_operations") or [])
        return (f"{part}: {len(commands)} operation change{'s' if len(commands) != 1 else ''}"
                f", {assigned} line{'s' if assigned != 1 else ''} given an operation"
                f" (routing v{version}){f', {created} product created' if created else ''}")

    def assign_operations(self, rpc: Rpc, bom: int,
                          consumed: list[Mapping[str, Any]]) -> int:
        """The BOM's lines name the operation the mBOM consumes them at (as the routing
        message lists them): one write for the lines whose operation differs."""
        if not consumed:
            return 0
        operations = self.operations(rpc, bom)
        codes = {row["id"]: row["default_code"] for row in rpc.execute(
            "product.product", "search_read",
            [["default_code", "in", sorted({c["part"] for c in consumed})]],
            fields=["default_code"])}
        lines = rpc.execute("mrp.bom.line", "search_read", [["bom_id", "=", bom]],
                            fields=["product_id", "sequence", "operation_id"],
                            order="sequence, id")
        commands, taken = [], set()
        for entry in consumed:
            candidates = [line for line in lines if line["id"] not in taken and
                          codes.get(many2one(line["product_id"])) == entry["part"]]
            line = next((c for c in candidates if c["sequence"] == entry["position"]),
                        candidates[0] if candidates else None)
            wanted = operations.get(entry["operation"])
            if line is None or wanted is None:
                continue
            taken.add(line["id"])
            if many2one(line["operation_id"]) != wanted:
                commands.append([1, line["id"], {"operation_id": wanted}])
        if commands:
            rpc.execute("mrp.bom", "write", [bom], {"bom_line_ids": commands}, writes=True)
        return len(commands)

    def work_centers(self, rpc: Rpc, peer: PeerConfig, codes: set[str]) -> dict[str, int]:
        """Odoo's work center ids by Thread's work center code, through the option
        'work_centers' ({"ASM-1": "ASSY1"}; a code not mapped is Odoo's code too)."""
        mapped = {code: (peer.options.get("work_centers") or {}).get(code, code)
                  for code in codes}
        found = {row["code"]: row["id"] for row in rpc.execute(
            "mrp.workcenter", "search_read", [["code", "in", sorted(set(mapped.values()))]],
            fields=["code"])}
        missing = sorted(code for code, theirs in mapped.items() if theirs not in found)
        if missing:
            raise MappingError("Odoo has no work center for " + ", ".join(
                f"{code!r} (code {mapped[code]!r})" for code in missing)
                + " — create it in Odoo or map it in the connector option 'work_centers'")
        return {code: found[theirs] for code, theirs in mapped.items()}
