"""Quick checks of the InvenTree fake itself (no database)."""

from __future__ import annotations

import time
from datetime import date

import httpx
import pytest

from .inventree_fake import API_VERSION, InvenTreeFake

TOKEN = "inv-test-token"


@pytest.fixture
def fake():
    server = InvenTreeFake(TOKEN, today=lambda: date(2025, 3, 10)).start()
    yield server
    server.stop()


@pytest.fixture
def client(fake):
    with httpx.Client(base_url=fake.url, headers={"Authorization": f"Token {TOKEN}"},
                      timeout=5) as c:
        yield c


def test_auth_and_info(fake):
    with httpx.Client(base_url=fake.url, timeout=5) as anonymous:
        info = anonymous.get("/api/").json()
        assert (info["server"], info["apiVersion"]) == ("InvenTree", API_VERSION)
        missing = anonymous.get("/api/part/")
        assert missing.status_code == 401
        assert missing.json() == {"detail": "Authentication credentials were not provided."}
        assert missing.headers["WWW-Authenticate"] == "Token"
        wrong = anonymous.get("/api/user/me/", headers={"Authorization": "Token nope"})
        assert (wrong.status_code, wrong.json()) == (401, {"detail": "Invalid token."})
        assert anonymous.get("/api/", headers={"Authorization": "Token nope"}).status_code == 401
    me = httpx.get(f"{fake.url}/api/user/me/", headers={"Authorization": f"Token {TOKEN}"})
    assert me.json()["username"] == "connector"


def test_read_only_token_cannot_write():
    with InvenTreeFake(TOKEN, read_only=True) as fake:
        answer = httpx.post(f"{fake.url}/api/part/", json={"name": "X"},
                            headers={"Authorization": f"Token {TOKEN}"})
        assert answer.status_code == 403
        assert answer.json() == {"detail": "You do not have permission to perform this action."}
        assert not fake.parts and fake.writes == 0


def test_pagination_follows_next(fake, client):
    for n in range(5):
        fake.add_part(f"Part {n}")
    assert len(client.get("/api/part/").json()) == 5  # no limit: a plain list
    page = client.get("/api/part/", params={"limit": 2, "search": "part"}).json()
    assert page["count"] == 5 and page["previous"] is None
    assert page["next"] == f"{fake.url}/api/part/?limit=2&offset=2&search=part"
    names = [p["name"] for p in page["results"]]
    while page["next"]:
        page = client.get(page["next"]).json()
        names += [p["name"] for p in page["results"]]
    assert names == [f"Part {n}" for n in range(5)]
    assert page["previous"] == f"{fake.url}/api/part/?limit=2&offset=2&search=part"


def test_bad_requests_have_inventree_shapes(fake, client):
    answer = client.post("/api/part/", json={"name": "Widget", "category": 7})
    assert answer.status_code == 400
    assert answer.json() == {"category": ['Invalid pk "7" - object does not exist.']}
    assert client.post("/api/part/", json={"name": "Widget", "IPN": "W-1"}).status_code == 201
    duplicate = client.post("/api/part/", json={"name": "Widget", "IPN": "W-1"})
    assert duplicate.json() == {
        "non_field_errors": ["The fields name, IPN, revision must make a unique set."]}
    assembly = fake.add_part("Board", assembly=True, component=True)
    itself = client.post("/api/bom/", json={"part": assembly, "sub_part": assembly})
    assert itself.json() == {"sub_part": [
        "Part 'Board - ' cannot be used in BOM for 'Board - ' (recursive)"]}
    zero = client.post("/api/bom/", json={"part": assembly, "sub_part": 1, "quantity": 0})
    assert zero.json() == {"raw_amount": ["Quantity must be greater than zero"]}  # since v485
    assert client.get("/api/bom/", params={"part": 99}).json() == {
        "part": ["Select a valid choice. That choice is not one of the available choices."]}


