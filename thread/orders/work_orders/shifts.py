"""When shifts start, as a pure function over a plant's shift calendar (its work centers' start
times per weekday, in the plant's time zone): the instants the shift-start batches run at
(docs/work-orders.md, "Timing").

Daylight-saving days are the point of this module:
- a start time that does not exist (02:30 on the spring-forward day in Berlin) starts at the
  first valid instant after it — the moment the clocks jump (03:00 local);
- a start time that occurs twice (02:30 on the autumn day) starts once, at its first
  occurrence (summer time).
Each shift has a key — the plant-local date and the start time as written ("2027-03-28 02:30")
— which names its batch, so a shift is batched once however often or late the schedule runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, order=True)
class ShiftStart:
    at: datetime  # the instant (UTC) the shift starts
    key: str  # "YYYY-MM-DD HH:MM", plant-local, as the calendar writes it


def plant_calendar(calendars: Iterable[Mapping[str, Sequence[str]]]) -> dict[str, list[str]]:
    """The plant's shift starts per weekday: the union of its work centers' calendars."""
    merged: dict[str, set[str]] = {}
    for calendar in calendars:
        for day, starts in (calendar or {}).items():
            merged.setdefault(day, set()).update(starts)
    return {day: sorted(starts) for day, starts in merged.items()}


def local_start(day: date, clock: str, zone: ZoneInfo) -> datetime:
    """The instant a start time written for `day` happens in `zone`: its first occurrence if it
    occurs twice, the end of the gap if it does not occur at all."""
    hour, minute = (int(part) for part in clock.split(":"))
    wall = datetime.combine(day, time(hour, minute), tzinfo=zone)  # fold=0: first occurrence
    instant = wall.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == wall.replace(tzinfo=None):
        return instant
    # A wall time in the gap: zoneinfo reads it with the offset before the jump, which lands
    # after the jump; the clocks jumped at the last instant whose local time is before it.
    before = (wall - timedelta(hours=3)).astimezone(UTC)
    step = timedelta(minutes=1)
    probe = before
    while probe.astimezone(zone).replace(tzinfo=None) < wall.replace(tzinfo=None) \
            and probe < instant:
        probe += step
    return probe


def shift_starts(calendar: Mapping[str, Sequence[str]], zone: ZoneInfo, start: datetime,
                 end: datetime) -> list[ShiftStart]:
    """The shift starts in [start, end), in order, from a calendar {"mon": ["06:00"], …}."""
    found = []
    day = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date() + timedelta(days=1)
    while day <= last:
        for clock in calendar.get(WEEKDAYS[day.weekday()], ()):
            instant = local_start(day, clock, zone)
            if start <= instant < end:
                found.append(ShiftStart(instant, f"{day.isoformat()} {clock}"))
        day += timedelta(days=1)
    return sorted(found)


def shift_of(calendar: Mapping[str, Sequence[str]], zone: ZoneInfo,
             instant: datetime) -> tuple[ShiftStart, ShiftStart] | None:
    """The shift `instant` falls in — its start and the next shift's start — or None when the
    calendar has no shift within a week before it."""
    before = shift_starts(calendar, zone, instant - timedelta(days=8), instant + timedelta(
        microseconds=1))
    after = shift_starts(calendar, zone, instant + timedelta(microseconds=1),
                         instant + timedelta(days=8))
    if not before or not after:
        return None
    return before[-1], after[0]
