"""Units in an eBOM push as people and systems write them: stored as Thread's unit, refused
with the closest units when unknown, analysts' aliases and each system's own codes."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from thread.bom.models import EBomLine
from thread.catalog import services as catalog
from thread.catalog.models import UnitAlias

from ..conftest import make_system_client, problem
from .conftest import EBOMS, db_state


@pytest.fixture
def volumes(units):
    return {code: catalog.unit_create(code=code, name=name, dimension="volume",
                                      factor=Decimal(factor), actor=None, reason="test units")
            for code, name, factor in (("l", "litre", "1"), ("ml", "millilitre", "0.001"))}


def kit(*units_written, part="KIT-1", revision="A"):
    """A kit with one line per written unit, each a part X-n that the push creates in it."""
    return {"part": part, "revision": revision, "lines": [
        {"find_number": n * 10, "part": f"X-{n}", "quantity": "2", "unit": written,
         "item_type": "component"} for n, written in enumerate(units_written, start=1)]}


def stored_units():
    return list(EBomLine.objects.filter(ebom__is_current=True).order_by("find_number")
                .values_list("part__number", "unit__code", "part__base_unit__code"))


def test_units_written_as_people_write_them_are_stored_as_threads_units(plm, volumes):
    response = plm.push(EBOMS, kit("litres", "Liter", "EA", "PCE", "mL", "KG", "metres"))
    assert response.status_code == 201, response.content
    assert stored_units() == [("X-1", "l", "l"), ("X-2", "l", "l"), ("X-3", "pcs", "pcs"),
                              ("X-4", "pcs", "pcs"), ("X-5", "ml", "ml"), ("X-6", "kg", "kg"),
                              ("X-7", "m", "m")]
    # The same structure written with Thread's codes is the same eBOM: nothing new.
    again = plm.push(EBOMS, kit("l", "l", "pcs", "pcs", "ml", "kg", "m"))
    assert (again.status_code, again.json()["changed"]) == (200, False)


def test_an_unknown_unit_is_refused_with_the_closest_units_and_nothing_is_written(plm, volumes):
    before = db_state()
    response = plm.push(EBOMS, kit("pcs", "furlong", "kilogrm"))
    assert response.status_code == 400
    assert [(e["pointer"], e["code"], e["detail"]) for e in problem(response)["errors"]] == [
        ("/lines/1/unit", "unknown_unit",
         "Unknown unit 'furlong'; known: g, kg, l, m, ml, mm, pcs."),
        ("/lines/2/unit", "unknown_unit",
         "Unknown unit 'kilogrm'; did you mean kg (kilogram), g (gram)? Known: g, kg, l, m, ml, mm, pcs."),
    ]
    assert db_state() == before


def test_the_top_unit_of_a_new_part_is_read_as_written(plm, volumes):
    body = {**kit("ml"), "unit": "Litre"}
    assert plm.push(EBOMS, body).status_code == 201
    refused = plm.push(EBOMS, {**kit("ml", part="KIT-2"), "unit": "gallons"})
    assert [(e["pointer"], e["code"]) for e in problem(refused)["errors"]] == [
        ("/unit", "unknown_unit")]


def test_an_alias_added_in_the_admin_counts_from_the_next_push(plm, volumes, roles, client):
    assert plm.push(EBOMS, kit("Ltr.")).status_code == 400
    analyst = get_user_model().objects.create_user("ana", password="pw", is_staff=True)
    analyst.groups.add(Group.objects.get(name="analyst"))
    client.force_login(analyst)
    response = client.post("/admin/catalog/unitalias/add/", {
        "alias": "Ltr.", "unit": volumes["l"].pk, "reason": "Our Windchill writes Ltr."})
    assert response.status_code == 302, response.content

    assert plm.push(EBOMS, kit("LTR.")).status_code == 201
    assert stored_units() == [("X-1", "l", "l")]
    history = UnitAlias.objects.get().history.get()
    assert (history.history_user, history.history_change_reason) == (
        analyst, "Our Windchill writes Ltr.")


def test_a_systems_own_codes_count_for_its_pushes_only(plm, volumes):
    catalog.system_unit_code_create(system=plm.system, code="LT", unit=volumes["l"], actor=None,
                                    reason="Windchill writes LT")
    catalog.system_unit_code_create(system=plm.system, code="M", unit=volumes["ml"],
                                    actor=None, reason="and M for millilitres")
    other = make_system_client("Other PLM", "plm")
    refused = other.push(EBOMS, kit("LT"))
    assert [(e["pointer"], e["code"]) for e in problem(refused)["errors"]] == [
        ("/lines/0/unit", "unknown_unit")]
    assert plm.push(EBOMS, kit("LT", "M")).status_code == 201
    assert stored_units() == [("X-1", "l", "l"), ("X-2", "ml", "ml")]
    # Another system's "M" is still a metre.
    assert other.push(EBOMS, {**kit(part="KIT-2"), "lines": [
        {"find_number": 10, "part": "TB-1", "quantity": "2", "unit": "M",
         "item_type": "component"}]}).status_code == 201
    assert EBomLine.objects.get(ebom__revision__part__number="KIT-2").unit.code == "m"


def test_a_spelling_two_units_take_is_refused_naming_both(plm, units):
    catalog.unit_create(code="ea", name="each", dimension="count", factor=Decimal(1),
                        actor=None, reason="a second count unit")
    response = plm.push(EBOMS, kit("EA", "piece"))
    assert [(e["pointer"], e["code"], e["detail"]) for e in problem(response)["errors"]] == [
        ("/lines/1/unit", "ambiguous_unit",
         "Unit 'piece' may mean ea (each) or pcs (pieces); send the unit's code, or ask an "
         "analyst to add an alias.")]
