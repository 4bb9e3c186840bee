"""Bad input never ends in a 500: each case that once did (extreme exponents, NUL characters, deep
nesting, lone surrogates, a broken Content-Length, an unexpected error) answers a problem with a
pointer, writes nothing but its inbound message, and leaves no message `processing`. Every error
under /api/ is application/problem+json, Django's own 404 and 500 included."""

from __future__ import annotations

import json

import pytest

from thread.bom.models import EBom
from thread.catalog.models import Part
from thread.flows.choices import InboundStatus
from thread.flows.models import InboundMessage

from ..conftest import problem

EBOMS = "/api/v1/bom/eboms/"
ORDERS = "/api/v1/orders/purchase-orders/"


def line(**given) -> dict:
    return {"find_number": 10, "part": "SC-1", "quantity": "2", "unit": "pcs",
            "item_type": "component", **given}


def raw(client, path: str, body: bytes, key: str, **extra):
    return client.generic("POST", path, body, content_type="application/json",
                          HTTP_IDEMPOTENCY_KEY=key, **extra)


def nothing_written() -> bool:
    return not EBom.objects.exists() and not Part.objects.exists()


@pytest.mark.parametrize(("quantity", "code"), [
    ("1E-999999999", "too_precise"), ("1e999999999", "too_large"), ("0.0000001", "too_precise")])
def test_extreme_quantities_are_refused_with_their_reason(plm, units, quantity, code):
    response = plm.push(EBOMS, {"part": "BK-1", "lines": [line(quantity=quantity)]})
    assert response.status_code == 400
    assert [(e["pointer"], e["code"]) for e in problem(response)["errors"]] == [
        ("/lines/0/quantity", code)]
    assert nothing_written()


def test_a_bare_huge_json_number_is_refused_too(plm, erp, units):
    body = b'{"part": "BK-1", "lines": [{"find_number": 10, "part": "SC-1", "quantity": 1e999999999,' \
           b' "unit": "pcs", "item_type": "component"}]}'
    response = raw(plm, EBOMS, body, "huge")
    assert [(e["pointer"], e["code"]) for e in problem(response)["errors"]] == [
        ("/lines/0/quantity", "too_large")]
    order = {"orders": [{"number": "1", "supplier": "S", "plant": "BER", "status": "open",
                         "lines": [{"line_number": 1, "part": "SC-1", "quantity": "1E-999999999",
                                    "unit": "pcs", "due_date": "2027-01-05"}]}]}
    refused = problem(erp.push(ORDERS, order))
    assert ("/orders/0/lines/0/quantity", "too_precise") in [
        (e["pointer"], e["code"]) for e in refused["errors"]]


@pytest.mark.parametrize(("body", "pointer", "code"), [
    ({"part": "BK-1", "lines": [line(part="SC-\u0000")]}, "/lines/0/part", "nul_character"),
    ({"part": "BK-1", "name": "x\u0000", "lines": [line()]}, "/name", "nul_character"),
    ({"part": "BK-1", "lines": [line(attributes={"a\u0000": 1})]}, "/lines/0/attributes/a\\u0000",
     "nul_character"),
    ({"part": "P-\ud800", "lines": [line()]}, "/part", "invalid_character"),
])
def test_text_postgresql_cannot_store_is_refused_at_the_boundary(plm, units, body, pointer, code):
    key = f"bad-{pointer}"
    response = raw(plm, EBOMS, json.dumps(body).encode(), key)
    assert response.status_code == 400
    assert [(e["pointer"], e["code"]) for e in problem(response)["errors"]] == [(pointer, code)]
    assert nothing_written()
    recorded = InboundMessage.objects.get(idempotency_key=key)
    assert recorded.status == InboundStatus.REJECTED
    # the caller's retry with the same key is answered at once, not 409 for minutes
    again = raw(plm, EBOMS, json.dumps(body).encode(), key)
    assert (again.status_code, again["Idempotent-Replayed"]) == (400, "true")


def test_a_raw_nul_byte_is_malformed_json_and_still_recorded(plm, units):
    response = raw(plm, EBOMS, b'{"part": "BK-\x00"}', "raw-nul")
    assert problem(response)["type"].endswith("malformed-body")
    recorded = InboundMessage.objects.get(idempotency_key="raw-nul")
    assert recorded.status == InboundStatus.REJECTED and "\\u0000" in recorded.body


