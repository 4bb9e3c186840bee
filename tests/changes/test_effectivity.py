"""Effectivity and the one resolver: dates judged in each plant's time zone, serial ranges,
lots, later releases winning, and the unchanged answer without `as_of`."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.utils import timezone

from thread.catalog import selectors
from thread.catalog import services as catalog
from thread.catalog.effectivity import (
    Lot,
    Serial,
    effectivity_problems,
    plant_date,
    plant_today,
    serial_in_range,
)
from thread.catalog.models import RevisionEffectivity


@pytest.fixture
def part(units):
    return catalog.part_create(number="MT-500", name="Drive unit", base_unit=units["pcs"],
                               actor=None, reason="t")


@pytest.fixture
def plants(db):
    return {code: catalog.plant_create(code=code, name=code, time_zone=zone, actor=None,
                                       reason="t")
            for code, zone in (("BER", "Europe/Berlin"), ("CLT", "America/New_York"))}


def released(part, label, **effectivity):
    """A released revision of `part` with the given effectivity (none if not given)."""
    revision = catalog.revision_create(part=part, label=label, actor=None, reason="t")
    if effectivity:
        RevisionEffectivity.objects.create(revision=revision, **effectivity)
    return catalog.revision_release(revision=revision, actor=None, reason="t")


def in_effect(part, as_of=None, **kwargs):
    revision = selectors.revision_in_effect(part=part, as_of=as_of, **kwargs)
    return revision.label if revision else None


@pytest.mark.parametrize("serial, first, last, inside", [
    ("SN-1000", "SN-1000", "SN-1999", True),
    ("SN-1999", "SN-1000", "SN-1999", True),
    ("SN-999", "SN-1000", "SN-1999", False),  # numerically, not as text ("SN-999" > "SN-1")
    ("SN-2000", "SN-1000", "SN-1999", False),
    ("SN-01500", "SN-1000", "SN-1999", True),  # zero padding does not matter
    ("XX-1500", "SN-1000", "SN-1999", False),  # another prefix is another series
    ("SN-123456", "SN-1000", None, True),  # open range: the first and every later serial
    ("SN-999", "SN-1000", None, False),
    ("PROTO", "PROTO", None, True),  # no numeric end: only itself
    ("PROTO2", "PROTO", None, False),
])
def test_serials_compare_by_their_numeric_end_under_one_prefix(serial, first, last, inside):
    assert serial_in_range(serial, first, last) is inside


def test_effectivity_problems_name_the_field():
    assert effectivity_problems(kind="date", effective_from=None, serial_from="",
                                serial_to="", lot="") == {
        "effective_from": "Date effectivity needs the date it starts."}
    assert effectivity_problems(kind="serial", effective_from=date(2027, 1, 1),
                                serial_from="SN-10", serial_to="AB-20", lot="") == {
        "effective_from": "Not used by serial effectivity; leave it empty.",
        "serial_to": "A serial range needs two serials with the same prefix and a numeric end, "
                     "e.g. SN-1000 to SN-1999."}
    assert effectivity_problems(kind="lot", effective_from=None, serial_from="", serial_to="",
                                lot="L-77") == {}


def test_without_as_of_the_newest_release_applies_as_before(part):
    released(part, "A")
    released(part, "B", kind="date", effective_from=date(2099, 1, 1))
    assert in_effect(part) == "B"


def test_a_date_in_the_future_leaves_the_old_revision_in_effect(part):
    released(part, "A")
    released(part, "B", kind="date", effective_from=date(2027, 1, 15))
    assert in_effect(part, date(2027, 1, 14)) == "A"  # A is superseded, yet in effect
    assert in_effect(part, date(2027, 1, 15)) == "B"
    assert in_effect(part, date(2030, 1, 1)) == "B"


def test_a_date_is_judged_in_each_plants_time_zone(part, plants):
    released(part, "A")
    released(part, "B", kind="date", effective_from=date(2026, 12, 1))
    instant = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)  # 00:30 in Berlin, 18:30 in Charlotte
    assert plant_date(plants["BER"], instant) == date(2026, 12, 1)
    assert plant_date(plants["CLT"], instant) == date(2026, 11, 30)
    assert in_effect(part, plant_date(plants["BER"], instant)) == "B"
    assert in_effect(part, plant_date(plants["CLT"], instant)) == "A"


def test_plant_today_is_the_plants_calendar_day(plants, monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: datetime(2027, 1, 15, 3, 0, tzinfo=UTC))
    assert plant_today(plants["BER"]) == date(2027, 1, 15)
    assert plant_today(plants["CLT"]) == date(2027, 1, 14)


def test_a_later_release_with_an_earlier_date_cuts_the_earlier_plan_short(part):
    released(part, "A")
    released(part, "B", kind="date", effective_from=date(2027, 3, 1))
    released(part, "C", kind="date", effective_from=date(2027, 1, 15))
    assert [in_effect(part, date(2027, m, d)) for m, d in ((1, 1), (2, 1), (4, 1))] == [
        "A", "C", "C"]


def test_a_release_without_effectivity_applies_from_the_start(part):
    released(part, "A", kind="date", effective_from=date(2026, 6, 1))
    released(part, "B")
    assert in_effect(part, date(2020, 1, 1)) == "B"


def test_serial_ranges(part):
    released(part, "A")
    released(part, "B", kind="serial", serial_from="SN-1000", serial_to="SN-1999")
    released(part, "C", kind="serial", serial_from="SN-2000")
    answers = {serial: in_effect(part, Serial(serial))
               for serial in ("SN-999", "SN-1000", "SN-1999", "SN-2000", "SN-10000", "XX-1500")}
    assert answers == {"SN-999": "A", "SN-1000": "B", "SN-1999": "B", "SN-2000": "C",
                       "SN-10000": "C", "XX-1500": "A"}
    # Serial effectivity does not answer a date: the date question still gets A.
    assert in_effect(part, date(2030, 1, 1)) == "A"


def test_lots(part):
    released(part, "A")
    released(part, "B", kind="lot", lot="L-77")
    assert (in_effect(part, Lot("L-77")), in_effect(part, Lot(" L-77 ")),
            in_effect(part, Lot("L-78")), in_effect(part, Serial("SN-1"))) == ("B", "B", "A", "A")


def test_drafts_only_fill_a_part_with_nothing_in_effect(part):
    catalog.revision_create(part=part, label="A", actor=None, reason="t")
    assert in_effect(part, date(2027, 1, 1)) is None
    assert in_effect(part, date(2027, 1, 1), include_drafts=True) == "A"


def test_obsolete_revisions_never_apply(part):
    a = released(part, "A")
    catalog.revision_make_obsolete(revision=a, actor=None, reason="t")
    assert in_effect(part, date(2030, 1, 1)) is None


def test_a_datetime_is_refused(part):
    with pytest.raises(TypeError, match="plant-local date"):
        selectors.revision_in_effect(part=part, as_of=timezone.now())


def test_many_parts_resolve_in_one_query(units, django_assert_num_queries):
    parts = [catalog.part_create(number=f"P-{i}", name="p", base_unit=units["pcs"], actor=None,
                                 reason="t") for i in range(5)]
    for p in parts:
        released(p, "A")
        released(p, "B", kind="date", effective_from=date(2027, 1, 1))
    with django_assert_num_queries(1):
        found = selectors.revisions_in_effect(part_ids=[p.pk for p in parts],
                                              as_of=date(2026, 12, 31))
    assert {r.label for r in found.values()} == {"A"}
