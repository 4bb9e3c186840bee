"""Aliases analysts add and each system's own unit codes: admin, services, history, API."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError

from thread.catalog import selectors, services
from thread.catalog.models import Part, SystemUnitCode, UnitAlias
from thread.catalog.units import UnitNotRecognised

from ..conftest import problem

ALIASES = "/api/v1/catalog/unit-aliases/"
SYSTEM_CODES = "/api/v1/catalog/system-unit-codes/"
UNITS = "/api/v1/catalog/units/"


@pytest.fixture
def litre(units):
    return services.unit_create(code="l", name="litre", dimension="volume", factor=Decimal(1),
                                actor=None, reason="test units")


@pytest.fixture
def analyst(db, roles, client):
    user = get_user_model().objects.create_user("ana", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name="analyst"))
    client.force_login(user)
    client.user = user
    return client


def test_an_analyst_adds_an_alias_in_the_admin_with_a_reason(analyst, litre):
    page = analyst.get("/admin/catalog/unitalias/add/")
    assert page.status_code == 200
    assert b'name="reason"' in page.content
    response = analyst.post("/admin/catalog/unitalias/add/", {
        "alias": "  Ltr. ", "unit": litre.pk, "reason": "The Windchill export writes Ltr."})
    assert response.status_code == 302, response.content
    alias = UnitAlias.objects.get()
    assert (alias.alias, alias.unit) == ("Ltr.", litre)
    created = alias.history.get()
    assert (created.history_type, created.history_user, created.history_change_reason) == (
        "+", analyst.user, "The Windchill export writes Ltr.")
    assert selectors.unit_catalog().resolve("LTR.") == "l"


def test_an_alias_that_is_a_units_code_or_name_is_refused_in_the_admin(analyst, units, litre):
    for taken in ("KG", "Litre"):
        response = analyst.post("/admin/catalog/unitalias/add/", {
            "alias": taken, "unit": units["g"].pk, "reason": "try"})
        assert response.status_code == 200
        assert b"is the code or name of" in response.content
    assert not UnitAlias.objects.exists()


def test_an_alias_is_unique_in_any_case(litre, units):
    services.unit_alias_create(alias="Ltr.", unit=litre, actor=None, reason="t")
    with pytest.raises(ValidationError, match="exists already"):
        services.unit_alias_create(alias="LTR.", unit=units["pcs"], actor=None, reason="t")


def test_changing_and_deleting_an_alias_in_the_admin_keeps_who_and_why(analyst, litre, units):
    alias = services.unit_alias_create(alias="Ltr.", unit=litre, actor=None, reason="t")
    response = analyst.post(f"/admin/catalog/unitalias/{alias.pk}/change/", {
        "alias": "Stck", "unit": units["pcs"].pk, "reason": "Meant pieces"})
    assert response.status_code == 302, response.content
    assert selectors.unit_catalog().resolve("stck") == "pcs"
    response = analyst.post("/admin/catalog/unitalias/", {
        "action": "delete_selected", "_selected_action": [alias.pk], "post": "yes"})
    assert response.status_code == 302, response.content
    assert not UnitAlias.objects.exists()
    changed, deleted = (UnitAlias.history.get(history_type=t) for t in "~-")
    assert (changed.history_user, changed.history_change_reason) == (analyst.user, "Meant pieces")
    assert (deleted.history_user, deleted.history_change_reason) == (
        analyst.user, "Deleted in the admin by ana")
    with pytest.raises(UnitNotRecognised):
        selectors.unit_catalog().resolve("stck")


def test_an_operator_reads_but_does_not_edit_unit_spellings(person):
    operator = person("operator").user
    assert operator.has_perm("catalog.view_unitalias")
    assert not operator.has_perm("catalog.add_unitalias")
    assert not operator.has_perm("catalog.change_systemunitcode")


def test_a_system_code_is_read_for_that_system_only(plm, erp, units, litre):
    services.system_unit_code_create(system=erp.system, code="ST", unit=units["pcs"],
                                     actor=None, reason="SAP's piece")
    services.system_unit_code_create(system=plm.system, code="LTR", unit=litre, actor=None,
                                     reason="Windchill's litre")
    services.system_unit_code_create(system=plm.system, code="M", unit=units["mm"], actor=None,
                                     reason="this PLM writes M for millimetres")
    assert selectors.unit_catalog(system=plm.system).resolve("M") == "mm"
    assert selectors.unit_catalog(system=erp.system).resolve("M") == "m"
    assert selectors.unit_catalog(system=plm.system).resolve("ltr") == "l"


def test_a_system_code_is_unique_per_system_in_any_case(plm, erp, units):
    services.system_unit_code_create(system=erp.system, code="ST", unit=units["pcs"],
                                     actor=None, reason="t")
    services.system_unit_code_create(system=plm.system, code="st", unit=units["pcs"],
                                     actor=None, reason="another system may say it too")
    with pytest.raises(ValidationError, match="has this code already"):
        services.system_unit_code_create(system=erp.system, code="st", unit=units["m"],
                                         actor=None, reason="t", outbound=False)


def test_outbound_codes_say_what_thread_writes_to_a_system(erp, units):
    services.system_unit_code_create(system=erp.system, code="ST", unit=units["pcs"],
                                     actor=None, reason="t")
    services.system_unit_code_create(system=erp.system, code="PCE", unit=units["pcs"],
                                     actor=None, reason="also read", outbound=False)
    services.system_unit_code_create(system=erp.system, code="MTR", unit=units["m"],
                                     actor=None, reason="t")
    with pytest.raises(ValidationError, match="outbound code for this unit already"):
        services.system_unit_code_create(system=erp.system, code="EA", unit=units["pcs"],
                                         actor=None, reason="t")
    assert selectors.outbound_unit_codes(system=erp.system) == {"pcs": "ST", "m": "MTR"}
    assert selectors.unit_catalog(system=erp.system).resolve("pce") == "pcs"


def test_an_analyst_maps_a_system_code_in_the_admin(analyst, erp, units):
    response = analyst.post("/admin/catalog/systemunitcode/add/", {
        "system": erp.system.pk, "code": "ST", "unit": units["pcs"].pk, "outbound": "on",
        "reason": "SAP writes ST (Stück)"})
    assert response.status_code == 302, response.content
    code = SystemUnitCode.objects.get()
    history = code.history.get()
    assert (history.history_user, history.history_change_reason) == (
        analyst.user, "SAP writes ST (Stück)")


@pytest.mark.parametrize("count", [2, 20])
def test_aliases_and_system_codes_are_read_in_the_api(plm, erp, units, count,
                                                      django_assert_num_queries):
    for i in range(count):
        services.unit_alias_create(alias=f"piece-{i:02}", unit=units["pcs"], actor=None,
                                   reason="t")
        services.system_unit_code_create(system=erp.system, code=f"C{i:02}", unit=units["m"],
                                         actor=None, reason="t", outbound=False)
    plm.get(UNITS)  # the key's last use is written once a minute
    with django_assert_num_queries(2):  # key, page (with its unit)
        aliases = plm.get(ALIASES, {"page_size": 50}).json()
    assert aliases["results"][0] == {"id": aliases["results"][0]["id"], "alias": "piece-00",
                                     "unit": "pcs"}
    assert len(aliases["results"]) == count
    with django_assert_num_queries(2):  # key, page (with its system and unit)
        codes = plm.get(SYSTEM_CODES, {"system": erp.system.name, "page_size": 50}).json()
    assert codes["results"][0] == {"id": codes["results"][0]["id"], "system": "ERP test",
                                   "code": "C00", "unit": "m", "outbound": False}
    with django_assert_num_queries(3):  # key, page, the units' aliases
        listed = plm.get(UNITS, {"code": "pcs"}).json()["results"]
    assert listed[0]["aliases"] == [f"piece-{i:02}" for i in range(count)]
    assert plm.get(ALIASES, {"unit": "m"}).json()["results"] == []


def test_a_part_push_reads_its_base_unit_as_written(plm, units, litre):
    services.system_unit_code_create(system=plm.system, code="LTR", unit=litre, actor=None,
                                     reason="t")
    for number, written, code in [("OIL-1", "LTR", "l"), ("SC-1", "Pieces", "pcs"),
                                  ("TB-1", "metres", "m")]:
        response = plm.push("/api/v1/catalog/parts/",
                            {"number": number, "name": number, "base_unit": written})
        assert (response.status_code, response.json()["base_unit"]) == (201, code)
    again = plm.push("/api/v1/catalog/parts/", {"number": "OIL-1", "name": "Oil",
                                                "base_unit": "litre"})
    assert again.status_code == 200, again.content
    refused = plm.push("/api/v1/catalog/parts/", {"number": "X-1", "name": "X",
                                                  "base_unit": "furlong"})
    assert refused.status_code == 400
    assert problem(refused)["errors"] == [{
        "pointer": "/base_unit", "code": "unknown_unit",
        "detail": "Unknown unit 'furlong'; known: g, kg, l, m, mm, pcs."}]
    assert not Part.objects.filter(number="X-1").exists()
