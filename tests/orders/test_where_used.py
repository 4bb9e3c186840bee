"""Where-used: one recursive query, checked against a plain Python walk on a deep structure
with tens of thousands of paths, through eBOMs and plants' mBOMs, with obsolete revisions and
replaced snapshots left out, and a cycle that ends."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from bench.structures import deep_structure
from thread.bom.mbom.where_used import where_used_graph
from thread.bom.models import EBom, EBomLine, MBom, MBomLine, MBomVersion
from thread.catalog import services as catalog
from thread.catalog.models import PartRevision, UnitOfMeasure

from .conftest import publish_rules
from .structures import reference_edges, reference_paths


def test_a_deep_structure_in_one_query_matches_the_reference_walk(units,
                                                                   django_assert_num_queries):
    # 8 levels of 4 assemblies, each built from all 4 below: 4 ** 8 = 65,536 paths.
    deep = deep_structure(levels=8, width=4, noise=30)
    leaf = deep["leaf"]
    with django_assert_num_queries(1):
        graph = where_used_graph(part_ids=[leaf.pk])
    used = graph.where_used(leaf.pk, limit=100_000)

    expected = reference_paths(reference_edges(), leaf.pk)
    assert len(expected) == 4 ** 8 == used.path_count
    assert not used.truncated
    numbers = {p.pk: p.number for p in deep["parts"].values()}
    assert set(used.paths) == {tuple(numbers[p] for p in path) for path in expected}
    assert used.top_level == ("D-TOP",)
    assert [(a.part, a.depth) for a in used.ancestors[:5]] == [
        ("D-1-0", 1), ("D-1-1", 1), ("D-1-2", 1), ("D-1-3", 1), ("D-2-0", 2)]
    assert used.ancestors[-1].part == "D-TOP" and used.ancestors[-1].depth == 9
    assert used.ancestors[-1].top_level and used.ancestors[-1].in_ebom

    capped = graph.where_used(leaf.pk, limit=1000)
    assert (len(capped.paths), capped.truncated, capped.path_count) == (1000, True, 4 ** 8)


def test_mbom_edges_obsolete_revisions_and_old_snapshots(units):
    """D-LEAF sits in D-1-0 (eBOM). A plant's mBOM of D-2-0 uses it directly (a flattened
    phantom) and through a substitute line; an obsolete revision and a replaced snapshot that
    also hold it are not where it is used."""
    deep = deep_structure(levels=2, width=1)
    pcs = UnitOfMeasure.objects.get(code="pcs")
    plant = catalog.plant_create(code="BER", name="B", time_zone="Europe/Berlin", actor=None,
                                 reason="t")
    parts, revisions, leaf = deep["parts"], deep["revisions"], deep["leaf"]
    substitute = catalog.part_create(number="D-SUB", name="sub", base_unit=pcs, actor=None,
                                     reason="t")
    mbom = MBom.objects.create(revision=revisions[parts["D-2-0"].pk], plant=plant)
    rule_set = publish_rules(plant)
    old, current = (MBomVersion.objects.create(
        mbom=mbom, number=n, is_current=n == 2, rule_set_version=rule_set,
        as_of=timezone.localdate(), root=revisions[parts["D-TOP"].pk], fingerprint="f",
        content_hash="c", line_count=1, created_at=timezone.now(), reason="t")
        for n in (1, 2))
    for version, part, stands_for in ((current, leaf, None), (current, substitute, leaf),
                                      (old, parts["D-TOP"], None)):
        MBomLine.objects.create(version=version, position=1 if stands_for is None else 2,
                                part=part, quantity=1, unrounded_quantity=1, unit=pcs,
                                item_type="component", make_or_buy="buy",
                                substitutes_for=stands_for)
    # An obsolete assembly and an old snapshot of D-TOP, both holding the leaf.
    obsolete = catalog.part_create(number="D-OLD", name="old", base_unit=pcs, actor=None,
                                   reason="t")
    old_rev = PartRevision.objects.create(part=obsolete, label="A", status="obsolete",
                                          released_at=timezone.now())
    stale = EBom.objects.create(revision=revisions[parts["D-TOP"].pk], number=0,
                                is_current=False, reason="t", line_count=1, fingerprint="x")
    for ebom in (EBom.objects.create(revision=old_rev, number=1, reason="t", line_count=1,
                                     fingerprint="y"), stale):
        EBomLine.objects.create(ebom=ebom, find_number=10, part=leaf, quantity=Decimal(1),
                                unit=pcs, item_type="component")

    graph = where_used_graph(part_ids=[leaf.pk, substitute.pk])
    used = graph.where_used(leaf.pk)
    assert [(a.part, a.depth, a.in_ebom, a.plants) for a in used.ancestors] == [
        ("D-1-0", 1, True, ()), ("D-2-0", 1, True, ("BER",)), ("D-TOP", 2, True, ())]
    assert used.paths == (("D-LEAF", "D-1-0", "D-2-0", "D-TOP"), ("D-LEAF", "D-2-0", "D-TOP"))
    assert used.path_count == 2
    assert {(e.parent, e.mbom_version_id) for e in graph.edges[leaf.pk] if e.source == "mbom"} \
        == {(parts["D-2-0"].pk, current.pk)}
    assert graph.where_used(substitute.pk).paths == (("D-SUB", "D-2-0", "D-TOP"),)
    assert reference_paths(reference_edges(), leaf.pk) == {
        tuple(deep["parts"][n].pk for n in path) for path in used.paths}


def test_a_cycle_ends(units):
    deep = deep_structure(levels=2, width=1)
    parts = deep["parts"]
    pcs = UnitOfMeasure.objects.get(code="pcs")
    # D-1-0 gets a second revision whose eBOM contains D-TOP: D-TOP → D-2-0 → D-1-0 → D-TOP.
    second = PartRevision.objects.create(part=parts["D-1-0"], label="B")
    ebom = EBom.objects.create(revision=second, number=1, reason="t", line_count=1,
                               fingerprint="z")
    EBomLine.objects.create(ebom=ebom, find_number=10, part=parts["D-TOP"], quantity=1,
                            unit=pcs, item_type="component")
    graph = where_used_graph(part_ids=[deep["leaf"].pk])
    used = graph.where_used(deep["leaf"].pk)
    assert used.paths == (("D-LEAF", "D-1-0", "D-2-0", "D-TOP"),)
    assert used.path_count == 1
    assert [a.part for a in used.ancestors] == ["D-1-0", "D-2-0", "D-TOP"]


