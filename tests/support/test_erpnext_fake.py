"""Quick checks of the ERPNext fake itself (no database)."""

from __future__ import annotations

import json

import httpx
import pytest

from .erpnext_fake import ErpNextFake


@pytest.fixture
def fake():
    with ErpNextFake() as server:
        yield server


@pytest.fixture
def client(fake):
    with httpx.Client(base_url=fake.url, headers={"Authorization": "token k:s"}, timeout=5) as c:
        yield c


def messages(body: dict) -> list[str]:
    return [json.loads(m)["message"] for m in json.loads(body["_server_messages"])]


def test_auth(fake, client):
    assert client.get("/api/method/frappe.auth.get_logged_user").json() == {"message": "thread@example.com"}
    assert client.post("/api/method/frappe.auth.get_logged_user").json()["message"] == "thread@example.com"
    bad = httpx.get(f"{fake.url}/api/resource/Item", headers={"Authorization": "token k:nope"})
    assert (bad.status_code, bad.json()) == (401, {"exc_type": "AuthenticationError"})
    guest = httpx.get(f"{fake.url}/api/method/frappe.auth.get_logged_user")
    assert guest.status_code == 403 and guest.json()["exc_type"] == "PermissionError"


def test_list_filters_fields_paging(fake, client):
    for n in range(5):
        fake.add_item(f"RM-{n}", item_group="Raw Material")
        fake.advance()
    fake.add_item("FG-1")
    rows = client.get("/api/resource/Item").json()["data"]
    assert rows[0] == {"name": "FG-1"} and len(rows) == 6  # modified desc
    got = client.get("/api/resource/Item", params={
        "fields": json.dumps(["name", "item_group"]), "order_by": "name asc",
        "filters": json.dumps([["Item", "item_group", "=", "Raw Material"], ["name", "!=", "RM-0"]]),
        "limit_page_length": 2, "limit_start": 1}).json()["data"]
    assert got == [{"name": "RM-2", "item_group": "Raw Material"},
                   {"name": "RM-3", "item_group": "Raw Material"}]
    liked = client.get("/api/resource/Item", params={"filters": json.dumps({"name": ["like", "RM-%"]}),
                                                     "limit_page_length": 0}).json()["data"]
    assert len(liked) == 5
    inn = client.get("/api/resource/Item", params={"filters": json.dumps([["name", "in", ["FG-1", "RM-1"]]])})
    assert {r["name"] for r in inn.json()["data"]} == {"FG-1", "RM-1"}
    assert len(client.get("/api/resource/UOM", params={"limit_page_length": 1}).json()["data"]) == 1


def test_get_missing_and_bad_link(fake, client):
    missing = client.get("/api/resource/Item/NOPE")
    assert missing.status_code == 404
    body = missing.json()
    assert body["exc_type"] == "DoesNotExistError" and messages(body) == ["Item NOPE not found"]
    assert "exception" not in body
    bad = client.post("/api/resource/Item", json={"item_code": "X", "item_group": "Nope", "stock_uom": "Nos"})
    assert bad.status_code == 417
    body = bad.json()
    assert body["exc_type"] == "LinkValidationError"
    assert body["exception"] == "frappe.exceptions.LinkValidationError: Could not find Item Group: Nope"
    assert messages(body) == ["Could not find Item Group: Nope"] and json.loads(body["exc"])
    assert "X" not in fake.records("Item")
    made = client.post("/api/resource/Item", json={"item_code": "X", "item_group": "Products",
                                                   "stock_uom": "Nos"}).json()["data"]
    assert made["name"] == "X" and made["is_stock_item"] == 1
    assert made["creation"] == "2026-01-15 09:00:00.000000"


