"""The InvenTree connector against a local server that answers as InvenTree's API does
(tests/support/inventree_fake.py): parts and the BOM converge — the first delivery creates,
a repeat writes nothing, a changed mBOM writes only the difference, a delivery cut off halfway
finishes on retry with the same end state; 400 is dead with InvenTree's message, 503 and a
timeout are retried; an old server is refused with the reason. No database: the connector is
plain data in, HTTP out."""

from __future__ import annotations

import copy
import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from connectors.base import OutboundEnvelope, Outcome, PeerConfig, make_client
from connectors.converging import Difference
from connectors.inventree import InvenTreeConnector
from tests.support.inventree_fake import InvenTreeFake

TOKEN = "inv-test-token"


def line(position, part, quantity, **extra):
    return {"position": position, "part": part, "quantity": quantity, "unit": "pcs",
            "item_type": "component", "make_or_buy": "buy", "scrap_percent": None,
            "yield_percent": None, "operation": "", "erp_fields": {}, "substitutes_for": None,
            "reference_designators": [], **extra}


PAYLOAD = {
    "plant": "BER", "part": "BK-100", "revision": "B", "version": 3, "base_unit": "pcs",
    "rule_set_version": 2, "as_of": "2026-12-07", "product": "BK-100", "product_revision": "B",
    "sources": {"10": [801], "20": [802, 805], "30": [806], "40": [807]},
    "lines": [
        line(10, "FR-200", "1", make_or_buy="make"),
        line(20, "SC-M8", "4", scrap_percent="2", reference_designators=["S1", "S2"]),
        line(30, "SC-M8-ALT", "4", substitutes_for="SC-M8"),
        line(40, "TB-310", "1250", unit="mm"),
    ],
    "parts": {
        "BK-100": {"name": "E-bike", "base_unit": "pcs", "make_or_buy": "make",
                   "assembly": True, "revision": "B"},
        "FR-200": {"name": "Frame", "base_unit": "pcs", "make_or_buy": "make",
                   "assembly": True, "revision": "A"},
        "SC-M8": {"name": "Screw M8", "base_unit": "pcs", "make_or_buy": "buy",
                  "assembly": False, "revision": ""},
        "SC-M8-ALT": {"name": "Screw M8, other maker", "base_unit": "pcs",
                      "make_or_buy": "buy", "assembly": False, "revision": ""},
        "TB-310": {"name": "Tube", "base_unit": "mm", "make_or_buy": "buy", "assembly": False,
                   "revision": ""},
    },
}


@pytest.fixture
def inventree(monkeypatch):
    monkeypatch.setenv("INVENTREE_TOKEN", TOKEN)
    with InvenTreeFake(token=TOKEN) as fake:
        fake.category = fake.add_category("Thread parts")
        yield fake


class Deliveries:
    """Delivers like the outbox does: the ids each delivery learnt are passed to the next."""

    def __init__(self, fake: InvenTreeFake, **options) -> None:
        self.fake, self.known = fake, {}
        self.peer = PeerConfig(system_name="InvenTree", base_url=fake.url,
                               credential_name="INVENTREE_TOKEN",
                               options={"category": fake.category, **options},
                               connect_timeout=1.0, read_timeout=2.0)
        self.client = make_client(connect_timeout=1.0, read_timeout=2.0)

    def deliver(self, payload=PAYLOAD, *, deadline: float | None = None):
        envelope = OutboundEnvelope(message_id=1, topic="mbom.published", payload=payload,
                                    idempotency_key="k", ordering_key="mbom:BER:BK-100",
                                    correlation_id="c", created_at=datetime.now(UTC),
                                    known_ids=dict(self.known))
        result = InvenTreeConnector().deliver(self.client, envelope, self.peer,
                                              deadline=deadline or time.monotonic() + 20)
        for peer_id in result.peer_ids:
            if peer_id.peer_id:
                self.known[(peer_id.kind, peer_id.key)] = peer_id.peer_id
            else:
                self.known.pop((peer_id.kind, peer_id.key), None)
        return result


def bom_state(fake):
    """What InvenTree holds, by IPNs: the assembly's lines and their substitutes."""
    ipn = {pk: part["IPN"] for pk, part in fake.parts.items()}
    bike = next(pk for pk, part in fake.parts.items() if part["IPN"] == "BK-100")
    items = {}
    for pk, item in fake.bom_items.items():
        if item["part"] != bike:
            continue
        substitutes = sorted(ipn[s["part"]] for s in fake.substitutes.values()
                             if s["bom_item"] == pk)
        items[ipn[item["sub_part"]]] = (f"{item['quantity'].normalize():f}", item["reference"],
                                        f"{item['attrition'].normalize():f}", substitutes)
    return items, fake.parts[bike]["bom_validated"]