def lines_deep(levels: int) -> bytes:
    """An eBOM body whose lines nest `levels` deep, written as text (json.dumps would itself
    run out of recursion)."""
    opening = ('{"find_number": 1, "part": "L%d", "quantity": "1", "unit": "pcs", '
               '"item_type": "component", "lines": [')
    text = "".join(opening % level for level in range(levels)) + "]}" * levels
    return ('{"part": "BK-1", "lines": [' + text + "]}").encode()


@pytest.mark.parametrize("body", [b"[" * 100_000, lines_deep(900)],
                         ids=["100k brackets", "eBOM lines 900 deep"])
def test_deep_nesting_is_refused(plm, units, body):
    response = raw(plm, EBOMS, body, f"deep-{len(body)}")
    assert response.status_code == 400
    assert problem(response)["errors"][0]["code"] == "too_deep"
    assert nothing_written()


def test_a_content_length_that_is_no_number_is_refused(plm, units):
    response = raw(plm, EBOMS, b'{"part": "BK-1"}', "cl", CONTENT_LENGTH="abc")
    assert response.status_code == 400
    assert problem(response)["detail"] == "The Content-Length header is not a number."


def test_every_api_error_is_problem_json_also_djangos_own(plm, client):
    for path in ("/api/v1/nowhere/", "/api/v1/catalog/parts/999999/"):
        response = plm.get(path)
        assert response.status_code == 404
        assert response["Content-Type"] == "application/problem+json", path
    assert client.get("/not-an-api-page/")["Content-Type"].startswith("text/html")
    assert plm.get("/api/v1/catalog/parts/")["Content-Type"] == "application/json"


def test_an_unexpected_error_answers_problem_json_and_frees_the_key(plm, units, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("thread.bom.ebom.api.views.services.ebom_push", broken)
    plm.raise_request_exception = False
    response = plm.push(EBOMS, {"part": "BK-1", "lines": [line()]}, key="boom")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/problem+json"
    assert InboundMessage.objects.get(idempotency_key="boom").status == InboundStatus.FAILED


def test_the_same_json_meaning_replays_and_a_different_one_is_422(plm, units):
    first = raw(plm, EBOMS, b'{"part": "BK-1", "lines": [{"find_number": 10, "part": "SC-1", '
                            b'"quantity": 2.50, "unit": "pcs", "item_type": "component"}]}',
                "same-meaning")
    assert first.status_code == 201
    # other key order, other whitespace, 2.5 spelled 2.50 → 2.5: the same request
    again = raw(plm, EBOMS, b'{"lines":[{"item_type":"component","unit":"pcs","quantity":2.5,'
                            b'"part":"SC-1","find_number":10}],"part":"BK-1"}', "same-meaning")
    assert (again.status_code, again["Idempotent-Replayed"]) == (201, "true")
    # the text "2.5" is not the number 2.5
    other = raw(plm, EBOMS, b'{"lines":[{"item_type":"component","unit":"pcs","quantity":"2.5",'
                            b'"part":"SC-1","find_number":10}],"part":"BK-1"}', "same-meaning")
    assert other.status_code == 422


def test_an_idempotency_key_outside_its_character_set_is_refused(plm, units):
    response = raw(plm, EBOMS, b'{"part": "BK-1"}', "has space")
    assert response.status_code == 400 and "printable ASCII" in problem(response)["detail"]


@pytest.mark.parametrize("page_size", ["0", "501", "abc", "null", "-1"])
def test_a_bad_page_size_is_refused_naming_it(plm, page_size):
    response = plm.get("/api/v1/catalog/parts/", {"page_size": page_size})
    assert response.status_code == 400
    assert problem(response)["errors"][0]["pointer"] == "/page_size"


def test_a_filter_value_of_the_wrong_type_is_refused_naming_it(plm):
    response = plm.get("/api/v1/catalog/part-revisions/", {"part_id": "abc"})
    assert response.status_code == 400
    assert problem(response)["errors"][0]["pointer"] == "/part_id"


def test_a_body_that_is_not_json_is_415(plm, units):
    response = plm.post("/api/v1/catalog/parts/", {"number": "FR-1"},
                        HTTP_IDEMPOTENCY_KEY="form")  # the test client's default: multipart
    assert response.status_code == 415
    assert response["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize("query", [{"search": "a\x00b"}, {"number": "\x00"}, {"part": "\x00"}])
def test_a_query_value_postgresql_cannot_use_is_a_400(plm, query):
    response = plm.get("/api/v1/catalog/part-revisions/", query)
    assert response.status_code == 400, response.content
    assert problem(response)["errors"][0]["pointer"] == f"/{next(iter(query))}"
