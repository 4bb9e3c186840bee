"""Diffs: the pure eBOM diff, and an affected item's eBOM and per-plant mBOM preview through
the API (exact lines added, removed and changed)."""

from __future__ import annotations

from decimal import Decimal

from thread.bom.rules import services as bom
from thread.catalog import services as catalog
from thread.changes.diff import EBomLineData, ebom_diff

from .conftest import CHANGE_ORDERS


def line(find, part, qty="1", **extra) -> EBomLineData:
    return EBomLineData(find_number=find, part=part, quantity=Decimal(qty), unit="pcs",
                        item_type="component", **extra)


def test_ebom_lines_pair_by_part_so_a_renumbered_line_is_a_change():
    diff = ebom_diff(
        [line(10, "A"), line(20, "B"), line(30, "C", attributes={"x": "1", "y": "2"}),
         line(40, "D")],
        [line(10, "A"), line(25, "B"), line(30, "C", "2", attributes={"x": "1", "z": "3"}),
         line(50, "E")])
    assert [(e.kind, e.line.find_number, e.line.part,
             [(c.field, c.old, c.new) for c in e.changes]) for e in diff.entries] == [
        ("unchanged", 10, "A", []),
        ("changed", 25, "B", [("find_number", 20, 25)]),
        ("changed", 30, "C", [("quantity", Decimal(1), Decimal(2)), ("attributes.y", "2", None),
                              ("attributes.z", None, "3")]),
        ("added", 50, "E", []),
        ("removed", 40, "D", []),
    ]
    assert diff.summary() == {"added": 1, "removed": 1, "changed": 2, "unchanged": 1}


def test_a_part_on_several_lines_pairs_equal_find_numbers_first():
    diff = ebom_diff([line(10, "S", "2"), line(20, "S", "4")],
                     [line(20, "S", "4"), line(30, "S", "6")])
    assert [(e.kind, e.old and e.old.find_number, e.new and e.new.find_number)
            for e in diff.entries] == [("unchanged", 20, 20), ("changed", 10, 30)]


def test_the_diff_shows_the_ebom_and_each_plants_mbom(draft_eco, people, erp):
    berlin = catalog.plant_create(code="BER", name="Berlin", time_zone="Europe/Berlin",
                                  actor=None, reason="t")
    catalog.plant_create(code="CLT", name="Charlotte", time_zone="America/New_York",
                         actor=None, reason="t")
    rule_set = bom.rule_set_create(plant=berlin, name="Berlin rules", actor=None, reason="t")
    draft = rule_set.versions.get()
    bom.rule_set_draft_edit(
        version=draft, lock_version=0, actor=None, reason="t",
        add=[bom.RuleInput(order=10, name="No documents", action="exclude",
                           condition={"field": "item_type", "op": "eq", "value": "document"})])
    bom.rule_set_version_publish(version=draft, actor=None, reason="t")

    response = erp.get(f"{CHANGE_ORDERS}{draft_eco.pk}/diff/")
    assert response.status_code == 200, response.content
    [item] = response.json()["items"]
    ebom = item["ebom"]
    assert ebom["summary"] == {"added": 2, "removed": 2, "changed": 2, "unchanged": 0}
    assert [(e["kind"], (e["new"] or e["old"])["find_number"], (e["new"] or e["old"])["part"],
             e["changes"]) for e in ebom["lines"]] == [
        ("added", 10, "MT-511", []),
        ("changed", 25, "MT-520", [{"field": "find_number", "old": 20, "new": 25}]),
        ("changed", 30, "SC-M8x16", [{"field": "quantity", "old": "3", "new": "4"}]),
        ("added", 50, "WA-M8", []),
        ("removed", 10, "MT-510", []),
        ("removed", 40, "DOC-4", []),
    ]
    ber, clt = item["mbom"]
    assert (clt["plant"], clt["problem"], clt["assemblies"]) == (
        "CLT", "No published rule set: nothing to preview.", [])
    assert (ber["plant"], ber["rule_set_version"], ber["problem"]) == ("BER", 1, "")
    [assembly] = ber["assemblies"]
    assert (assembly["part"], assembly["kind"], assembly["summary"]) == (
        "MT-500", "changed", {"added": 2, "removed": 1, "changed": 1, "unchanged": 1})
    assert [(e["kind"], (e["new"] or e["old"])["part"], e["changes"])
            for e in assembly["lines"]] == [
        ("added", "MT-511", []),
        ("unchanged", "MT-520", []),  # renumbered in the eBOM: the mBOM does not care
        ("changed", "SC-M8x16", [{"field": "quantity", "old": "3", "new": "4"}]),
        ("added", "WA-M8", []),
        ("removed", "MT-510", []),  # the document was excluded before and after
    ]


def test_the_diff_query_count_is_bounded(draft_eco, erp,
                                                     django_assert_max_num_queries):
    with django_assert_max_num_queries(25):
        assert erp.get(f"{CHANGE_ORDERS}{draft_eco.pk}/diff/").status_code == 200
