from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from thread.catalog.models import Part
from thread.flows import services
from thread.flows.models import ApiKey

from ..conftest import SystemClient, problem

PARTS = "/api/v1/catalog/parts/"
BODY = {"number": "BK-100", "name": "E-bike", "base_unit": "pcs"}


def test_no_key_is_401_with_a_bearer_challenge(client, db):
    response = client.get(PARTS)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="thread"'
    assert problem(response)["type"] == "/problems/not-authenticated"


@pytest.mark.parametrize("spoil", ["unknown", "revoked", "expired", "disabled"])
def test_unusable_keys_are_401(plm, units, spoil):
    key = ApiKey.objects.get(system=plm.system)
    if spoil == "unknown":
        plm.credentials(HTTP_AUTHORIZATION="Bearer thr_not-a-key")
    elif spoil == "revoked":
        services.api_key_revoke(api_key=key, actor=None, reason="leaked")
    elif spoil == "expired":
        ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    else:
        plm.system.enabled = False
        plm.system.save()
    response = plm.push(PARTS, BODY)
    assert response.status_code == 401
    assert problem(response)["detail"].lower().startswith(
        {"unknown": "unknown", "revoked": "this api key was revoked",
         "expired": "this api key has expired", "disabled": "this system is disabled"}[spoil])
    assert not Part.objects.exists()


def test_wrong_kind_is_403_and_writes_nothing(mes, units):
    response = mes.push(PARTS, BODY)
    assert response.status_code == 403
    assert problem(response)["detail"] == "A MES system may not push here."
    assert not Part.objects.exists()


def test_every_kind_may_read_the_catalog(plm, erp, mes, units):
    for client in (plm, erp, mes):
        assert client.get(PARTS).status_code == 200


def test_a_push_acts_as_the_systems_service_user_in_history(plm, units):
    response = plm.push(PARTS, {**BODY, "reason": "PLM release 2026-11-20"})
    assert response.status_code == 201, response.content
    record = Part.objects.get(number="BK-100").history.get()
    assert record.history_user == plm.system.service_user
    assert record.history_change_reason == "PLM release 2026-11-20"


def test_a_push_without_reason_names_the_system_and_key_in_history(plm, units):
    plm.push(PARTS, BODY, key="abc-1")
    record = Part.objects.get(number="BK-100").history.get()
    assert record.history_change_reason == "API push by PLM test (Idempotency-Key abc-1)"


def test_two_live_keys_allow_rotation_and_last_use_is_recorded(plm, units):
    second = services.api_key_issue(system=plm.system, actor=None, reason="rotation")
    rotated = SystemClient(plm.system, second.raw_key)
    assert rotated.get(PARTS).status_code == 200
    assert plm.get(PARTS).status_code == 200
    assert ApiKey.objects.filter(system=plm.system, last_used_at__isnull=False).count() == 2
    services.api_key_revoke(api_key=ApiKey.objects.get(pk=plm.system.api_keys.order_by(
        "created_at").first().pk), actor=None, reason="rotated out")
    assert plm.get(PARTS).status_code == 401
    assert rotated.get(PARTS).status_code == 200


def test_raw_keys_are_not_stored(plm):
    key = ApiKey.objects.get(system=plm.system)
    assert plm.raw_key not in (key.key_hash, key.prefix)
    assert key.key_hash == services.hash_api_key(plm.raw_key)


def with_csrf(client):
    client.cookies["csrftoken"] = client.csrf_token
    return client


def test_an_auditor_reads_but_may_not_push(person, units):
    auditor = person("auditor")
    assert auditor.get(PARTS).status_code == 200
    response = with_csrf(auditor).post(PARTS, BODY, format="json",
                                       HTTP_X_CSRFTOKEN=auditor.csrf_token)
    assert response.status_code == 403
    assert not Part.objects.exists()


def test_a_change_manager_pushes_with_the_admin_session_and_csrf(person, units):
    manager = person("change manager")
    without_csrf = manager.post(PARTS, BODY, format="json")
    assert without_csrf.status_code == 403
    response = with_csrf(manager).post(PARTS, BODY, format="json",
                                       HTTP_X_CSRFTOKEN=manager.csrf_token)
    assert response.status_code == 201, response.content
    assert Part.objects.get().history.get().history_user == manager.user


def test_create_system_command_prints_a_working_key(db, units, capsys):
    from django.core.management import call_command

    call_command("create_system", "Windchill", "plm")
    raw_key = capsys.readouterr().out.strip().splitlines()[-1]
    client = SystemClient(None, raw_key)
    assert client.get(PARTS).status_code == 200


def test_revoking_in_the_admin_counts_only_keys_it_revoked(plm, erp, client):
    operator = get_user_model().objects.create_superuser("ops", "ops@example.com", "pw")
    client.force_login(operator)
    leaked = ApiKey.objects.get(system=plm.system)
    services.api_key_revoke(api_key=leaked, actor=None, reason="leaked")
    first_revocation = ApiKey.objects.get(pk=leaked.pk).revoked_at
    erp_key = ApiKey.objects.get(system=erp.system)

    response = client.post("/admin/flows/apikey/", {
        "action": "revoke", "_selected_action": [leaked.pk, erp_key.pk], "reason": "rotation"},
        follow=True)

    assert [str(m) for m in response.context["messages"]] == ["1 key(s) revoked."]
    assert ApiKey.objects.get(pk=leaked.pk).revoked_at == first_revocation
    erp_key.refresh_from_db()
    assert (erp_key.revoked_by, erp_key.history.first().history_change_reason) == (
        operator, "rotation")
