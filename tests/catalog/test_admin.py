import re

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from thread.catalog import services
from thread.catalog.models import Part, PartRevision


@pytest.fixture
def admin_client_logged(db, client):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(user)
    client.user = user
    return client


@pytest.mark.parametrize("count", [2, 60])
def test_part_changelist_query_count_is_pinned(admin_client_logged, numbered_parts, count,
                                               django_assert_max_num_queries):
    numbered_parts(count)
    with django_assert_max_num_queries(12):
        response = admin_client_logged.get("/admin/catalog/part/")
    assert response.status_code == 200
    assert f"P-{count - 1:04}".encode() in response.content


def test_admin_edit_goes_through_the_service_and_records_the_reason(admin_client_logged, units):
    part = services.part_create(number="BK-1", name="Bike", base_unit=units["pcs"], actor=None,
                                reason="t")
    page = admin_client_logged.get(f"/admin/catalog/part/{part.pk}/change/")
    assert b'name="reason"' in page.content
    response = admin_client_logged.post(f"/admin/catalog/part/{part.pk}/change/", {
        "name": "City bike", "description": "", "category": "bicycle", "make_or_buy": "make",
        "lifecycle_state": "active", "reason": "Marketing name agreed",
        "revisions-TOTAL_FORMS": "0", "revisions-INITIAL_FORMS": "0",
        "unit_conversions-TOTAL_FORMS": "0", "unit_conversions-INITIAL_FORMS": "0",
    })
    assert response.status_code == 302, response.content
    latest = Part.objects.get().history.first()
    assert (latest.name, latest.history_change_reason, latest.history_user) == (
        "City bike", "Marketing name agreed", admin_client_logged.user)


def test_admin_edit_without_a_reason_is_refused(admin_client_logged, units):
    part = services.part_create(number="BK-1", name="Bike", base_unit=units["pcs"], actor=None,
                                reason="t")
    response = admin_client_logged.post(f"/admin/catalog/part/{part.pk}/change/", {
        "name": "City bike", "make_or_buy": "make", "lifecycle_state": "active",
        "revisions-TOTAL_FORMS": "0", "revisions-INITIAL_FORMS": "0",
        "unit_conversions-TOTAL_FORMS": "0", "unit_conversions-INITIAL_FORMS": "0",
    })
    assert response.status_code == 200
    assert b"This field is required" in response.content
    assert Part.objects.get().name == "Bike"


def test_a_released_revision_is_read_only_in_the_admin(admin_client_logged, units):
    part = services.part_create(number="BK-1", name="Bike", base_unit=units["pcs"], actor=None,
                                reason="t")
    revision = services.revision_create(part=part, label="A", actor=None, reason="t",
                                        description="first")
    services.revision_release(revision=revision, actor=None, reason="release")
    page = admin_client_logged.get(f"/admin/catalog/partrevision/{revision.pk}/change/")
    assert page.status_code == 200
    assert b'name="description"' not in page.content
    assert b"from its release (no change order set one)" in page.content
    admin_client_logged.post(f"/admin/catalog/partrevision/{revision.pk}/change/",
                             {"description": "changed", "reason": "sneaky"})
    assert PartRevision.objects.get().description == "first"


def test_release_action_uses_the_reason_from_the_action_bar(admin_client_logged, units):
    part = services.part_create(number="BK-1", name="Bike", base_unit=units["pcs"], actor=None,
                                reason="t")
    revision = services.revision_create(part=part, label="A", actor=None, reason="t")
    admin_client_logged.post("/admin/catalog/partrevision/", {
        "action": "release_selected", "_selected_action": [revision.pk],
        "reason": "Design review 2026-11-24 passed"})
    revision.refresh_from_db()
    assert revision.status == "released"
    assert revision.history.first().history_change_reason == "Design review 2026-11-24 passed"


def test_issuing_a_key_in_the_admin_shows_it_once(admin_client_logged, db):
    from thread.flows.services import hash_api_key, system_create

    system = system_create(name="SAP", kind="erp", actor=None, reason="t")
    response = admin_client_logged.post("/admin/flows/externalsystem/", {
        "action": "issue_key", "_selected_action": [system.pk], "reason": "rotation"},
        follow=True)
    raw_key = re.search(rb"<code>(thr_[^<]+)</code>", response.content).group(1).decode()
    assert system.api_keys.get().key_hash == hash_api_key(raw_key)
    page = admin_client_logged.get(f"/admin/flows/externalsystem/{system.pk}/change/")
    assert raw_key.encode() not in page.content


def test_a_parts_page_costs_the_same_for_many_revisions(admin_client_logged, units,
                                                       django_assert_num_queries):
    part = services.part_create(number="BK-1", name="Bike", base_unit=units["pcs"], actor=None,
                                reason="t")
    services.unit_conversion_set(part=part, from_unit=units["pcs"], to_unit=units["kg"],
                                 factor="12", actor=None, reason="weight")

    def revise(label):
        revision = services.revision_create(part=part, label=label, actor=None, reason="t")
        services.revision_release(revision=revision, actor=admin_client_logged.user, reason="r")

    revise("A")
    url = f"/admin/catalog/part/{part.pk}/change/"
    admin_client_logged.get(url)  # warm the session and the content types
    with CaptureQueriesContext(connection) as one:
        admin_client_logged.get(url)
    for label in "BCDE":
        revise(label)
    with django_assert_num_queries(len(one.captured_queries)):
        response = admin_client_logged.get(url)
    assert response.content.decode().count("BK-1 rev ") == 5
