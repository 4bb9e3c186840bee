"""Shift starts over a plant's calendar, across both daylight-saving changes (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from thread.orders.work_orders.shifts import local_start, plant_calendar, shift_of, shift_starts

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
EVERY_DAY = {day: ["02:30", "06:00", "14:00", "22:00"]
             for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def test_a_start_that_does_not_exist_runs_when_the_clocks_jump():
    # 2027-03-28: Berlin jumps from 02:00 CET to 03:00 CEST (01:00 UTC); 02:30 does not exist.
    assert local_start(datetime(2027, 3, 28).date(), "02:30", BERLIN) == utc(2027, 3, 28, 1, 0)
    # New York, 2027-03-14: 02:00 EST → 03:00 EDT at 07:00 UTC.
    assert local_start(datetime(2027, 3, 14).date(), "02:30", NEW_YORK) == utc(2027, 3, 14, 7, 0)


def test_a_start_that_occurs_twice_runs_once_at_its_first_occurrence():
    # 2027-10-31: Berlin's 02:30 happens at 00:30 UTC (CEST) and again at 01:30 UTC (CET).
    starts = shift_starts(EVERY_DAY, BERLIN, utc(2027, 10, 30, 22), utc(2027, 10, 31, 12))
    assert [(s.at, s.key) for s in starts] == [
        (utc(2027, 10, 31, 0, 30), "2027-10-31 02:30"),
        (utc(2027, 10, 31, 5, 0), "2027-10-31 06:00")]


def test_the_spring_forward_day_has_every_shift_once():
    starts = shift_starts(EVERY_DAY, BERLIN, utc(2027, 3, 27, 23), utc(2027, 3, 28, 23))
    assert [(s.at, s.key) for s in starts] == [
        (utc(2027, 3, 28, 1, 0), "2027-03-28 02:30"),
        (utc(2027, 3, 28, 4, 0), "2027-03-28 06:00"),
        (utc(2027, 3, 28, 12, 0), "2027-03-28 14:00"),
        (utc(2027, 3, 28, 20, 0), "2027-03-28 22:00")]


def test_the_shift_an_instant_falls_in_runs_to_the_next_start():
    calendar = {"mon": ["06:00", "14:00"], "fri": ["06:00"]}
    # Friday 2027-01-22 10:00 Berlin is in Friday's 06:00 shift, which runs to Monday 06:00.
    start, following = shift_of(calendar, BERLIN, datetime(2027, 1, 22, 10, tzinfo=BERLIN))
    assert (start.key, following.key) == ("2027-01-22 06:00", "2027-01-25 06:00")
    assert shift_of({}, BERLIN, datetime(2027, 1, 22, tzinfo=BERLIN)) is None


def test_the_plant_calendar_is_the_union_of_its_work_centers():
    assert plant_calendar([{"mon": ["14:00", "06:00"]}, {"mon": ["06:00"], "sat": ["07:00"]},
                           {}]) == {"mon": ["06:00", "14:00"], "sat": ["07:00"]}
