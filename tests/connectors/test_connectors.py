"""Connectors against a real local HTTP server (pytest-httpserver) speaking the documented
protocol: headers, body, signature, and how each kind of answer is classified."""

from __future__ import annotations

import json
import socket
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from werkzeug import Response

from connectors.base import (
    MappingError,
    OutboundEnvelope,
    Outcome,
    PeerConfig,
    make_client,
    parse_retry_after,
    read_credential,
)
from connectors.registry import connector_names, get_connector
from connectors.webhook import SIGNATURE_HEADER, sign, verify_signature

ENVELOPE = OutboundEnvelope(
    message_id=7, topic="mbom.version", payload={"part": "BK-100", "qty": "2.500"},
    idempotency_key="thread-abc", ordering_key="mbom:BER:BK-100", correlation_id="corr-1",
    created_at=datetime(2026, 11, 25, 8, 0, tzinfo=UTC))


@pytest.fixture
def client():
    with make_client(connect_timeout=1, read_timeout=1) as http:
        yield http


def rest_peer(httpserver, **options) -> PeerConfig:
    return PeerConfig(system_name="ERP", base_url=httpserver.url_for("/erp"),
                      credential_name=options.pop("credential_name", ""),
                      options={"paths": {"mbom.version": "/boms"}, **options},
                      connect_timeout=1, read_timeout=1)


def test_registry_knows_the_generic_connectors():
    assert connector_names() == ["erpnext", "inventree", "odoo", "rest", "webhook"]
    with pytest.raises(LookupError, match="unknown connector 'sap'"):
        get_connector("sap")


def test_rest_posts_the_canonical_payload_with_idempotency_key_and_token(
        httpserver, client, monkeypatch):
    monkeypatch.setenv("ERP_TEST_TOKEN", "s3cret")
    httpserver.expect_request(
        "/erp/boms", method="POST",
        headers={"Idempotency-Key": "thread-abc", "X-Correlation-ID": "corr-1",
                 "Authorization": "Bearer s3cret", "X-Thread-Topic": "mbom.version"},
        json={"part": "BK-100", "qty": "2.500"},
    ).respond_with_json({"id": 1}, status=201)
    result = get_connector("rest").deliver(
        client, ENVELOPE, rest_peer(httpserver, credential_name="ERP_TEST_TOKEN"))
    assert result.classification.outcome == Outcome.DELIVERED
    assert result.classification.status_code == 201
    assert result.request_summary == f"POST {httpserver.url_for('/erp/boms')} (31 bytes)"
    assert "s3cret" not in result.request_summary
    httpserver.check_assertions()


def test_rest_wildcard_path_custom_auth_header_and_method(httpserver, client, monkeypatch):
    monkeypatch.setenv("ERP_TEST_TOKEN", "k")
    httpserver.expect_request("/erp/in/mbom.version", method="PUT",
                              headers={"X-Api-Key": "k"}).respond_with_data("", status=204)
    peer = PeerConfig(system_name="ERP", base_url=httpserver.url_for("/erp/"),
                      credential_name="ERP_TEST_TOKEN",
                      options={"paths": {"*": "/in/{topic}"}, "method": "put",
                               "auth_header": "X-Api-Key"})
    assert get_connector("rest").deliver(client, ENVELOPE, peer).classification.outcome == \
        Outcome.DELIVERED


def test_rest_topic_without_path_is_a_mapping_error_and_sends_nothing(httpserver, client):
    peer = PeerConfig(system_name="ERP", base_url=httpserver.url_for("/"),
                      options={"paths": {"other": "/x"}})
    result = get_connector("rest").deliver(client, ENVELOPE, peer)
    assert (result.classification.outcome, result.classification.error_class) == (Outcome.DEAD,
                                                                                    "mapping")
    assert "no path configured for topic 'mbom.version'" in result.classification.detail
    assert httpserver.log == []


def test_missing_credential_is_dead_with_its_name_never_a_value(httpserver, client, monkeypatch):
    monkeypatch.delenv("ERP_MISSING", raising=False)
    result = get_connector("rest").deliver(
        client, ENVELOPE, rest_peer(httpserver, credential_name="ERP_MISSING"))
    assert result.classification.outcome == Outcome.DEAD
    assert "credential ERP_MISSING is not set" in result.classification.detail


def test_credential_from_a_file(tmp_path, monkeypatch):
    secret = tmp_path / "token"
    secret.write_text("from-file\n")
    monkeypatch.delenv("ERP_FILE_TOKEN", raising=False)
    monkeypatch.setenv("ERP_FILE_TOKEN_FILE", str(secret))
    assert read_credential("ERP_FILE_TOKEN") == "from-file"
    monkeypatch.setenv("ERP_FILE_TOKEN_FILE", str(tmp_path / "absent"))
    with pytest.raises(MappingError):
        read_credential("ERP_FILE_TOKEN")