def test_bom_submit_on_insert_moves_default(fake, client):
    fake.add_item("FG")
    fake.add_item("RM", stock_uom="Kg")
    body = {"item": "FG", "quantity": 1, "docstatus": 1, "items": [{"item_code": "RM", "qty": 2}]}
    first = client.post("/api/resource/BOM", json=body).json()["data"]
    assert first["name"] == "BOM-FG-001" and first["docstatus"] == 1 and first["is_default"] == 1
    assert first["items"][0]["idx"] == 1 and first["items"][0]["uom"] == "Kg"
    second = client.post("/api/resource/BOM", json=body).json()["data"]
    assert second["name"] == "BOM-FG-002"
    boms = fake.records("BOM")
    assert boms["BOM-FG-001"]["is_default"] == 0 and fake.records("Item")["FG"]["default_bom"] == "BOM-FG-002"
    empty = client.post("/api/resource/BOM", json={"item": "FG", "quantity": 1, "items": []})
    assert empty.status_code == 417 and messages(empty.json()) == ["Raw Materials cannot be blank."]
    zero = client.post("/api/resource/BOM", json={**body, "quantity": 0})
    assert messages(zero.json()) == ["Quantity should be greater than 0"]


def test_update_after_submit(fake, client):
    fake.add_item("FG")
    fake.add_item("RM")
    name = fake.add_bom("FG", [("RM", 1)])
    changed = client.put(f"/api/resource/BOM/{name}", json={"items": [{"item_code": "RM", "qty": 5}]})
    assert changed.status_code == 417 and changed.json()["exc_type"] == "UpdateAfterSubmitError"
    assert messages(changed.json()) == ["Not allowed to change Qty after submission"]
    fake.advance()
    ok = client.put(f"/api/resource/BOM/{name}", json={"is_active": 0})
    assert ok.status_code == 200 and ok.json()["data"]["is_active"] == 0
    assert ok.json()["data"]["modified"] == "2026-01-15 09:00:01.000000"
    assert client.delete(f"/api/resource/BOM/{name}").status_code == 417
    client.put(f"/api/resource/BOM/{name}", json={"docstatus": 2})
    cancelled = client.put(f"/api/resource/BOM/{name}", json={"is_active": 1}).json()
    assert cancelled["exception"] == "frappe.exceptions.ValidationError: Cannot edit cancelled document"
    assert client.delete(f"/api/resource/BOM/{name}").json() == {"message": "ok"}


def test_submit_method_and_naming(fake, client):
    fake.add_item("FG")
    fake.add_item("RM")
    fake.add_bom("FG", [("RM", 1)])
    fake.add_supplier("ACME")
    wo = fake.add_work_order("FG", 3, "2026-02-01")
    assert wo == "MFG-WO-2026-00001" and fake.records("Work Order")[wo]["bom_no"] == "BOM-FG-001"
    po = fake.add_purchase_order("ACME", [("RM", 4)])
    assert po == "PUR-ORD-2026-00001" and fake.records("Purchase Order")[po]["items"][0]["qty"] == 4
    draft = client.post("/api/resource/BOM", json={"item": "FG", "items": [{"item_code": "RM", "qty": 1}]})
    doc = draft.json()["data"]
    done = client.post("/api/method/frappe.client.submit", json={"doc": doc}).json()["message"]
    assert done["docstatus"] == 1 and fake.records("Item")["FG"]["default_bom"] == doc["name"]


def test_deny_fail_next_and_cut(fake, client):
    fake.deny("Item", "read", "create")
    listed = client.get("/api/resource/Item", params={"limit_page_length": 1})
    assert listed.status_code == 403 and listed.json()["_error_message"] == "No permission for Item"
    created = client.post("/api/resource/Item", json={"item_code": "A", "item_group": "Products",
                                                      "stock_uom": "Nos"})
    assert created.status_code == 403
    assert "Insufficient Permission for Item" in created.json()["_error_message"]
    fake.allow("Item")
    fake.fail_next(502, count=2)
    assert [client.get("/api/resource/UOM").status_code for _ in range(3)] == [502, 502, 200]
    fake.cut_after_writes(1)
    item = {"item_group": "Products", "stock_uom": "Nos"}
    assert client.post("/api/resource/Item", json={"item_code": "B", **item}).status_code == 200
    with pytest.raises(httpx.TransportError):
        client.post("/api/resource/Item", json={"item_code": "C", **item})
    assert {"B", "C"} <= set(fake.records("Item")) and fake.writes == 2
    fake.update("Item", "B", disabled=1)
    assert fake.records("Item")["B"]["disabled"] == 1
