"""Did the change help? A scripted history of the drive unit MT-500 at Berlin: revision A for
the days before ECO-1's B, B after; the comparison takes as many days before the first B result
as B has had since, for A, and says what changed."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from thread.catalog.effectivity import plant_today
from thread.catalog.models import PartRevision
from thread.changes.models import ChangeOrder
from thread.feedback.rollups import RollupKey, quality_contribution, result_contribution
from thread.feedback.services import rollup_apply

from ..conftest import problem
from ..orders.conftest import eco  # noqa: F401 (fixture)
from ..support.openapi import assert_documented

EFFECTS = "/api/v1/feedback/change-order-effects/"


def made(plant, revision, day, good, scrap, run_minutes, defects=0):
    key = RollupKey(plant.pk, revision.pk, "ASSY", "ASM-1", day)
    rollup_apply(result_contribution(
        key=key, good_quantity=Decimal(good), scrap_quantity=Decimal(scrap),
        scrap_reason="BURR" if scrap else "", setup_minutes=Decimal(20),
        run_minutes=Decimal(run_minutes), standard_setup=Decimal(20), standard_run=Decimal(2)))
    if defects:
        rollup_apply(quality_contribution(key=key, defect_code="BURR", quantity=Decimal(defects)))


@pytest.fixture
def history(eco, plants):  # noqa: F811
    berlin = plants["BER"]
    old = PartRevision.objects.get(part__number="MT-500", label="A")
    new = PartRevision.objects.get(part__number="MT-500", label="B")
    today = plant_today(berlin)
    made(berlin, old, today - timedelta(days=20), 0, 10, 10)  # outside the window: not counted
    for n in range(5, 10):  # A: 8 good, 2 scrap, 2 min a unit, a defect a day
        made(berlin, old, today - timedelta(days=n), 8, 2, 20, defects=1)
    for n in range(5):  # B since four days ago: 19 good, 1 scrap, 1.5 min a unit
        made(berlin, new, today - timedelta(days=n), 19, 1, 30)
    released = timezone.now() - timedelta(days=5)
    ChangeOrder.objects.filter(pk=eco.pk).update(
        status="released", submitted_at=released, approved_at=released, released_at=released)
    return {"berlin": berlin, "today": today}


def test_the_new_revision_is_compared_with_the_old_over_as_many_days(history, plm):
    answer = plm.get(EFFECTS, {"change_order": "ECO-1", "days": 30})
    assert answer.status_code == 200, answer.content
    assert_documented(answer, EFFECTS)
    [effect] = answer.json()["effects"]
    today = history["today"]
    assert (effect["part"], effect["plant"], effect["comparable"]) == ("MT-500", "BER", True)
    assert (effect["after"]["revision"], effect["after"]["start"], effect["after"]["days"]) == (
        "B", (today - timedelta(days=4)).isoformat(), 5)
    assert (effect["before"]["revision"], effect["before"]["start"], effect["before"]["end"]) == (
        "A", (today - timedelta(days=9)).isoformat(), (today - timedelta(days=5)).isoformat())
    assert effect["before"]["figures"]["results"] == 5  # the day 20 days ago is outside
    changes = effect["changes"]
    assert changes["first_pass_yield"] == {"before": "0.800000", "after": "0.950000",
                                           "change": "0.150000"}
    assert changes["run_per_unit_mean"]["change"] == "0.750000"  # 1.5 against 2 minutes
    assert changes["defects_per_unit"] == {"before": "0.100000", "after": "0.000000",
                                           "change": "-0.100000"}
    assert effect["after"]["by_operation"]["ASSY"]["good_quantity"] == "95.000000"


def test_only_a_released_change_order_that_exists_has_effects(history, plm, eco):  # noqa: F811
    assert plm.get(EFFECTS, {"change_order": "ECO-404"}).status_code == 404
    assert problem(plm.get(EFFECTS, {"days": 0, "change_order": "ECO-1"}))["errors"][0][
        "pointer"] == "/days"
    ChangeOrder.objects.filter(pk=eco.pk).update(status="draft", submitted_at=None,
                                                 approved_at=None, released_at=None)
    assert plm.get(EFFECTS, {"change_order": "ECO-1"}).status_code == 409
