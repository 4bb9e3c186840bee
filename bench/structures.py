"""Deep structures for bench/where_used.py and the where-used tests, written as rows in bulk (an
ingest of each level would only slow the setup)."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from thread.bom.models import EBom, EBomLine
from thread.catalog.models import Part, PartRevision, UnitOfMeasure


def deep_structure(*, levels: int, width: int, prefix: str = "D", noise: int = 0) -> dict:
    """A leaf part `<prefix>-LEAF` under `levels` levels of `width` assemblies, each assembly
    containing every assembly of the level below (the first level: the leaf), under one
    top-level product: width ** levels where-used paths from the leaf. `noise` unrelated
    two-level assemblies of 20 lines each make the tables realistic."""
    pcs = UnitOfMeasure.objects.get(code="pcs")
    now = timezone.now()
    numbers = [f"{prefix}-LEAF"] + [f"{prefix}-{level}-{i}" for level in range(1, levels + 1)
                                    for i in range(width)] + [f"{prefix}-TOP"]
    numbers += [f"{prefix}-N{n}-{i}" for n in range(noise) for i in range(21)]
    parts = {p.number: p for p in Part.objects.bulk_create(
        [Part(number=n, name=n, base_unit=pcs) for n in numbers])}
    revisions = {r.part_id: r for r in PartRevision.objects.bulk_create(
        [PartRevision(part=p, label="A", status="released", released_at=now)
         for p in parts.values()])}

    def rev(number):
        return revisions[parts[number].pk]

    children: dict[str, list[str]] = {}
    below = [f"{prefix}-LEAF"]
    for level in range(1, levels + 1):
        here = [f"{prefix}-{level}-{i}" for i in range(width)]
        for number in here:
            children[number] = below
        below = here
    children[f"{prefix}-TOP"] = below
    for n in range(noise):
        children[f"{prefix}-N{n}-0"] = [f"{prefix}-N{n}-{i}" for i in range(1, 21)]
    eboms = {e.revision_id: e for e in EBom.objects.bulk_create(
        [EBom(revision=rev(parent), number=1, is_current=True, reason="t",
              line_count=len(kids), fingerprint=parent) for parent, kids in children.items()])}
    EBomLine.objects.bulk_create(
        [EBomLine(ebom=eboms[rev(parent).pk], find_number=10 * (i + 1), part=parts[kid],
                  quantity=Decimal(1), unit=pcs, item_type="component")
         for parent, kids in children.items() for i, kid in enumerate(kids)],
        batch_size=5000)
    return {"parts": parts, "revisions": revisions, "leaf": parts[f"{prefix}-LEAF"],
            "top": parts[f"{prefix}-TOP"]}
