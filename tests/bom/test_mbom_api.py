"""The mBOM API: lists with pinned query counts, a version with its lineage, the diff, the
preview of a draft rule-set version and the accountability check, as PLM/ERP systems read
them."""

from __future__ import annotations

from dataclasses import replace

import pytest

from thread.bom.mbom import generation
from thread.bom.models import MBomVersion

from ..conftest import problem
from .test_mbom_support import *  # noqa: F403 (fixtures)
from .test_mbom_support import (
    BOX,
    categorise_screws,
    draft_from,
    new_version,
    product_body,
    push,
    revision,
    row_counts,
)

API = "/api/v1/bom/"


@pytest.fixture
def generated(rules):
    for n in (1, 2):
        push(product_body(f"PR-{n}", 3))
    categorise_screws()
    for n in (1, 2):
        generation.mbom_generate(revision=revision(f"PR-{n}"), plant=rules.rule_set.plant,
                                 cause=rules, actor=None, reason="test")
    return rules


@pytest.mark.parametrize("route,expected", [("mboms/", 4), ("mbom-versions/", 4)])
def test_lists_have_a_constant_query_count(generated, erp, route, expected,
                                           django_assert_num_queries):
    with django_assert_num_queries(3):  # the key with its system, its last-used touch, a page
        response = erp.get(API + route)
    assert response.status_code == 200, response.content
    assert len(response.json()["results"]) == expected


def test_mboms_filter_by_plant_part_and_revision(generated, plm):
    body = plm.get(API + "mboms/?plant=BER&part=PR-1&revision=A").json()
    (mbom,) = body["results"]
    assert (mbom["revision"]["part"]["number"], mbom["plant"]["code"],
            mbom["current_version"]["number"]) == ("PR-1", "BER", 1)


def test_a_version_comes_with_its_lines_and_their_lineage(generated, erp,
                                                          django_assert_num_queries):
    version = MBomVersion.objects.get(mbom__revision__part__number="PR-1")
    with django_assert_num_queries(6):
        body = erp.get(f"{API}mbom-versions/{version.pk}/").json()
    assert (body["number"], body["rule_set_version"]["number"], body["line_count"]) == (1, 1, 5)
    assert body["cause"] == {"type": "bom.mappingrulesetversion", "id": str(generated.pk)}
    screw = next(line for line in body["lines"] if line["part"] == "SC-0")
    assert (screw["quantity"], screw["unit"], screw["operation"]) == ("2", "pcs", "ASSY")
    ((source,),) = screw["lineage"]["sources"]
    assert (source["parent_part"], source["parent_revision"], source["find_number"]) == (
        "PR-1", "A", 10)
    assert [rule["name"] for rule in screw["lineage"]["rules"]] == ["Screws at assembly"]


def test_diff_between_two_versions(generated, erp):
    v2 = new_version(generated, replace(BOX, order=50, name="Foam",
                                        params={"part": "PK-1", "quantity": "2", "unit": "pcs"}))
    generation.mbom_generate(revision=revision("PR-1"), plant=generated.rule_set.plant, cause=v2,
                             actor=None, reason="test")
    old, new = MBomVersion.objects.filter(mbom__revision__part__number="PR-1").order_by("number")
    body = erp.get(f"{API}mbom-versions/{new.pk}/diff/?against={old.pk}").json()
    assert body["summary"] == {"added": 1, "removed": 0, "changed": 0, "unchanged": 5}
    added = next(e for e in body["entries"] if e["kind"] == "added")
    assert (added["new"]["part"], added["new"]["quantity"], added["old"]) == ("PK-1", "2", None)
    assert added["new"]["lineage"]["rules"][0]["name"] == "Foam"
    assert problem(erp.get(f"{API}mbom-versions/{new.pk}/diff/"))["status"] == 400


def test_preview_of_a_draft_writes_nothing_and_shows_changes_with_lineage(generated, plm):
    draft = draft_from(generated, replace(BOX, order=60, name="Screw 0 welded",
                                          action="assign_operation",
                                          condition={"field": "part", "op": "eq",
                                                     "value": "SC-0"},
                                          params={"operation": "WELD"}))
    before = row_counts()
    response = plm.get(f"{API}mbom-previews/?part=PR-1&plant=BER&rule_set_version={draft.pk}")
    assert response.status_code == 200, response.content
    assert row_counts() == before
    body = response.json()
    top = body["assemblies"][0]
    assert (top["part"], top["would_store"], top["current_version"]["number"]) == ("PR-1", True, 1)
    assert top["summary"] == {"added": 0, "removed": 0, "changed": 1, "unchanged": 4}
    changed = next(e for e in top["entries"] if e["kind"] == "changed")
    assert changed["changes"] == [{"field": "operation", "old": "ASSY", "new": "WELD"}]
    assert changed["new"]["lineage"]["rules"][0]["name"] == "Screw 0 welded"
    assert body["accountability"]["ok"] is True


def test_preview_and_accountability_refusals_are_problems(generated, plm, mes):
    assert problem(plm.get(f"{API}mbom-previews/?plant=BER"))["errors"][0]["pointer"] == "/part"
    assert plm.get(f"{API}mbom-previews/?part=NOPE&plant=BER").status_code == 404
    assert mes.get(f"{API}mbom-previews/?part=PR-1&plant=BER").status_code == 403
    assert mes.get(f"{API}mboms/").status_code == 403


def test_accountability_of_the_stored_mboms(generated, erp):
    body = erp.get(f"{API}accountability/?part=PR-1&plant=BER").json()
    assert (body["ok"], body["problems"], body["mismatches"], body["rule_set_version"]) == (
        True, [], [], None)


def test_a_person_needs_the_view_right(generated, person):
    auditor = person("auditor")
    assert auditor.get(f"{API}mbom-previews/?part=PR-1&plant=BER").status_code == 200
    assert auditor.get(f"{API}accountability/?part=PR-1&plant=BER").status_code == 200
