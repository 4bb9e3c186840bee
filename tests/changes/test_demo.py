"""The demo's ECO-1001: in review, and its diffs show the motor swap at both plants."""

from __future__ import annotations

from thread.changes import selectors
from thread.changes.models import ChangeOrder
from thread.demo.seed import seed_demo


def test_the_demo_eco_shows_the_motor_swap_in_every_plant(db):
    seed_demo()
    eco = ChangeOrder.objects.get(number="ECO-1001")
    assert (eco.status, eco.source_system.name, eco.requester) == ("in_review", "PLM",
                                                                    "j.meyer (PLM)")
    [diff] = selectors.change_order_diff(change_order=eco)
    assert diff.item.to_revision.effectivity.describe() == "from 2027-01-15"
    assert [(e.kind, e.line.part) for e in diff.ebom.entries if e.kind != "unchanged"] == [
        ("added", "MT-511"), ("removed", "MT-510")]
    for preview in diff.plants:
        assert preview.problem == "", preview.plant.code
        drive = next(a for a in preview.assemblies if a.part == "MT-500")
        assert [(e.kind, e.line.part) for e in drive.diff.entries
                if e.kind != "unchanged"] == [("added", "MT-511"), ("removed", "MT-510")]
        assert all(a.kind == "unchanged" for a in preview.assemblies if a.part != "MT-500")