def test_bom_validation_is_lost_on_a_change(fake, client):
    assembly = fake.add_part("Board", assembly=True)
    resistor, capacitor = fake.add_part("R1"), fake.add_part("C1")
    line = client.post("/api/bom/", json={"part": assembly, "sub_part": resistor,
                                          "quantity": 2}).json()
    assert (line["raw_amount"], line["quantity"]) == ("2", 2.0)
    url = f"/api/part/{assembly}/bom-validate/"
    task = client.put(url, json={"valid": True}).json()  # a background task since v464
    assert (task["pending"], task["http_status"]) == (True, 200)
    assert client.get(f"/api/background-task/{task['task_id']}/").json()["complete"] is True
    state = client.get(url).json()
    assert state["bom_validated"] is True and state["bom_checked_date"] == "2025-03-10"
    assert client.patch(f"/api/bom/{line['pk']}/", json={"quantity": 3}).status_code == 200
    assert client.get(url).json()["bom_validated"] is False
    assert client.patch(f"/api/bom/{line['pk']}/", json={"quantity": 2}).status_code == 200
    assert fake.parts[assembly]["bom_validated"] is True  # same checksum again, as InvenTree
    client.post("/api/bom/", json={"part": assembly, "sub_part": capacitor})
    assert fake.parts[assembly]["bom_validated"] is False  # a new line counts since v479


def test_older_api_version_behaviour():
    with InvenTreeFake(TOKEN, api_version=391, today=lambda: date(2025, 3, 10)) as fake, \
            httpx.Client(base_url=fake.url, headers={"Authorization": f"Token {TOKEN}"}) as c:
        assembly, resistor = fake.add_part("Board", assembly=True), fake.add_part("R1")
        zero = c.post("/api/bom/", json={"part": assembly, "sub_part": resistor, "quantity": 0})
        assert zero.json() == {"quantity": ["Quantity must be greater than zero"]}
        line = c.post("/api/bom/", json={"part": assembly, "sub_part": resistor}).json()
        assert "raw_amount" not in line and line["substitutes"] == []
        answer = c.put(f"/api/part/{assembly}/bom-validate/", json={"valid": True}).json()
        assert answer["bom_validated"] is False  # the part as loaded, before the task ran
        assert fake.parts[assembly]["bom_validated"] is True
        c.post("/api/bom/", json={"part": assembly, "sub_part": fake.add_part("C1")})
        assert fake.parts[assembly]["bom_validated"] is True  # a new line did not re-check


def test_cut_after_writes_applies_then_drops(fake, client):
    fake.cut_after_writes(2)
    for n in range(2):
        assert client.post("/api/part/", json={"name": f"P{n}"}).status_code == 201
    with pytest.raises(httpx.TransportError):
        client.post("/api/part/", json={"name": "P2"})
    assert [p["name"] for p in fake.parts.values()] == ["P0", "P1", "P2"]
    assert fake.writes == 3
    assert client.post("/api/part/", json={"name": "P3"}).status_code == 201


def test_fail_next_and_requests(fake, client):
    fake.fail_next(503, count=1, paths="/api/part/", retry_after=7)
    failed = client.get("/api/part/", params={"IPN": "x"})
    assert failed.status_code == 503 and failed.headers["Retry-After"] == "7"
    assert client.get("/api/part/").status_code == 200
    assert fake.requests[0] == ("GET", "/api/part/", {"IPN": "x"}, None)
    assert fake.statuses == [503, 200]
    fake.delay_next(0.3)
    started = time.monotonic()
    assert client.get("/api/user/me/").status_code == 200
    assert time.monotonic() - started >= 0.3


def test_build_poll_filters(fake, client):
    part = fake.add_part("Board", assembly=True)
    old = fake.add_build(part, 5, creation_date="2025-03-01")
    new = fake.add_build(part, 2, creation_date="2025-03-09", title="second")
    fake.update_build(old, status=40, completed=5)
    recent = client.get("/api/build/", params={"created_after": "2025-03-01"}).json()
    assert [b["pk"] for b in recent] == [new]
    done = client.get("/api/build/", params={"completed_after": "2025-03-09"}).json()
    assert [(b["pk"], b["status"], b["status_text"]) for b in done] == [(old, 40, "Complete")]
    ordered = client.get("/api/build/", params={"ordering": "creation_date", "limit": 1}).json()
    assert ordered["results"][0]["part_detail"]["name"] == "Board"
    assert client.get("/api/build/", params={"created_after": "2025-03-01T00:00"}).json() == {
        "created_after": ["Enter a valid date."]}
