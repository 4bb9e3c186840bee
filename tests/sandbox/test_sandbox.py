"""The sandbox peers: their own idempotency, each switch's answer and how Thread's REST connector
classifies it (over real HTTP), the page, and that only the demo and the tests have them."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import override_settings

from connectors.base import OutboundEnvelope, Outcome, PeerConfig, make_client
from connectors.rest import RestJsonConnector
from thread.demo.seed import seed_demo
from thread.flows.models import ExternalSystem
from thread.sandbox import services
from thread.sandbox.choices import FaultMode, RequestOutcome
from thread.sandbox.models import SandboxRequest

ROOT = Path(__file__).resolve().parents[2]
ERP = "/sandbox/erp/mbom.published"


def post(client, path=ERP, key="key-1", body=b'{"part": "BK-100"}', topic="mbom.published", **extra):
    headers = {"HTTP_X_THREAD_TOPIC": topic, **extra}
    if key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    return client.post(path, body, content_type="application/json", **headers)


def test_a_repeated_key_is_answered_alike_but_applied_once(client, db):
    first = post(client, HTTP_AUTHORIZATION="Bearer s3cret")
    again = post(client, HTTP_AUTHORIZATION="Bearer s3cret")
    other = post(client, key="key-2")
    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 201)
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["repeat_of"] == first.json()["id"]
    rows = list(SandboxRequest.objects.order_by("id"))
    assert [(r.idempotency_key, r.outcome) for r in rows] == [
        ("key-1", RequestOutcome.APPLIED), ("key-1", RequestOutcome.REPEAT),
        ("key-2", RequestOutcome.APPLIED)]
    assert SandboxRequest.objects.filter(outcome=RequestOutcome.APPLIED, idempotency_key="key-1").count() == 1
    recorded = rows[0]
    assert (recorded.peer, recorded.method, recorded.path, recorded.topic) == (
        "erp", "POST", ERP, "mbom.published")
    assert recorded.body == '{"part": "BK-100"}'
    assert recorded.headers["Authorization"] == "[redacted]"
    assert "s3cret" not in str(recorded.headers)
    assert recorded.headers["Idempotency-Key"] == "key-1"


def test_keys_are_per_peer_and_a_request_without_key_is_refused(client, db):
    assert post(client).status_code == 201
    assert post(client, path="/sandbox/mes/work-order").status_code == 201  # same key, other peer
    refused = post(client, key=None)
    assert refused.status_code == 400
    assert SandboxRequest.objects.filter(outcome=RequestOutcome.REFUSED).count() == 1


def test_a_switched_fault_fails_without_applying_and_is_recorded(client, db):
    services.sandbox_peer_switch(peer="erp", fault=FaultMode.DOWN, actor=None)
    assert post(client).status_code == 503
    services.sandbox_peer_switch(peer="erp", fault=FaultMode.NONE, actor=None)
    assert post(client).status_code == 201  # the failed request applied nothing
    assert [r.outcome for r in SandboxRequest.objects.order_by("id")] == [
        RequestOutcome.FAILED, RequestOutcome.APPLIED]
    assert SandboxRequest.objects.order_by("id").first().fault == FaultMode.DOWN


def test_400_hits_only_the_switched_topic(client, db):
    services.sandbox_peer_switch(peer="erp", fault=FaultMode.REJECT_400, actor=None,
                                 fault_topic="mbom.published")
    assert post(client).status_code == 400
    assert post(client, path="/sandbox/erp/material", topic="material", key="k-2").status_code == 201


def test_switch_validation(db):
    with pytest.raises(Exception, match="needs the topic"):
        services.sandbox_peer_switch(peer="erp", fault=FaultMode.REJECT_400, actor=None)
    with pytest.raises(Exception, match="no sandbox peer"):
        services.sandbox_peer_switch(peer="crm", fault=FaultMode.DOWN, actor=None)
    with pytest.raises(Exception, match="slow_seconds"):
        services.sandbox_peer_switch(peer="erp", fault=FaultMode.SLOW, actor=None, slow_seconds=600)


def deliver(live_server, key: str, read_timeout: float = 5.0):
    envelope = OutboundEnvelope(message_id=1, topic="mbom.published", payload={"part": "BK-100"},
                                idempotency_key=key, ordering_key="mbom:BER:BK-100",
                                correlation_id="corr-1", created_at=datetime.now(UTC))
    peer = PeerConfig(system_name="ERP", base_url=f"{live_server.url}/sandbox/erp/",
                      options={"paths": {"*": "{topic}"}}, read_timeout=read_timeout)
    with make_client(connect_timeout=1.0, read_timeout=read_timeout) as http:
        return RestJsonConnector().deliver(http, envelope, peer).classification


@pytest.mark.parametrize(("fault", "options", "outcome", "error_class", "retry_after"), [
    (FaultMode.NONE, {}, Outcome.DELIVERED, "", None),
    (FaultMode.DOWN, {}, Outcome.RETRY, "http-503", None),
    (FaultMode.ERROR_500, {}, Outcome.RETRY, "http-500", None),
    (FaultMode.THROTTLE_429, {"retry_after_seconds": 7}, Outcome.RETRY, "http-429", 7.0),
    (FaultMode.REJECT_400, {"fault_topic": "mbom.published"}, Outcome.DEAD, "http-400", None),
    (FaultMode.SLOW, {"slow_seconds": 1.5}, Outcome.RETRY, "timeout", None),
])
def test_each_switch_as_the_rest_connector_classifies_it(live_server, transactional_db, fault,
                                                         options, outcome, error_class,
                                                         retry_after):
    services.sandbox_peer_switch(peer="erp", fault=fault, actor=None, **options)
    result = deliver(live_server, key=f"k-{fault}", read_timeout=0.5)
    assert (result.outcome, result.error_class, result.retry_after) == (outcome, error_class,
                                                                        retry_after)


def test_a_slow_peer_applies_and_the_retry_is_a_visible_repeat(live_server, transactional_db):
    services.sandbox_peer_switch(peer="erp", fault=FaultMode.SLOW, actor=None, slow_seconds=1.0)
    assert deliver(live_server, key="slow-1", read_timeout=0.3).outcome == Outcome.RETRY
    services.sandbox_peer_switch(peer="erp", fault=FaultMode.NONE, actor=None)
    assert deliver(live_server, key="slow-1").outcome == Outcome.DELIVERED
    assert [r.outcome for r in SandboxRequest.objects.order_by("id")] == [
        RequestOutcome.APPLIED, RequestOutcome.REPEAT]


def test_the_page_is_for_staff_and_flips_the_switches(client, db):
    assert client.get("/sandbox/").status_code == 302  # to the admin login
    staff = get_user_model().objects.create_user("op", password="pw", is_staff=True)
    client.force_login(staff)
    post(client)
    page = client.get("/sandbox/")
    assert page.status_code == 200
    assert b"Demo only" in page.content and b"key-1" in page.content
    response = client.post("/sandbox/switch/erp/", {"fault": "throttle_429", "retry_after_seconds": 3},
                           follow=True)
    assert b"Sandbox ERP is now: 429 Too Many Requests" in response.content
    assert post(client, key="k-9")["Retry-After"] == "3"
    refused = client.post("/sandbox/switch/erp/", {"fault": "reject_400"}, follow=True)
    assert b"needs the topic" in refused.content


def test_the_demo_points_its_systems_at_the_sandbox(db):
    with override_settings(THREAD_SANDBOX_BASE_URL="http://127.0.0.1:8123/sandbox/"):
        seed_demo()
        again = seed_demo()
    erp = ExternalSystem.objects.get(name="ERP")
    assert (erp.connector, erp.base_url) == ("rest", "http://127.0.0.1:8123/sandbox/erp/")
    assert erp.history.first().history_change_reason == "Demo: deliver to the built-in sandbox peer"
    assert "systems pointed at the sandbox" not in again.created


def test_production_settings_have_no_sandbox():
    env = {k: v for k, v in os.environ.items() if k != "THREAD_SANDBOX"}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", SECRET_KEY="x", DEBUG="0")
    code = ("import django; django.setup(); from django.conf import settings; "
            "from django.urls import resolve, Resolver404\n"
            "assert 'thread.sandbox' not in settings.INSTALLED_APPS\n"
            "try:\n    resolve('/sandbox/erp/x')\nexcept Resolver404:\n    print('no sandbox')")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.stdout.strip() == "no sandbox", result.stderr


def test_a_get_is_a_read_that_needs_no_key_so_test_connection_passes(client, db):
    """What "test connection" sends a sandbox peer: a GET, answered 200 as a read (no key,
    nothing applied, listed as Read) — so the demo's systems pass their test."""
    for peer in ("erp", "mes", "plm"):
        answer = client.get(f"/sandbox/{peer}/")
        assert (answer.status_code, answer.json()) == (200, {"peer": peer, "ok": True})
    assert list(SandboxRequest.objects.values_list("outcome", flat=True)) == [
        RequestOutcome.READ] * 3
