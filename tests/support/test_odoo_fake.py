"""The Odoo fake's own tests: its JSON-RPC envelope, auth, ORM methods, mrp rules and fault injection."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest

from .odoo_fake import UID, OdooFake

KEY = "odoo-test-key"


@pytest.fixture
def fake():
    with OdooFake() as server:
        yield server


def rpc(fake: OdooFake, service: str, method: str, *args, client: httpx.Client | None = None) -> dict:
    body = {"jsonrpc": "2.0", "method": "call", "params": {"service": service, "method": method,
                                                         "args": list(args)}, "id": 7}
    response = (client or httpx).post(f"{fake.url}/jsonrpc", json=body, timeout=5)
    assert response.status_code == 200
    answer = response.json()
    assert answer["jsonrpc"] == "2.0" and answer["id"] == 7
    return answer


def call(fake: OdooFake, model: str, method: str, *args, **kwargs):
    answer = rpc(fake, "object", "execute_kw", "thread", UID, KEY, model, method, list(args), kwargs)
    assert "error" not in answer, answer["error"]["data"]["message"]
    return answer["result"]


def error(fake: OdooFake, model: str, method: str, *args, **kwargs) -> dict:
    answer = rpc(fake, "object", "execute_kw", "thread", UID, KEY, model, method, list(args), kwargs)
    assert answer["error"]["code"] == 200 and answer["error"]["message"] == "Odoo Server Error"
    return answer["error"]["data"]


def test_version_and_authenticate(fake):
    version = rpc(fake, "common", "version")["result"]
    assert version["server_version"] == "17.0" and version["protocol_version"] == 1
    assert version["server_version_info"][:2] == [17, 0] and version["server_serie"] == "17.0"
    assert rpc(fake, "common", "authenticate", "thread", "thread@example.com", KEY, {})["result"] == UID
    assert rpc(fake, "common", "login", "thread", "thread@example.com", KEY)["result"] == UID
    assert rpc(fake, "common", "authenticate", "thread", "thread@example.com", "nope", {})["result"] is False
    assert rpc(fake, "common", "authenticate", "thread", "other@example.com", KEY, {})["result"] is False
    data = rpc(fake, "common", "authenticate", "nodb", "thread@example.com", KEY, {})["error"]["data"]
    assert data["name"] == "psycopg2.OperationalError" and 'database "nodb" does not exist' in data["message"]


def test_bad_key_unknown_model_and_malformed_bodies(fake):
    answer = rpc(fake, "object", "execute_kw", "thread", UID, "bad", "res.partner", "search", [[]])
    data = answer["error"]["data"]
    assert (data["name"], data["message"], data["arguments"]) == (
        "odoo.exceptions.AccessDenied", "Access Denied", ["Access Denied"])
    data = rpc(fake, "object", "execute", "thread", 99, KEY, "res.partner", "search", [])["error"]["data"]
    assert data["name"] == "odoo.exceptions.AccessDenied"
    assert error(fake, "stock.move", "search", [])["message"] == "Object stock.move doesn't exist"
    assert error(fake, "res.partner", "_private")["name"] == "odoo.exceptions.AccessError"
    assert error(fake, "res.partner", "search", [], bogus=1)["name"] == "builtins.TypeError"
    bad = httpx.post(f"{fake.url}/jsonrpc", content=b"{nope", headers={"Content-Type": "application/json"})
    assert (bad.status_code, bad.text) == (400, "Invalid JSON data")
    bad = httpx.post(f"{fake.url}/jsonrpc", json=[1, 2])
    assert (bad.status_code, bad.text) == (400, "Invalid JSON-RPC data")


def test_create_read_search_read_with_domains(fake):
    bolt = fake.add_product("BOLT-1", "Bolt")
    nut = fake.add_product("NUT-1", "Nut", uom="kg")
    created = call(fake, "product.product", "create", {"name": "Washer", "default_code": "WSH-1"})
    assert isinstance(created, int)
    assert len(call(fake, "res.partner", "create", [{"name": "A"}, {"name": "B"}])) == 2
    [row] = call(fake, "product.product", "read", [nut], ["default_code", "uom_id", "product_tmpl_id"])
    assert row["uom_id"] == [fake.uom("kg"), "kg"] and row["product_tmpl_id"][1] == "[NUT-1] Nut"
    codes = ["BOLT-1", "NUT-1"]
    assert call(fake, "product.product", "search", [("default_code", "in", codes)]) == [bolt, nut]
    assert call(fake, "product.product", "search", ["|", ("name", "ilike", "bol"), ("name", "=like", "W%")],
                order="name desc") == [created, bolt]
    assert call(fake, "product.product", "search", ["!", ("default_code", "=like", "%-1")]) == []
    assert call(fake, "product.product", "search_count", [("uom_id.name", "=", "kg")]) == 1
    tmpl = fake.template_of(bolt)
    bom = call(fake, "mrp.bom", "create", {"product_tmpl_id": tmpl, "code": "B1",
                                            "bom_line_ids": [[0, 0, {"product_id": nut, "product_qty": 2}]]})
    [read] = call(fake, "mrp.bom", "search_read", [("bom_line_ids.product_id.default_code", "=", "NUT-1")],
                  fields=["display_name", "product_qty", "product_uom_id", "product_id", "write_date"])
    assert read["id"] == bom and read["display_name"] == "B1: [BOLT-1] Bolt" and read["product_qty"] == 1.0
    assert read["product_uom_id"][1] == "Units" and read["product_id"] is False
    assert read["write_date"] == "2024-01-15 09:00:00"
    unset = [("product_id", "=", False), ("product_tmpl_id", "=", tmpl)]
    assert call(fake, "mrp.bom", "search", unset) == [bom]
    fake.advance(60)
    assert call(fake, "mrp.bom", "write", [bom], {"code": "B2"}) is True
    assert fake.records("mrp.bom")[bom]["write_date"] == "2024-01-15 09:01:00"
    assert call(fake, "mrp.bom", "search", [("write_date", ">", "2024-01-15 09:00:30")]) == [bom]
    call(fake, "mrp.bom", "write", [bom], {"active": False})
    assert call(fake, "mrp.bom", "search", []) == []
    assert call(fake, "mrp.bom", "search", [], context={"active_test": False}) == [bom]
    assert error(fake, "mrp.bom", "read", [999])["name"] == "odoo.exceptions.MissingError"
    assert error(fake, "mrp.bom", "search", [("nope", "=", 1)])["name"] == "builtins.ValueError"


def test_one2many_commands_on_bom_lines(fake):
    top, a, b, c = (fake.add_product(f"P{i}", f"Part {i}") for i in range(4))
    wc = fake.add_workcenter("Assembly", "ASM")
    bom = call(fake, "mrp.bom", "create", {
        "product_tmpl_id": fake.template_of(top),
        "bom_line_ids": [[0, 0, {"product_id": a}], [0, 0, {"product_id": b, "product_qty": 3}]],
        "operation_ids": [[0, 0, {"name": "Screw", "workcenter_id": wc, "time_cycle_manual": 5}]]})
    lines = fake.records("mrp.bom")[bom]["bom_line_ids"]
    assert len(lines) == 2
    commands = [[1, lines[0], {"product_qty": 4}], [2, lines[1], 0], [0, 0, {"product_id": c}]]
    call(fake, "mrp.bom", "write", [bom], {"bom_line_ids": commands})
    rows = fake.records("mrp.bom.line")
    assert sorted((r["product_id"][0], r["product_qty"]) for r in rows.values()) == [(a, 4.0), (c, 1.0)]
    call(fake, "mrp.bom", "write", [bom], {"bom_line_ids": [[5, 0, 0]]})
    assert fake.records("mrp.bom.line") == {}
    other = call(fake, "mrp.bom", "create", {"product_tmpl_id": fake.template_of(a),
                                              "bom_line_ids": [[0, 0, {"product_id": c}]]})
    moved = fake.records("mrp.bom")[other]["bom_line_ids"]
    call(fake, "mrp.bom", "write", [bom], {"bom_line_ids": [[6, 0, moved]]})
    assert fake.records("mrp.bom")[bom]["bom_line_ids"] == moved and fake.records("mrp.bom")[other][
        "bom_line_ids"] == []
    call(fake, "mrp.bom", "write", [bom], {"bom_line_ids": [[3, moved[0], 0]]})  # required inverse: deleted
    assert fake.records("mrp.bom.line") == {}
    assert fake.records("mrp.routing.workcenter")[1]["workcenter_id"] == [wc, "Assembly"]
    call(fake, "mrp.bom", "unlink", [bom])
    assert fake.records("mrp.routing.workcenter") == {}


def test_mrp_rules(fake):
    top, part = fake.add_product("TOP", "Top"), fake.add_product("BLT", "Bolt")
    tmpl = fake.template_of(top)
    data = error(fake, "mrp.bom", "create", {"product_tmpl_id": tmpl, "product_qty": 0})
    assert data["name"] == "odoo.exceptions.ValidationError"
    assert data["message"] == "The operation cannot be completed: The quantity to produce must be positive!"
    data = error(fake, "mrp.bom", "create", {"product_tmpl_id": tmpl,
                                              "bom_line_ids": [[0, 0, {"product_id": top}]]})
    assert data["name"] == "odoo.exceptions.ValidationError" and "would create a cycle" in data["message"]
    data = error(fake, "mrp.bom", "create", {"product_tmpl_id": tmpl, "bom_line_ids": [
        [0, 0, {"product_id": part, "product_uom_id": fake.uom("kg")}]]})
    assert data["name"] == "odoo.exceptions.UserError"
    assert data["message"].startswith("The unit of measure kg defined on the order line doesn't belong to "
                                      "the same category as the unit of measure Units defined on the "
                                      "product.")
    data = error(fake, "mrp.bom", "create", {"product_tmpl_id": tmpl, "product_uom_id": fake.uom("m")})
    assert data["name"] == "odoo.exceptions.UserError"
    data = error(fake, "mrp.routing.workcenter", "create", {"name": "x"})
    assert "a mandatory field is not set" in data["message"]
    assert fake.records("mrp.bom") == {} and fake.writes == 0  # all rolled back
    bom = call(fake, "mrp.bom", "create", {"product_tmpl_id": tmpl, "product_uom_id": fake.uom("Dozens")})
    fake.add_production(top, 2, bom_id=bom)
    assert "running manufacturing orders" in error(fake, "mrp.bom", "unlink", [bom])["message"]


def test_deny_gives_access_error(fake):
    fake.deny("mrp.bom", "write")
    assert call(fake, "mrp.bom", "check_access_rights", "write", raise_exception=False) is False
    assert call(fake, "mrp.bom", "check_access_rights", "read") is True
    data = error(fake, "mrp.bom", "write", [1], {"code": "x"})
    assert data["name"] == "odoo.exceptions.AccessError"
    assert data["message"].startswith("You are not allowed to modify 'Bill of Material' (mrp.bom) records.")
    assert error(fake, "mrp.bom", "check_access_rights", "write")["name"] == "odoo.exceptions.AccessError"


def test_fault_failure_delay_and_calls(fake):
    fake.fault_next("odoo.exceptions.ValidationError", "Nope", method="create")
    assert call(fake, "res.partner", "search", []) == []
    data = error(fake, "res.partner", "create", {"name": "X"})
    assert (data["name"], data["message"]) == ("odoo.exceptions.ValidationError", "Nope")
    assert fake.records("res.partner") == {} and fake.writes == 0
    fake.fail_next(status=502)
    response = httpx.post(f"{fake.url}/jsonrpc", json={"jsonrpc": "2.0", "method": "call", "params": {}})
    assert response.status_code == 502
    fake.delay_next(0.2)
    started = datetime.now()
    call(fake, "res.partner", "create", {"name": "Y"})
    assert (datetime.now() - started).total_seconds() >= 0.2 and fake.writes == 1
    assert ("object", "execute_kw", "res.partner", "create") in fake.calls


def test_cut_after_writes_applies_then_drops(fake):
    fake.cut_after_writes(1)
    call(fake, "res.partner", "create", {"name": "First"})
    with httpx.Client() as client, pytest.raises(httpx.TransportError):
        rpc(fake, "object", "execute_kw", "thread", UID, KEY, "res.partner", "create", [{"name": "Second"}],
            {}, client=client)
    assert sorted(r["name"] for r in fake.records("res.partner").values()) == ["First", "Second"]
    assert fake.writes == 2
    call(fake, "res.partner", "create", {"name": "Third"})  # answered again


def test_purchase_and_production_helpers(fake):
    vendor, part = fake.add_partner("Vendor"), fake.add_product("BLT", "Bolt")
    po = fake.add_purchase(vendor, [(part, 5)], state="purchase")
    [line] = call(fake, "purchase.order.line", "search_read", [("order_id", "=", po)],
                  fields=["state", "product_uom", "name", "product_qty", "qty_received"])
    assert line["state"] == "purchase" and line["product_uom"][1] == "Units" and line["name"] == "[BLT] Bolt"
    assert fake.records("purchase.order")[po]["name"] == "P00001"
    mo = fake.add_production(part, 3, state="confirmed", origin="SO1")
    [row] = call(fake, "mrp.production", "read", [mo], ["name", "state", "date_start", "date_finished"])
    assert row == {"id": mo, "name": "WH/MO/00001", "state": "confirmed", "date_start": "2024-01-15 09:00:00",
                   "date_finished": False}
