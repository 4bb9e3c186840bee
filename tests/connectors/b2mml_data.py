"""Work orders for the B2MML tests: a realistic one to look at, and hypothesis strategies for random
ones (any text XML can hold, exact decimals of any scale, times in any UTC offset)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import strategies as st

from connectors.b2mml.document import (
    Envelope,
    Material,
    MaterialDefinition,
    MaterialUse,
    Operation,
    WorkOrderDocument,
)

ENVELOPE = Envelope(sender="Thread", bod_id="WO-1001-v1",
                    created_at=datetime(2026, 11, 25, 7, 30, tzinfo=UTC))
LINEAGE = {"revision": "BK-100 B", "mbom_version": "12", "rule_set_version": "BER rules v3",
           "routing_version": "BK-100 @ BER v2"}


def operation(sequence: int, *, components: int = 2, queue: bool = True, instructions: str = "Torque 25 Nm",
              **changes) -> Operation:
    fields = dict(
        sequence=sequence, code=f"OP{sequence}", description=f"Operation {sequence}",
        work_center=f"WC-{sequence}", setup_minutes=Decimal("15.50"), run_minutes_per_unit=Decimal("2.25"),
        planned_minutes=Decimal("120.75"), queue_minutes=Decimal("30") if queue else None,
        move_minutes=Decimal("5") if queue else None, milestone=sequence % 20 == 0,
        reports_quantity=True, instructions=instructions, document_reference="DRW-100 rev B",
        materials=tuple(Material(part=f"C-{sequence}-{n}", description=f"Component {n}",
                                 quantity=Decimal("1.500") * n, unit="pcs")
                        for n in range(1, components + 1)))
    fields.update(changes)
    return Operation(**fields)


def work_order(number: str = "WO-1001", *, steps: int = 3, components: int = 2,
               **changes) -> WorkOrderDocument:
    fields = dict(
        number=number, production_order="4711", plant="BER", part="BK-100", part_description="Bike frame",
        revision="B", quantity=Decimal("25"), unit="pcs",
        planned_start=datetime(2026, 11, 25, 8, tzinfo=UTC),
        planned_end=datetime(2026, 11, 27, 16, tzinfo=UTC),
        operations=tuple(operation(10 * (i + 1), components=components) for i in range(steps)),
        lineage=dict(LINEAGE))
    fields.update(changes)
    return WorkOrderDocument(**fields)


def big_order() -> WorkOrderDocument:
    """40 operations, 5,000 components: the size the measurements in validate.py are for."""
    return work_order("WO-BIG", steps=40, components=125)


DEFINITIONS = [MaterialDefinition("C-10-1", "Component 1", "pcs"), MaterialDefinition("C-10-2", "", "kg")]

# Any character XML 1.0 can hold: no surrogates, no C0 controls but tab, line feed and carriage
# return, no U+FFFE/U+FFFF.
_char = st.characters(exclude_categories=("Cs", "Cc"), exclude_characters="\ufffe\uffff",
                      include_characters="\t\n\r")
text = st.text(_char, max_size=12)


@st.composite
def decimals(draw, *, signed: bool = True) -> Decimal:
    """Exact decimals of any scale, including spellings like 2.500 and 1E+2."""
    digits = draw(st.integers(min_value=-10**15 if signed else 0, max_value=10**15))
    return Decimal(digits).scaleb(draw(st.integers(min_value=-8, max_value=4)))


_offsets = st.timedeltas(min_value=timedelta(hours=-23, minutes=-59),
                         max_value=timedelta(hours=23, minutes=59))
times = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1),
                     timezones=st.one_of(st.just(UTC), st.builds(timezone, _offsets)))


def materials(uses: st.SearchStrategy[MaterialUse]) -> st.SearchStrategy[tuple[Material, ...]]:
    return st.lists(st.builds(Material, part=text, description=text, quantity=decimals(), unit=text,
                              use=uses, revision=text), max_size=4).map(tuple)


def operations(*, last: bool) -> st.SearchStrategy[Operation]:
    # The last operation may not list the produced part (the renderer adds it); here it lists
    # only components, which is what Thread builds.
    uses = st.just(MaterialUse.CONSUMED) if last else st.sampled_from(MaterialUse)
    return st.builds(
        Operation, sequence=st.integers(min_value=0, max_value=10**6), code=text, description=text,
        work_center=text, setup_minutes=decimals(), run_minutes_per_unit=decimals(),
        planned_minutes=decimals(signed=False), queue_minutes=st.none() | decimals(),
        move_minutes=st.none() | decimals(), milestone=st.booleans(), reports_quantity=st.booleans(),
        instructions=text, document_reference=text, materials=materials(uses))


work_orders = st.builds(
    lambda first, last, **fields: WorkOrderDocument(operations=(*first, last), **fields),
    first=st.lists(operations(last=False), max_size=3), last=operations(last=True),
    number=text, production_order=text, plant=text, part=text, part_description=text, revision=text,
    quantity=decimals(), unit=text, planned_start=times, planned_end=times,
    lineage=st.dictionaries(text.filter(lambda key: ": " not in key), text, max_size=4))