def test_the_first_delivery_creates_parts_bom_items_substitutes_and_validates(inventree):
    deliveries = Deliveries(inventree)
    result = deliveries.deliver()
    assert result.classification.outcome == Outcome.DELIVERED, result.classification.detail
    parts = {p["IPN"]: p for p in inventree.parts.values()}
    assert set(parts) == {"BK-100", "FR-200", "SC-M8", "SC-M8-ALT", "TB-310"}
    assert (parts["BK-100"]["revision"], parts["BK-100"]["assembly"]) == ("B", True)
    assert parts["SC-M8"]["component"] and parts["SC-M8"]["purchaseable"]
    assert parts["TB-310"]["units"] == "mm" and parts["SC-M8"]["units"] == ""
    assert {p["category"] for p in parts.values()} == {inventree.category}
    items, validated = bom_state(inventree)
    assert items == {"FR-200": ("1", "", "0", []), "SC-M8": ("4", "S1, S2", "2", ["SC-M8-ALT"]),
                     "TB-310": ("1250", "", "0", [])}
    assert validated
    notes = {item["note"] for item in inventree.bom_items.values()}
    assert "Thread mBOM v3 of BK-100 rev B (rules v2), line 20 ← eBOM lines 802, 805" in notes
    # Every request is a step an operator can read; the token never appears.
    assert result.steps[0].method == "GET" and result.steps[0].url.endswith("/api/")
    assert all(TOKEN not in step.excerpt and TOKEN not in step.url for step in result.steps)
    kinds = {peer_id.kind for peer_id in result.peer_ids}
    assert kinds == {"part", "bom_item"}
    assert "5 parts created, 4 BOM changes, BOM validated" in result.request_summary


def test_a_repeated_delivery_writes_nothing_with_or_without_the_ids(inventree):
    deliveries = Deliveries(inventree)
    deliveries.deliver()
    writes = inventree.writes
    again = deliveries.deliver()
    assert again.classification.outcome == Outcome.DELIVERED
    assert inventree.writes == writes and "0 writes" in again.request_summary
    # The ids lost (a restored Thread database): found by IPN, still nothing written.
    deliveries.known.clear()
    assert deliveries.deliver().classification.outcome == Outcome.DELIVERED
    assert inventree.writes == writes


def test_a_changed_mbom_writes_only_the_difference(inventree):
    deliveries = Deliveries(inventree)
    deliveries.deliver()
    writes = inventree.writes
    changed = copy.deepcopy(PAYLOAD)
    changed["lines"][1]["quantity"] = "6"  # SC-M8: 4 → 6 (patched)
    del changed["lines"][3]  # TB-310 gone (deleted)
    changed["lines"][2]["substitutes_for"] = None  # SC-M8-ALT becomes a line of its own
    result = deliveries.deliver(changed)
    assert result.classification.outcome == Outcome.DELIVERED
    items, validated = bom_state(inventree)
    assert items == {"FR-200": ("1", "", "0", []), "SC-M8": ("6", "S1, S2", "2", []),
                     "SC-M8-ALT": ("4", "", "0", [])}
    assert validated
    # PATCH SC-M8, DELETE its substitute, POST SC-M8-ALT, DELETE TB-310, PUT bom-validate.
    assert inventree.writes - writes == 5
    assert "4 BOM changes" in result.request_summary


def test_a_delivery_cut_off_halfway_finishes_on_retry_with_the_same_end_state(inventree):
    with InvenTreeFake(token=TOKEN) as reference:
        reference.category = reference.add_category("Thread parts")
        Deliveries(reference).deliver()
        expected = bom_state(reference)
    deliveries = Deliveries(inventree)
    inventree.cut_after_writes(2)  # the third write is applied, its answer never comes
    cut = deliveries.deliver()
    assert cut.classification.outcome == Outcome.RETRY
    assert cut.classification.error_class in ("connection", "timeout")
    assert inventree.writes == 3
    retry = deliveries.deliver()
    assert retry.classification.outcome == Outcome.DELIVERED, retry.classification.detail
    assert bom_state(inventree) == expected
    assert len(inventree.parts) == 5  # nothing created twice


def test_a_400_is_dead_with_inventrees_message(inventree):
    deliveries = Deliveries(inventree, category=999)
    result = deliveries.deliver()
    assert (result.classification.outcome, result.classification.status_code) == (
        Outcome.DEAD, 400)
    assert 'Invalid pk \\"999\\" - object does not exist.' in result.classification.detail


def test_a_503_and_a_timeout_are_retried(inventree):
    deliveries = Deliveries(inventree)
    inventree.fail_next(status=503, paths="/api/bom/", retry_after=5)
    result = deliveries.deliver()
    assert (result.classification.outcome, result.classification.error_class,
            result.classification.retry_after) == (Outcome.RETRY, "http-503", 5.0)
    inventree.delay_next(3.0, paths="/api/part/")
    late = deliveries.deliver()
    assert (late.classification.outcome, late.classification.error_class) == (Outcome.RETRY,
                                                                              "timeout")
    assert deliveries.deliver().classification.outcome == Outcome.DELIVERED


