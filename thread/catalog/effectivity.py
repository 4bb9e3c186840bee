"""Effectivity: when a released revision applies, as plain values and pure rules.

A revision may carry one effectivity (`RevisionEffectivity`, set through its change order while
the revision is a draft): from a date, for a serial-number range, or for one lot. The resolver
(`catalog.selectors.revision_in_effect`) asks "which revision applies" with `as_of`:

* a `date` — a calendar date in the asking plant's time zone (`plant_today`, `plant_date`);
* `Serial("SN-1042")` — the unit being built;
* `Lot("L-77")` — the lot being built.

Serial numbers compare by their numeric suffix under the same prefix ("SN-999" < "SN-1000",
"SN-0042" = "SN-42"); a serial without digits at its end matches only itself. Lots match
exactly. These rules are here, over plain data, so the resolver, the model's validation and
the tests share them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.db import models
from django.utils import timezone

MAX_SERIAL_LENGTH = 64
_SERIAL_RE = re.compile(r"^(.*?)(\d+)$")


class EffectivityKind(models.TextChoices):
    DATE = "date", "From a date"
    SERIAL = "serial", "Serial-number range"
    LOT = "lot", "Lot"


@dataclass(frozen=True, slots=True)
class Serial:
    """A serial number, asked as `as_of`: which revision applies to this unit."""

    value: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", self.value.strip())


@dataclass(frozen=True, slots=True)
class Lot:
    """A lot number, asked as `as_of`: which revision applies to this lot."""

    value: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", self.value.strip())


AsOf = date | Serial | Lot | None


def serial_key(serial: str) -> tuple[str, int] | None:
    """(prefix, number) of a serial with a numeric suffix, else None."""
    match = _SERIAL_RE.match(serial.strip())
    return (match.group(1), int(match.group(2))) if match else None


def serial_in_range(serial: str, first: str, last: str | None) -> bool:
    """Whether `serial` lies in [first, last] (`last` None: first and every later serial).

    Serials compare by their numeric suffix under the same prefix; a serial whose prefix
    differs is outside; a range bound without digits matches only that exact serial."""
    serial, first = serial.strip(), first.strip()
    if serial == first or (last is not None and serial == last.strip()):
        return True
    key, low = serial_key(serial), serial_key(first)
    if key is None or low is None or key[0] != low[0] or key[1] < low[1]:
        return False
    if last is None:
        return True
    high = serial_key(last)
    return high is not None and high[0] == key[0] and key[1] <= high[1]


def effectivity_problems(*, kind: str, effective_from: date | None, serial_from: str,
                         serial_to: str, lot: str) -> dict[str, str]:
    """What is wrong with an effectivity, by field (empty: it is valid). Each kind uses its own
    fields and no other, so a stored effectivity is never ambiguous."""
    problems: dict[str, str] = {}
    given = {"effective_from": effective_from is not None, "serial_from": bool(serial_from),
             "serial_to": bool(serial_to), "lot": bool(lot)}
    own = {EffectivityKind.DATE: {"effective_from"},
           EffectivityKind.SERIAL: {"serial_from", "serial_to"},
           EffectivityKind.LOT: {"lot"}}.get(kind)
    if own is None:
        return {"kind": f"kind is one of {', '.join(EffectivityKind.values)}."}
    for name in sorted(set(given) - own):
        if given[name]:
            problems[name] = f"Not used by {kind} effectivity; leave it empty."
    if kind == EffectivityKind.DATE and effective_from is None:
        problems["effective_from"] = "Date effectivity needs the date it starts."
    if kind == EffectivityKind.LOT and not lot:
        problems["lot"] = "Lot effectivity needs the lot."
    if kind == EffectivityKind.SERIAL:
        if not serial_from:
            problems["serial_from"] = "Serial effectivity needs the first serial number."
        elif serial_to:
            low, high = serial_key(serial_from), serial_key(serial_to)
            if low is None or high is None or low[0] != high[0]:
                problems["serial_to"] = ("A serial range needs two serials with the same prefix "
                                         "and a numeric end, e.g. SN-1000 to SN-1999.")
            elif high[1] < low[1]:
                problems["serial_to"] = "The last serial comes before the first."
    return problems


def effective_for(*, kind: str | None, effective_from: date | None, serial_from: str,
                  serial_to: str, lot: str, as_of: AsOf) -> bool:
    """Whether a released revision with this effectivity (`kind` None: none) applies to `as_of`.

    A revision without effectivity applies always. Date effectivity answers dates only, serial
    effectivity serials only, lot effectivity lots only: a date-effective revision does not
    apply to a question about a serial, and the other way round. `as_of` None is not judged
    here (the resolver then takes the newest release)."""
    if kind is None:
        return True
    if isinstance(as_of, date):
        return kind == EffectivityKind.DATE and effective_from is not None \
            and effective_from <= as_of
    if isinstance(as_of, Serial):
        return kind == EffectivityKind.SERIAL and serial_in_range(as_of.value, serial_from,
                                                                  serial_to or None)
    if isinstance(as_of, Lot):
        return kind == EffectivityKind.LOT and lot == as_of.value
    return True


def plant_date(plant, instant: datetime) -> date:
    """The calendar date at `plant` (its IANA time zone) at `instant` (an aware datetime)."""
    return instant.astimezone(ZoneInfo(plant.time_zone)).date()


def plant_today(plant) -> date:
    """Today at `plant`: what a plant's date-effectivity question is asked with."""
    return plant_date(plant, timezone.now())


@dataclass(frozen=True, slots=True)
class EffectivityInput:
    """An effectivity as a change order states it, before it is stored on the revision."""

    kind: str
    effective_from: date | None = None
    serial_from: str = ""
    serial_to: str = ""
    lot: str = ""

    def problems(self) -> dict[str, str]:
        return effectivity_problems(kind=self.kind, effective_from=self.effective_from,
                                    serial_from=self.serial_from, serial_to=self.serial_to,
                                    lot=self.lot)
