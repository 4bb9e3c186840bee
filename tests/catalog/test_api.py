import pytest

from thread.catalog import services
from thread.catalog.choices import RevisionStatus
from thread.catalog.models import Part, PartRevision

from ..conftest import problem

PARTS = "/api/v1/catalog/parts/"
REVISIONS = "/api/v1/catalog/part-revisions/"


@pytest.mark.parametrize("count", [3, 40])
def test_parts_list_query_count_does_not_grow(plm, numbered_parts, count,
                                              django_assert_num_queries):
    numbered_parts(count)
    with django_assert_num_queries(3):  # key lookup, key touch (first use), page
        response = plm.get(PARTS, {"page_size": 50})
    assert len(response.json()["results"]) == count


@pytest.mark.parametrize("count", [3, 40])
def test_revisions_list_query_count_does_not_grow(plm, numbered_parts, count,
                                                  django_assert_num_queries):
    numbered_parts(count)
    plm.get(PARTS)  # the key's last-use time is written once a minute, not on every call
    with django_assert_num_queries(2):
        response = plm.get(REVISIONS, {"page_size": 50})
    assert [r["part"]["number"] for r in response.json()["results"]] == [
        f"P-{i:04}" for i in range(count)]


def test_parts_are_paged_with_a_cursor_and_filtered(plm, numbered_parts):
    numbered_parts(5)
    first = plm.get(PARTS, {"page_size": 2}).json()
    assert [p["number"] for p in first["results"]] == ["P-0000", "P-0001"]
    second = plm.get(first["next"]).json()
    assert [p["number"] for p in second["results"]] == ["P-0002", "P-0003"]
    by_unit = plm.get(PARTS, {"base_unit": "m"}).json()["results"]
    assert [p["number"] for p in by_unit] == ["P-0000", "P-0002", "P-0004"]
    assert [p["number"] for p in plm.get(PARTS, {"search": "Part 3"}).json()["results"]] == [
        "P-0003"]


def test_a_plm_pushes_a_part_then_an_update(plm, units):
    created = plm.push(PARTS, {"number": "FR-200", "name": "Frame", "base_unit": "pcs",
                               "category": "frame"})
    assert created.status_code == 201
    updated = plm.push(PARTS, {"number": "FR-200", "name": "Frame assembly",
                               "base_unit": "pcs", "category": "frame"})
    assert updated.status_code == 200
    assert updated.json()["id"] == created.json()["id"]
    assert Part.objects.get().history.count() == 2


def test_changing_a_parts_base_unit_is_refused_with_a_pointer(plm, units):
    plm.push(PARTS, {"number": "TB-1", "name": "Tube", "base_unit": "m"})
    response = plm.push(PARTS, {"number": "TB-1", "name": "Tube", "base_unit": "pcs"})
    assert response.status_code == 400
    assert problem(response)["errors"][0]["pointer"] == "/base_unit"
    assert Part.objects.get().base_unit.code == "m"


def test_revision_push_release_and_released_immutability(plm, units):
    plm.push(PARTS, {"number": "BK-100", "name": "E-bike", "base_unit": "pcs"})
    draft = plm.push(REVISIONS, {"part": "BK-100", "label": "A", "attributes": {"color": "grey"}})
    assert (draft.status_code, draft.json()["status"]) == (201, "draft")
    revision_id = draft.json()["id"]
    released = plm.push(f"{REVISIONS}{revision_id}/release/", {"reason": "PLM release"})
    assert released.status_code == 200, released.content
    assert released.json()["status"] == "released"
    assert released.json()["released_by"] == plm.system.service_user.username

    changed = plm.push(REVISIONS, {"part": "BK-100", "label": "A",
                                   "attributes": {"color": "red"}})
    assert changed.status_code == 409
    assert problem(changed)["type"] == "/problems/released-revision-immutable"
    assert PartRevision.objects.get().attributes == {"color": "grey"}
    again = plm.push(f"{REVISIONS}{revision_id}/release/", {"reason": "again"})
    assert again.status_code == 409


def test_release_of_an_unknown_revision_is_404_problem(plm, units):
    response = plm.push(f"{REVISIONS}999999/release/", {"reason": "x"})
    assert response.status_code == 404
    assert problem(response)["type"] == "/problems/not-found"


def test_release_needs_a_reason_and_an_allowed_kind(plm, erp, units):
    part = services.part_create(number="X-1", name="X", base_unit=units["pcs"], actor=None,
                                reason="t")
    revision = services.revision_create(part=part, label="A", actor=None, reason="t")
    no_reason = plm.push(f"{REVISIONS}{revision.pk}/release/", {})
    assert no_reason.status_code == 400
    assert problem(no_reason)["errors"] == [
        {"pointer": "/reason", "code": "required", "detail": "This field is required."}]
    assert erp.push(f"{REVISIONS}{revision.pk}/release/", {"reason": "x"}).status_code == 403
    revision.refresh_from_db()
    assert revision.status == RevisionStatus.DRAFT


def test_a_person_needs_the_release_permission(person, units):
    part = services.part_create(number="X-1", name="X", base_unit=units["pcs"], actor=None,
                                reason="t")
    revision = services.revision_create(part=part, label="A", actor=None, reason="t")
    for role, expected in (("analyst", 403), ("change manager", 200)):
        client = person(role)
        client.cookies["csrftoken"] = client.csrf_token
        response = client.post(f"{REVISIONS}{revision.pk}/release/", {"reason": "ok"},
                               format="json", HTTP_X_CSRFTOKEN=client.csrf_token)
        assert response.status_code == expected, (role, response.content)


def test_units_and_plants_are_read_only(plm, units):
    assert plm.get("/api/v1/catalog/units/").json()["results"][0]["code"] in {"pcs", "m", "mm",
                                                                             "kg", "g"}
    response = plm.push("/api/v1/catalog/units/", {"code": "x"})
    assert response.status_code in (403, 405)


def test_openapi_schema_describes_the_api(client, db):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/catalog/parts/" in schema["paths"]
    post = schema["paths"]["/api/v1/catalog/parts/"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "PartPushRequest")
    header = next(p for p in post["parameters"] if p["name"] == "Idempotency-Key")
    assert (header["in"], header["required"]) == ("header", True)
    assert schema["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer",
        "description": "An external system's API key: `Authorization: Bearer <key>`."}
    assert {"bearerAuth": []} in post["security"]


def test_problem_types_are_documented(client, db):
    response = client.get("/problems/idempotency-key-reused")
    assert response.status_code == 200
    assert b"Idempotency-Key was used with another request" in response.content


def test_a_revision_shows_its_effectivity(plm, units):
    from datetime import date

    from thread.catalog.models import RevisionEffectivity
    from thread.history import audited

    part = services.part_create(number="MT-1", name="Motor", base_unit=units["pcs"], actor=None,
                                reason="t")
    plain = services.revision_create(part=part, label="A", actor=None, reason="t")
    dated = services.revision_create(part=part, label="B", actor=None, reason="t")
    audited(RevisionEffectivity(revision=dated, kind="date", effective_from=date(2027, 1, 15)),
            None, "t").save()
    by_label = {r["label"]: r for r in plm.get(REVISIONS, {"part": "MT-1"}).json()["results"]}
    assert by_label["A"]["effectivity"] is None
    assert by_label["B"]["effectivity"] == {"kind": "date", "effective_from": "2027-01-15",
                                            "serial_from": "", "serial_to": "", "lot": ""}
    assert plain.pk == by_label["A"]["id"]