def test_an_inventree_older_than_1_0_is_refused_with_the_reason(monkeypatch):
    monkeypatch.setenv("INVENTREE_TOKEN", TOKEN)
    with InvenTreeFake(token=TOKEN, api_version=372) as old:
        old.category = old.add_category("Thread parts")
        result = Deliveries(old).deliver()
    assert result.classification.outcome == Outcome.DEAD
    assert "API version 372 is older than 391" in result.classification.detail
    assert old.writes == 0


def test_test_connection_checks_server_version_token_and_category(inventree):
    deliveries = Deliveries(inventree)
    report = InvenTreeConnector().probe(deliveries.client, deliveries.peer,
                                        deadline=time.monotonic() + 5)
    assert report.ok, report.summary
    assert "InvenTree 1.5.0 dev (API 530)" in report.summary
    assert "category 'Thread parts'" in report.summary
    wrong = Deliveries(inventree, category=999)
    assert "the category: " in InvenTreeConnector().probe(wrong.client, wrong.peer).summary


def test_test_connection_says_plainly_what_is_wrong(inventree, monkeypatch):
    deliveries = Deliveries(inventree)
    monkeypatch.setenv("INVENTREE_TOKEN", "not-the-token")
    refused = InvenTreeConnector().probe(deliveries.client, deliveries.peer)
    assert not refused.ok and "credential refused" in refused.summary  # InvenTree: even /api/
    assert "not-the-token" not in refused.summary
    monkeypatch.setenv("INVENTREE_TOKEN", TOKEN)
    with InvenTreeFake(token=TOKEN, api_version=372) as old:
        peer = PeerConfig(system_name="Old", base_url=old.url,
                          credential_name="INVENTREE_TOKEN", options={"category": 1})
        report = InvenTreeConnector().probe(deliveries.client, peer)
    assert not report.ok and "API version 372" in report.summary


def test_units_follow_the_systems_unit_map_in_the_message(inventree):
    mapped = copy.deepcopy(PAYLOAD)
    mapped["units"] = {"mm": "millimeter"}
    assert Deliveries(inventree).deliver(mapped).classification.outcome == Outcome.DELIVERED
    parts = {p["IPN"]: p for p in inventree.parts.values()}
    assert (parts["TB-310"]["units"], parts["SC-M8"]["units"]) == ("millimeter", "")


def read_back(deliveries, payload=PAYLOAD):
    envelope = OutboundEnvelope(message_id=1, topic="mbom.published", payload=payload,
                                idempotency_key="k", ordering_key="mbom:BER:BK-100",
                                correlation_id="c", created_at=datetime.now(UTC),
                                known_ids=dict(deliveries.known))
    return InvenTreeConnector().read_back(deliveries.client, envelope, deliveries.peer,
                                          deadline=time.monotonic() + 20)


def test_read_back_finds_hand_edits_field_by_field_with_gets_only(inventree):
    """Drift: a quantity edited by hand, a line deleted and one added are each found with
    Thread's and InvenTree's value; a delivery of the same message then converges and the
    read-back finds nothing."""
    deliveries = Deliveries(inventree)
    deliveries.deliver()
    assert read_back(deliveries).differences == ()
    ipn = {p["IPN"]: pk for pk, p in inventree.parts.items()}
    items = {inventree.parts[i["sub_part"]]["IPN"]: pk for pk, i in inventree.bom_items.items()}
    inventree.bom_items[items["SC-M8"]]["quantity"] = Decimal(5)  # edited by hand
    del inventree.bom_items[items["TB-310"]]  # deleted by hand
    inventree.add_bom_item(ipn["BK-100"], ipn["SC-M8-ALT"], quantity=2)  # added by hand
    writes = inventree.writes
    found = read_back(deliveries)
    assert found.classification.outcome == Outcome.DELIVERED
    assert inventree.writes == writes and all(s.method == "GET" for s in found.steps)
    assert set(found.differences) == {
        Difference("BK-100|B/20", "quantity", "4", "5"),
        Difference("BK-100|B/40", "", "1250 of TB-310|", ""),
        Difference("BK-100|B/+SC-M8-ALT|", "", "", "2 (extra line)")}
    assert deliveries.deliver().classification.outcome == Outcome.DELIVERED  # re-push
    assert read_back(deliveries).differences == ()


def test_read_back_of_an_unreachable_peer_fails_without_differences(inventree):
    deliveries = Deliveries(inventree)
    deliveries.deliver()
    inventree.fail_next(status=503, paths="/api/bom/")
    found = read_back(deliveries)
    assert (found.classification.outcome, found.differences) == (Outcome.RETRY, ())
