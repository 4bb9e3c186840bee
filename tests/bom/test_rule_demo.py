"""The demo's rule sets, run by the engine on the demo e-bike: every eBOM line is accounted
for, and the two plants' mBOMs differ exactly where their rules say."""

from __future__ import annotations

from decimal import Decimal

import pytest

from thread.bom.choices import VersionStatus
from thread.bom.ebom import selectors as ebom_selectors
from thread.bom.engine import check_accountability, map_ebom
from thread.bom.mbom import selectors as mbom_selectors
from thread.bom.models import MappingRuleSet, MappingRuleSetVersion
from thread.catalog.models import Part, Plant
from thread.catalog.selectors import revision_in_effect
from thread.demo.mapping_rules import RULE_SETS
from thread.demo.seed import seed_demo


def map_demo() -> dict:
    """The demo e-bike mapped with each plant's current rules: {plant code: (version, result)}."""
    results = {}
    bike = revision_in_effect(part=Part.objects.get(number="BK-100"))
    ebom = ebom_selectors.engine_ebom(revision=bike)
    parts = {line.part for lines in ebom.lines_by_parent.values() for line in lines}
    for plant in Plant.objects.all():
        version = mbom_selectors.current_rule_set_version(plant=plant)
        rules = mbom_selectors.engine_rules(version=version)
        context = mbom_selectors.plant_context(
            plant=plant, part_numbers=parts | mbom_selectors.rule_part_numbers(rules))
        results[plant.code] = (version, ebom, map_ebom(ebom, rules, context))
    return results


@pytest.fixture
def demo(db):
    seed_demo()
    return map_demo()


def lines(result, assembly):
    return {line.part: line for line in result.mboms[assembly].lines}


def test_demo_seeds_one_published_rule_set_per_plant_and_reruns_without_change(demo):
    assert sorted(MappingRuleSet.objects.values_list("plant__code", flat=True)) == ["BER", "CLT"]
    for code, (version, _, _) in demo.items():
        assert (version.number, version.status) == (1, VersionStatus.PUBLISHED)
        assert version.rules.count() == len(RULE_SETS[code][2])
        assert 10 <= version.rules.count() <= 30
        assert version.events.filter(kind="published").count() == 1
    versions = MappingRuleSetVersion.objects.count()
    assert "published rule sets" not in seed_demo().created
    assert MappingRuleSetVersion.objects.count() == versions


def test_every_demo_ebom_line_is_accounted_for_without_warnings(demo):
    for _, ebom, result in demo.values():
        assert check_accountability(ebom, result) == []
        assert result.warnings == ()


def test_berlin_makes_the_frame_and_charlotte_buys_it(demo):
    berlin, charlotte = demo["BER"][2], demo["CLT"][2]
    assert lines(berlin, "BK-100")["FR-200"].make_or_buy == "make"
    assert {"FR-200", "FR-210", "FR-220"} <= set(berlin.mboms)
    assert lines(charlotte, "BK-100")["FR-200"].make_or_buy == "buy"
    assert not {"FR-200", "FR-210", "FR-220"} & set(charlotte.mboms)
    assert {d.kind for d in charlotte.set_aside if d.path[0] == _line_id(demo, "FR-200")} == {
        "inside_bought"}


def test_berlin_books_tubes_and_cables_in_metres_charlotte_in_millimetres(demo):
    berlin, charlotte = demo["BER"][2], demo["CLT"][2]
    tube = lines(berlin, "FR-210")["TB-310"]  # 1250 mm + 3 % saw scrap, up to the centimetre
    assert (tube.quantity, tube.unit, tube.scrap_percent, tube.operation) == (
        Decimal("1.29"), "m", Decimal("3"), "WELD")
    assert (lines(berlin, "HN-560")["CB-410"].quantity, lines(berlin, "HN-560")["CB-410"].unit) == (
        Decimal("1.80"), "m")
    cable = lines(charlotte, "HN-560")["CB-410"]  # 1800 mm + 2 %, up to 10 mm
    assert (cable.quantity, cable.unit) == (Decimal("1840"), "mm")
    assert lines(charlotte, "BR-850")["HY-430"].unit == "mm"
    assert lines(berlin, "BR-850")["HY-430"].unit == "m"


def test_documents_software_packaging_and_alternates_differ_per_plant(demo):
    berlin, charlotte = demo["BER"][2], demo["CLT"][2]
    ber_bike, clt_bike = lines(berlin, "BK-100"), lines(charlotte, "BK-100")
    assert not any(p.startswith(("DOC-", "SW-")) for m in berlin.mboms.values() for p in
                   lines(berlin, m.part))
    assert clt_bike["SW-2"].operation == "0090-FLASH"
    assert dict(clt_bike["SW-2"].erp_fields) == {"item_category": "N"}
    assert {p: ber_bike[p].quantity for p in ("PK-100", "PK-110", "PK-150")} == {
        "PK-100": Decimal("1"), "PK-110": Decimal("1"), "PK-150": Decimal("0.125")}
    assert {"PK-100", "PK-140"} <= set(clt_bike) and "PK-110" not in clt_bike
    assert "CT-3.6x200" in ber_bike and "CT-3.6x200" not in clt_bike
    assert clt_bike["CT-4.8x200"].substitutes_for == "CT-3.6x200"


def test_fasteners_under_one_parent_are_consolidated(demo):
    # SC-M4x12: 2 from the cockpit kit and 2 from the accessory kit, both flattened into BK-100
    for _, _, result in demo.values():
        screw = lines(result, "BK-100")["SC-M4x12"]
        assert screw.quantity == 4 and len(screw.lineage.paths) == 2
        assert screw.erp_fields["backflush"] is True


def _line_id(demo, part: str) -> int:
    ebom = demo["BER"][1]
    return next(line.id for line in ebom.lines_by_parent["BK-100"] if line.part == part)
