"""mBOM generation: versions, fingerprints, lineage, bulk writes, outbound messages, drafts,
preview and accountability, on the real database."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.test.utils import CaptureQueriesContext

from thread.bom.mbom import generation as mbom_generation
from thread.bom.mbom import preview as mbom_preview
from thread.bom.mbom import selectors
from thread.bom.models import MBom, MBomLine, MBomVersion
from thread.catalog.effectivity import plant_today
from thread.catalog.models import PartRevision
from thread.errors import InvalidInput, StateConflict
from thread.flows.models import OutboundMessage

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


def generate(product, version, **kwargs):
    return mbom_generation.mbom_generate(revision=product, plant=version.rule_set.plant,
                                    rule_set_version=version, cause=version, actor=None,
                                    reason="test", **kwargs)


@pytest.fixture
def product(rules):
    push(product_body("PR-1", 3))
    categorise_screws()
    return revision("PR-1")


def test_generation_stores_one_versioned_mbom_per_made_assembly(product, rules):
    result = generate(product, rules)
    assert {v.mbom.revision.part.number for v in result.created} == {"PR-1", "PR-1-FR"}
    top = MBomVersion.objects.get(mbom__revision=product)
    assert (top.number, top.is_current, top.rule_set_version, top.root, top.line_count) == (
        1, True, rules, product, 5)  # frame, 3 screws, box; the document is excluded
    assert top.as_of == plant_today(rules.rule_set.plant)
    assert top.resolved_revisions["PR-1-FR"]["label"] == "A"
    assert top.cause == rules and top.reason == "test"
    lines = {line.part.number: line for line in top.lines.select_related("part", "unit")}
    assert (lines["SC-0"].quantity, lines["SC-0"].operation, lines["SC-0"].make_or_buy) == (
        Decimal(2), "ASSY", "buy")
    assert lines["PK-1"].added_by_rule_id is not None
    frame = MBomVersion.objects.get(mbom__revision__part__number="PR-1-FR")
    tube = frame.lines.select_related("unit").get()
    assert (tube.quantity, tube.unit.code) == (Decimal("1.25"), "m")
    assert [kind for kind, *_ in top.set_aside] == ["excluded"]


def test_same_inputs_make_no_new_version_and_send_nothing(product, rules):
    generate(product, rules)
    versions, messages = MBomVersion.objects.count(), OutboundMessage.objects.count()
    again = generate(product, rules)
    assert (again.created, again.messages, len(again.unchanged)) == ([], [], 2)
    assert (MBomVersion.objects.count(), OutboundMessage.objects.count()) == (versions, messages)


def test_new_rules_make_numbered_versions_and_old_ones_never_change(product, rules):
    first = generate(product, rules)
    old_top = next(v for v in first.created if v.mbom.revision_id == product.pk)
    old_lines = list(old_top.lines.values_list("position", "part_id", "quantity", "lineage"))
    v2 = new_version(rules, replace(BOX, order=50, name="Foam", params={
        "part": "PK-1", "quantity": "2", "unit": "pcs"}))
    second = generate(product, v2)
    top = next(v for v in second.created if v.mbom.revision_id == product.pk)
    assert (top.number, top.rule_set_version, top.is_current) == (2, v2, True)
    old_top.refresh_from_db()
    assert not old_top.is_current
    assert list(old_top.lines.values_list("position", "part_id", "quantity", "lineage")) == \
        old_lines
    assert MBom.objects.filter(revision=product).count() == 1


def test_only_versions_whose_erp_content_changed_are_sent(product, rules):
    generate(product, rules)
    v2 = new_version(rules, replace(BOX, order=50, name="Foam", params={
        "part": "PK-1", "quantity": "2", "unit": "pcs"}))
    result = generate(product, v2)
    # Both mBOMs get a version naming the new rules; only the top's content changed.
    assert len(result.created) == 2
    assert [m.ordering_key for m in result.messages] == ["mbom:BER:PR-1"]


def test_outbound_message_carries_the_canonical_mbom(product, rules, erp):
    result = generate(product, rules)
    message = OutboundMessage.objects.get(ordering_key="mbom:BER:PR-1")
    version = MBomVersion.objects.get(mbom__revision=product)
    assert (message.system, message.topic, message.about, message.cause, message.status) == (
        erp.system, "mbom.published", version, rules, "pending")
    payload = message.payload
    assert (payload["plant"], payload["part"], payload["revision"], payload["version"],
            payload["rule_set_version"], payload["as_of"]) == (
        "BER", "PR-1", "A", 1, 1, result.as_of.isoformat())
    screw = next(line for line in payload["lines"] if line["part"] == "SC-0")
    assert (screw["quantity"], screw["unit"], screw["make_or_buy"], screw["operation"]) == (
        "2", "pcs", "buy", "ASSY")
    assert len(result.messages) == 2


def test_a_rolled_back_transaction_leaves_no_version_and_no_message(product, rules):
    with pytest.raises(RuntimeError), transaction.atomic():
        generate(product, rules)
        assert OutboundMessage.objects.exists()
        raise RuntimeError("the caller fails after generating")
    assert not MBomVersion.objects.exists()
    assert not OutboundMessage.objects.exists()


def test_lineage_names_the_ebom_lines_and_rules_an_auditor_can_open(product, rules):
    generate(product, rules)
    top = MBomVersion.objects.get(mbom__revision=product)
    screw = top.lines.get(part__number="SC-1")
    lookup = selectors.lineage_lookup(lineages=[screw.lineage])
    (path,) = lookup.sources(screw.lineage)
    assert [(s["parent_part"], s["parent_revision"], s["find_number"], s["part"])
            for s in path] == [("PR-1", "A", 11, "SC-1")]
    assert path[0]["ebom_id"] in top.ebom_ids
    assert [(r["name"], r["order"], r["rule_set_version"]) for r in lookup.rules_of(
        screw.lineage)] == [("Screws at assembly", 10, 1)]


@pytest.mark.parametrize("leaves", [20, 400])
def test_writes_are_bulk_whatever_the_number_of_lines(rules, leaves, django_assert_num_queries):
    push(product_body("PR-9", leaves))
    categorise_screws()
    product = revision("PR-9")
    ContentType.objects.clear_cache()  # the same count whichever test ran before
    with CaptureQueriesContext(transaction.get_connection()) as queries:
        result = generate(product, rules)
    assert result.line_count == leaves + 3
    # The lines go in one COPY, which Django does not count: constant either way. (28: the
    # explosion no longer asks for the revisions of leaves that have none, the two outbound
    # messages are written together, the parts they name are described in two queries and the
    # ERP's unit codes read in one.)
    assert len(queries.captured_queries) == 28


def test_drafts_are_previewed_never_stored_or_sent(rules):
    push(product_body("PR-2", 2, release=False))
    draft = revision("PR-2")
    with pytest.raises(StateConflict, match="preview"):
        generate(draft, rules)
    preview = mbom_preview.mbom_preview(revision=draft, plant=rules.rule_set.plant,
                                      rule_set_version=rules)
    assert [a.part for a in preview.assemblies] == ["PR-2", "PR-2-FR"]
    assert not any(a.would_store for a in preview.assemblies)
    assert not MBomVersion.objects.exists() and not OutboundMessage.objects.exists()


def test_a_draft_subassembly_under_a_released_product_is_left_out(rules):
    push(product_body("PR-3", 1))
    PartRevision.objects.filter(part__number="PR-3-FR").update(status="draft",
                                                                 released_at=None)
    result = generate(revision("PR-3"), rules)
    assert result.drafts == ["PR-3-FR"]
    assert [v.mbom.revision.part.number for v in result.created] == ["PR-3"]


def test_generation_needs_published_rules(product, rules):
    draft = draft_from(rules)
    with pytest.raises(StateConflict, match="published"):
        generate(product, draft)


def test_preview_of_a_draft_rule_set_writes_nothing_and_shows_the_diff(product, rules):
    generate(product, rules)
    draft = draft_from(rules, replace(BOX, order=5, name="Screws at welding",
                                           action="assign_operation",
                                           condition={"field": "part", "op": "eq",
                                                      "value": "SC-2"},
                                           params={"operation": "WELD"}))
    before = row_counts()
    preview = mbom_preview.mbom_preview(revision=product, plant=rules.rule_set.plant,
                                      rule_set_version=draft)
    assert row_counts() == before
    top = next(a for a in preview.assemblies if a.part == "PR-1")
    assert top.current is not None and top.would_store
    assert top.diff.summary() == {"added": 0, "removed": 0, "changed": 0, "unchanged": 5}
    assert preview.accountability.ok


def test_preview_diff_names_added_removed_and_changed_lines(product, rules):
    generate(product, rules)
    draft = draft_from(rules, replace(BOX, order=60, name="Screw 0 welded",
                                           action="assign_operation",
                                           condition={"field": "part", "op": "eq",
                                                      "value": "SC-0"},
                                           params={"operation": "WELD"}))
    preview = mbom_preview.mbom_preview(revision=product, plant=rules.rule_set.plant,
                                      rule_set_version=draft)
    top = next(a for a in preview.assemblies if a.part == "PR-1")
    changed = [e for e in top.diff.entries if e.kind == "changed"]
    assert [(e.line.part, [(c.field, c.old, c.new) for c in e.changes]) for e in changed] == [
        ("SC-0", [("operation", "ASSY", "WELD")])]
    rule_names = [r["name"] for r in preview.lineage.rules_of(changed[0].new.lineage)]
    assert rule_names == ["Screw 0 welded"]  # the rule whose effect shows: the last one wins


def test_preview_refuses_rules_of_another_plant(product, rules, units):
    from thread.catalog import services as catalog

    other = catalog.plant_create(code="CLT", name="Charlotte", time_zone="America/New_York",
                                 actor=None, reason="t")
    with pytest.raises(InvalidInput, match="another plant"):
        mbom_preview.mbom_preview(revision=product, plant=other, rule_set_version=rules)


def test_version_diff_between_two_stored_versions(product, rules):
    generate(product, rules)
    v2 = new_version(rules, replace(BOX, order=50, name="Foam", params={
        "part": "PK-1", "quantity": "2", "unit": "pcs"}))
    generate(product, v2)
    old, new = MBomVersion.objects.filter(mbom__revision=product).order_by("number")
    diff = mbom_preview.mbom_version_diff(old=old, new=new)
    assert diff.summary() == {"added": 1, "removed": 0, "changed": 0, "unchanged": 5}
    (added,) = [e for e in diff.entries if e.kind == "added"]
    assert (added.line.part, added.line.quantity) == ("PK-1", Decimal(2))


def test_accountability_of_stored_mboms_finds_a_missing_line_and_a_quantity_mismatch(
        product, rules):
    generate(product, rules)
    plant = rules.rule_set.plant
    assert mbom_preview.accountability(revision=product, plant=plant).ok
    top = MBomVersion.objects.get(mbom__revision=product)
    # What a hand edit of the stored data (or a bug) would leave: one line gone, one wrong.
    MBomLine.objects.filter(version=top, part__number="SC-2").delete()
    MBomLine.objects.filter(version=top, part__number="SC-1").update(
        unrounded_quantity=Decimal(3), quantity=Decimal(3))
    report = mbom_preview.accountability(revision=product, plant=plant)
    assert not report.ok
    unaccounted = [p for p in report.problems if p["message"] == "occurrence not accounted for"]
    assert [(p["part"], p["parent"], p["find_number"]) for p in unaccounted] == [
        ("SC-2", "PR-1", 12)]
    assert {(m.part, m.ebom_quantity, m.mbom_quantity) for m in report.mismatches} == {
        ("SC-1", Decimal(2), Decimal(3)), ("SC-2", Decimal(2), Decimal(0))}


def test_accountability_with_a_draft_checks_a_fresh_mapping(product, rules):
    draft = draft_from(rules)
    report = mbom_preview.accountability(revision=product, plant=rules.rule_set.plant,
                                       rule_set_version=draft)
    assert report.ok and report.rule_set_version == draft


def test_accountability_reports_made_assemblies_without_a_stored_mbom(product, rules):
    report = mbom_preview.accountability(revision=product, plant=rules.rule_set.plant)
    missing = [p["part"] for p in report.problems if p["message"].startswith("no stored mBOM")]
    assert missing == ["PR-1", "PR-1-FR"] and report.mismatches == []
