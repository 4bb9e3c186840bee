import threading

import pytest
from django.db import connection
from django.test import override_settings

from thread.catalog import services as catalog_services
from thread.catalog.models import Part
from thread.flows.choices import InboundStatus
from thread.flows.models import InboundMessage

from ..conftest import problem

PARTS = "/api/v1/catalog/parts/"
BODY = {"number": "BK-100", "name": "E-bike", "base_unit": "pcs"}


def test_missing_key_is_400_and_recorded_as_rejected(plm, units):
    response = plm.post(PARTS, BODY, format="json")
    assert response.status_code == 400
    assert problem(response)["type"] == "/problems/idempotency-key-missing"
    assert not Part.objects.exists()
    message = InboundMessage.objects.get()
    assert (message.status, message.response_status, message.system) == (
        InboundStatus.REJECTED, 400, plm.system)


def test_same_key_same_body_replays_the_stored_response(plm, units):
    first = plm.push(PARTS, BODY, key="k1")
    again = plm.push(PARTS, BODY, key="k1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Part.objects.get().history.count() == 1
    assert InboundMessage.objects.get().status == InboundStatus.ACCEPTED


def test_same_key_other_body_is_422(plm, units):
    plm.push(PARTS, BODY, key="k1")
    response = plm.push(PARTS, {**BODY, "name": "Other"}, key="k1")
    assert response.status_code == 422
    assert problem(response)["type"] == "/problems/idempotency-key-reused"
    assert Part.objects.get().name == "E-bike"


def test_keys_are_scoped_per_system(plm, erp, units):
    from ..conftest import make_system_client

    other_plm = make_system_client("PLM two", "plm")
    assert plm.push(PARTS, BODY, key="shared").status_code == 201
    response = other_plm.push(PARTS, {**BODY, "name": "Renamed"}, key="shared")
    assert response.status_code == 200  # not a replay of the other system's request
    assert Part.objects.get().name == "Renamed"


def test_a_rejected_request_is_replayed_as_rejected_and_wrote_nothing(plm, units):
    bad = {**BODY, "base_unit": "furlong"}
    first = plm.push(PARTS, bad, key="k1")
    again = plm.push(PARTS, bad, key="k1")
    assert first.status_code == again.status_code == 400
    body = problem(first)
    assert body["errors"][0]["pointer"] == "/base_unit"
    assert again.json() == body
    assert not Part.objects.exists()
    assert InboundMessage.objects.get().status == InboundStatus.REJECTED


def test_a_stale_processing_record_frees_its_key(plm, units):
    from datetime import timedelta

    from django.utils import timezone

    plm.push(PARTS, BODY, key="k1")
    InboundMessage.objects.update(status=InboundStatus.PROCESSING,
                                  received_at=timezone.now() - timedelta(hours=1))
    response = plm.push(PARTS, BODY, key="k1")
    assert response.status_code == 200  # ran again (the part exists already): not a 409
    assert InboundMessage.objects.get().status == InboundStatus.ACCEPTED


@pytest.mark.django_db(transaction=True)
def test_a_concurrent_repeat_answers_409_while_the_first_runs(plm, units, monkeypatch):
    first_is_running, second_answered = threading.Event(), threading.Event()
    real_upsert = catalog_services.part_upsert

    def slow_upsert(**kwargs):
        first_is_running.set()
        assert second_answered.wait(10)
        return real_upsert(**kwargs)

    monkeypatch.setattr(catalog_services, "part_upsert", slow_upsert)
    results = {}

    def first_request():
        try:
            results["first"] = plm.push(PARTS, BODY, key="k1")
        finally:
            connection.close()

    thread = threading.Thread(target=first_request)
    thread.start()
    assert first_is_running.wait(10)
    results["second"] = plm.push(PARTS, BODY, key="k1")
    second_answered.set()
    thread.join(10)
    assert results["second"].status_code == 409
    assert problem(results["second"])["type"] == "/problems/idempotency-key-in-use"
    assert results["first"].status_code == 201
    assert Part.objects.count() == 1


def test_malformed_json_is_400_naming_the_body_and_writes_nothing(plm, units):
    response = plm.post(PARTS, data='{"number": "BK-1", ', content_type="application/json",
                        HTTP_IDEMPOTENCY_KEY="k1")
    assert response.status_code == 400
    body = problem(response)
    assert body["type"] == "/problems/malformed-body"
    assert body["errors"][0]["pointer"] == ""
    assert not Part.objects.exists()
    assert InboundMessage.objects.get().status == InboundStatus.REJECTED


@override_settings(THREAD_MAX_REQUEST_BYTES=200)
def test_an_oversized_body_is_413_and_writes_nothing(plm, units):
    response = plm.push(PARTS, {**BODY, "description": "x" * 500})
    assert response.status_code == 413
    assert problem(response)["type"] == "/problems/payload-too-large"
    assert not Part.objects.exists()
    message = InboundMessage.objects.get()
    assert (message.status, message.body) == (InboundStatus.REJECTED, "")


def test_validation_errors_name_each_field(plm, units):
    response = plm.push(PARTS, {"number": "BK\x07", "base_unit": "pcs"})
    body = problem(response)
    assert response.status_code == 400
    assert body["type"] == "/problems/validation-error"
    assert sorted((e["pointer"], e["code"]) for e in body["errors"]) == [
        ("/name", "required"), ("/number", "invalid_part_number")]


def test_purge_keeps_recent_and_running_records(plm, units):
    from datetime import timedelta

    from django.core.management import call_command
    from django.utils import timezone

    plm.push(PARTS, BODY, key="old")
    plm.push(PARTS, BODY, key="recent")
    old = timezone.now() - timedelta(days=8)
    InboundMessage.objects.filter(idempotency_key="old").update(received_at=old)
    InboundMessage.objects.create(caller=plm.system.service_user, system=plm.system,
                                  idempotency_key="running", method="POST", path=PARTS,
                                  body_hash="x", correlation_id="c",
                                  status=InboundStatus.PROCESSING, received_at=old)
    call_command("purge_inbound_messages")
    assert sorted(InboundMessage.objects.values_list("idempotency_key", flat=True)) == [
        "recent", "running"]