@pytest.mark.parametrize(("status", "outcome"), [
    (200, Outcome.DELIVERED), (202, Outcome.DELIVERED), (408, Outcome.RETRY),
    (425, Outcome.RETRY), (429, Outcome.RETRY), (500, Outcome.RETRY), (503, Outcome.RETRY),
    (301, Outcome.DEAD), (400, Outcome.DEAD), (401, Outcome.DEAD), (404, Outcome.DEAD),
    (409, Outcome.DEAD), (422, Outcome.DEAD),
])
def test_classification_of_answers(httpserver, client, status, outcome):
    headers = {"Location": "http://elsewhere.invalid/"} if status == 301 else {}
    httpserver.expect_request("/erp/boms").respond_with_data("body text", status=status,
                                                            headers=headers)
    c = get_connector("rest").deliver(client, ENVELOPE, rest_peer(httpserver)).classification
    assert (c.outcome, c.status_code) == (outcome, status)
    assert c.error_class == ("" if outcome == Outcome.DELIVERED else f"http-{status}")
    assert c.body_excerpt == "body text"
    assert len(httpserver.log) == 1  # a redirect is not followed


def test_retry_after_seconds_and_date(httpserver, client):
    httpserver.expect_request("/erp/boms").respond_with_data("", status=429,
                                                            headers={"Retry-After": "7"})
    c = get_connector("rest").deliver(client, ENVELOPE, rest_peer(httpserver)).classification
    assert (c.outcome, c.retry_after) == (Outcome.RETRY, 7.0)
    now = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    assert parse_retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now) == 30
    assert parse_retry_after("soon") is None


def test_a_peer_that_does_not_answer_in_time_is_a_retryable_timeout(httpserver):
    httpserver.expect_request("/erp/boms").respond_with_handler(
        lambda request: (time.sleep(0.6), Response("late"))[1])
    with make_client(connect_timeout=1, read_timeout=0.2) as http:
        c = get_connector("rest").deliver(http, ENVELOPE, rest_peer(httpserver)).classification
    assert (c.outcome, c.error_class) == (Outcome.RETRY, "timeout")
    deadline = time.monotonic() + 5
    while not httpserver.log and time.monotonic() < deadline:  # let the late answer finish
        time.sleep(0.02)


def test_a_refused_connection_is_retryable():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    peer = PeerConfig(system_name="ERP", base_url=f"http://127.0.0.1:{port}",
                      options={"paths": {"*": "/x"}})
    with make_client(connect_timeout=1, read_timeout=1) as http:
        c = get_connector("rest").deliver(http, ENVELOPE, peer).classification
    assert (c.outcome, c.error_class) == (Outcome.RETRY, "connection")


def test_a_wrong_scheme_is_dead_configuration(client):
    peer = PeerConfig(system_name="ERP", base_url="ftp://example.invalid",
                      options={"paths": {"*": "/x"}})
    c = get_connector("rest").deliver(client, ENVELOPE, peer).classification
    assert (c.outcome, c.error_class) == (Outcome.DEAD, "configuration")


def test_webhook_envelope_is_signed_and_verifiable(httpserver, client, monkeypatch):
    monkeypatch.setenv("HOOK_SECRET", "whsec-1")
    httpserver.expect_request("/hooks/thread", method="POST").respond_with_data("ok")
    peer = PeerConfig(system_name="MES", base_url=httpserver.url_for("/hooks"),
                      credential_name="HOOK_SECRET", options={"path": "thread"})
    result = get_connector("webhook").deliver(client, ENVELOPE, peer)
    assert result.classification.outcome == Outcome.DELIVERED
    request, _ = httpserver.log[0]
    body = request.get_data()
    assert json.loads(body) == {
        "id": "thread-abc", "topic": "mbom.version", "ordering_key": "mbom:BER:BK-100",
        "correlation_id": "corr-1", "created_at": "2026-11-25T08:00:00+00:00",
        "data": {"part": "BK-100", "qty": "2.500"}}
    assert request.headers["Idempotency-Key"] == "thread-abc"
    header = request.headers[SIGNATURE_HEADER]
    assert verify_signature(secret="whsec-1", header=header, body=body)
    assert not verify_signature(secret="other", header=header, body=body)
    assert not verify_signature(secret="whsec-1", header=header, body=body + b" ")
    assert not verify_signature(secret="whsec-1", header="v1=abc", body=body)


def test_webhook_signature_is_stripe_style_and_expires():
    header = sign("k", b"{}", 1_700_000_000)
    assert header == ("t=1700000000,v1=" + __import__("hmac").new(
        b"k", b"1700000000.{}", "sha256").hexdigest())
    assert verify_signature(secret="k", header=header, body=b"{}", now=1_700_000_100)
    assert not verify_signature(secret="k", header=header, body=b"{}", now=1_700_000_301)


def test_webhook_without_secret_is_a_mapping_error(client):
    peer = PeerConfig(system_name="MES", base_url="http://127.0.0.1:9")
    c = get_connector("webhook").deliver(client, ENVELOPE, peer).classification
    assert (c.outcome, c.error_class) == (Outcome.DEAD, "mapping")
