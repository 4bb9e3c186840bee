""""Test connection" in the connectors, without the database: how each failure and each answer
is put in plain words, and the probes of the generic connectors against a real local server."""

from __future__ import annotations

import socket
import ssl
import time

import httpx
import pytest

from connectors.base import (
    PeerConfig,
    PeerStep,
    answer_problem,
    connection_problem,
    make_client,
    public_url,
)
from connectors.registry import get_connector

URL = "https://erp.example.com/api/ping"
PEER = PeerConfig(system_name="ERP", base_url="https://erp.example.com/api",
                  credential_name="ERP_TOKEN", connect_timeout=2, read_timeout=7)


@pytest.fixture
def client():
    with make_client(connect_timeout=1, read_timeout=1) as http:
        yield http


def wrapped(cause: BaseException, kind: type[httpx.TransportError] = httpx.ConnectError):
    """As httpx raises it: its own error, caused by httpcore's, which holds the OS's error."""
    try:
        try:
            raise cause
        except BaseException as os_error:
            raise RuntimeError(os_error) from os_error  # httpcore.ConnectError(OSError(...))
    except RuntimeError as inner:
        error = kind(str(cause))
        error.__cause__ = inner
        return error


def cert_error() -> ssl.SSLCertVerificationError:
    error = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify "
                                            "failed: certificate has expired (_ssl.c:1006)")
    error.verify_message = "certificate has expired"
    return error


def wrong_version() -> ssl.SSLError:
    error = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)")
    error.reason = "WRONG_VERSION_NUMBER"
    return error


@pytest.mark.parametrize(("exc", "words"), [
    (wrapped(socket.gaierror(socket.EAI_NONAME, "Name or service not known")),
     "DNS name not found — erp.example.com does not exist: check the host name in the base URL"),
    (wrapped(socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")),
     "DNS lookup failed — erp.example.com could not be resolved (Temporary failure in name "
     "resolution): is a DNS server reachable from Thread?"),
    (wrapped(ConnectionRefusedError(111, "Connection refused")),
     "connection refused — nothing accepts connections on erp.example.com:443: is the service "
     "running, the port right, or does a firewall reject it?"),
    (wrapped(cert_error()),
     "TLS certificate problem — the certificate of erp.example.com:443 is not trusted: "
     "certificate has expired (CERTIFICATE_VERIFY_FAILED)"),
    (wrapped(wrong_version()),
     "TLS problem — the TLS handshake with erp.example.com:443 failed (WRONG_VERSION_NUMBER) — it "
     "does not speak TLS on this port: should the base URL start with http://?"),
    (httpx.ConnectTimeout("timed out"),
     "timeout — no connection to erp.example.com:443 within 2 s (the host is down, or a firewall "
     "drops the packets)"),
    (httpx.ReadTimeout("timed out"),
     "timeout — erp.example.com:443 took the connection but did not answer within 7 s"),
    (wrapped(OSError(113, "No route to host")),
     "no connection to erp.example.com:443 — [Errno 113] No route to host"),
    (httpx.RemoteProtocolError("Server disconnected without sending a response."),
     "broken answer — erp.example.com:443 closed the connection or did not answer in HTTP "
     "(Server disconnected without sending a response.)"),
    (httpx.UnsupportedProtocol("Request URL has an unsupported protocol 'ftp://'."),
     "the base URL cannot be used — Request URL has an unsupported protocol 'ftp://'."),
])
def test_each_failure_in_plain_words(exc, words):
    assert connection_problem(exc, URL, PEER) == words


@pytest.mark.parametrize(("status", "credential", "headers", "words"), [
    (200, "ERP_TOKEN", {}, ""),
    (204, "ERP_TOKEN", {}, ""),
    (401, "ERP_TOKEN", {}, f"credential refused — GET {URL} answered 401: the peer does not "
                           "accept the secret in ERP_TOKEN (wrong, expired or revoked?)"),
    (401, "", {}, f"credential refused — GET {URL} answered 401: the peer wants a credential "
                  "and none is configured (the system's credential name)"),
    (403, "ERP_TOKEN", {}, f"authenticated but not allowed — GET {URL} answered 403: the peer "
                           "knows the credential in ERP_TOKEN but its user may not read this"),
    (404, "ERP_TOKEN", {}, f"probe path not found — GET {URL} answered 404: check the base URL "
                           "and the connector option probe_path"),
    (500, "ERP_TOKEN", {}, f"the peer has a problem — GET {URL} answered 500, an error on its "
                           "side"),
    (503, "ERP_TOKEN", {}, f"the peer has a problem — GET {URL} answered 503, an error on its "
                           "side"),
    (301, "ERP_TOKEN", {"Location": "https://u:pw@erp2.example.com/"},
     f"redirected — GET {URL} answered 301 to https://erp2.example.com/: Thread does not "
     "follow redirects; put the final address in the base URL"),
    (418, "ERP_TOKEN", {}, f"unexpected answer — GET {URL} answered 418"),
])
def test_each_answer_in_plain_words(status, credential, headers, words):
    peer = PeerConfig(system_name="ERP", base_url=PEER.base_url, credential_name=credential)
    assert answer_problem(httpx.Response(status, headers=headers), URL, peer) == words


def test_an_unexpected_answer_quotes_the_peer_without_an_echoed_secret(httpserver, client,
                                                                        monkeypatch):
    monkeypatch.setenv("ERP_TEST_TOKEN", "k-123456")
    httpserver.expect_request("/erp/").respond_with_json(
        {"detail": "Idempotency-Key header is required", "token": "Bearer k-123456"}, status=400)
    peer = PeerConfig(system_name="ERP", base_url=httpserver.url_for("/erp/"),
                      credential_name="ERP_TEST_TOKEN")
    report = get_connector("rest").probe(client, peer)
    assert (report.ok, report.summary) == (
        False, f"unexpected answer — GET {httpserver.url_for('/erp/')} answered 400: "
               '{ "detail": "Idempotency-Key header is required", "token": "***" }')


def test_urls_are_shown_without_user_and_password():
    assert public_url("https://user:pw@erp.example.com:8443/a?b=1") == \
        "https://erp.example.com:8443/a?b=1"
    assert public_url("http://erp.example.com/a") == "http://erp.example.com/a"


def test_rest_probe_uses_the_connectors_own_authentication_and_blanks_echoed_secrets(
        httpserver, client, monkeypatch):
    monkeypatch.setenv("ERP_TEST_TOKEN", "k-123456")
    httpserver.expect_request("/erp/", method="GET", headers={"X-Api-Key": "k-123456"}
                              ).respond_with_data("hello k-123456", status=200)
    peer = PeerConfig(system_name="ERP", base_url=httpserver.url_for("/erp/"),
                      credential_name="ERP_TEST_TOKEN", options={"auth_header": "X-Api-Key"})
    report = get_connector("rest").probe(client, peer)
    assert report.ok is True
    assert report.summary == f"connection OK — GET {httpserver.url_for('/erp/')} 200"
    assert report.steps == (PeerStep("GET", httpserver.url_for("/erp/"), 200, "hello ***"),)
    httpserver.check_assertions()


def test_probe_of_a_peer_that_never_answers_is_a_timeout_within_the_deadline(client):
    listening = socket.create_server(("127.0.0.1", 0))  # accepts connections, never answers
    port = listening.getsockname()[1]
    peer = PeerConfig(system_name="ERP", base_url=f"http://127.0.0.1:{port}", read_timeout=30)
    started = time.monotonic()
    try:
        report = get_connector("rest").probe(client, peer, deadline=time.monotonic() + 0.3)
    finally:
        listening.close()
    assert time.monotonic() - started < 2
    assert report.ok is False
    assert report.summary == (f"timeout — 127.0.0.1:{port} took the connection but did not "
                              "answer within 30 s")


def test_webhook_probe_checks_the_secret_and_that_the_receiver_answers(httpserver, client,
                                                                      monkeypatch):
    monkeypatch.setenv("HOOK_SECRET", "whsec-abcdef")
    httpserver.expect_request("/hooks/thread", method="GET").respond_with_data(
        "POST only", status=405)
    peer = PeerConfig(system_name="MES", base_url=httpserver.url_for("/hooks"),
                      credential_name="HOOK_SECRET", options={"path": "thread"})
    report = get_connector("webhook").probe(client, peer)
    assert report.ok is True
    assert report.summary == (f"connection OK — GET {httpserver.url_for('/hooks/thread')} 405: "
                              "the receiver answers and the signing secret HOOK_SECRET is set")
    (request, _), = httpserver.log
    assert "Authorization" not in request.headers  # the signing secret never travels
    assert "whsec-abcdef" not in repr(report)


def test_webhook_probe_without_its_secret_or_with_a_failing_receiver(httpserver, client,
                                                                     monkeypatch):
    monkeypatch.delenv("HOOK_MISSING", raising=False)
    monkeypatch.delenv("HOOK_MISSING_FILE", raising=False)
    webhook = get_connector("webhook")
    base = httpserver.url_for("/hooks")
    assert webhook.probe(client, PeerConfig(system_name="MES", base_url=base)).summary == (
        "credential missing — a webhook needs a credential name for its signing secret")
    assert webhook.probe(client, PeerConfig(system_name="MES", base_url=base,
                                            credential_name="HOOK_MISSING")).summary == (
        "credential missing — credential HOOK_MISSING is not set in the environment (nor "
        "HOOK_MISSING_FILE)")
    assert len(httpserver.log) == 0
    monkeypatch.setenv("HOOK_SECRET", "whsec-abcdef")
    httpserver.expect_request("/hooks").respond_with_data("down", status=503)
    report = webhook.probe(client, PeerConfig(system_name="MES", base_url=base,
                                              credential_name="HOOK_SECRET"))
    assert (report.ok, report.summary) == (
        False, f"the peer has a problem — GET {base} answered 503, an error on its side")


def test_a_long_token_echoed_by_the_peer_is_blanked_before_the_excerpt_is_cut(
        httpserver, client, monkeypatch):
    token = "eyJ" + "x" * 600  # a JWT-sized token, longer than any excerpt
    monkeypatch.setenv("ERP_TEST_TOKEN", token)
    httpserver.expect_request("/erp/").respond_with_data(f"you sent Bearer {token}", status=418)
    peer = PeerConfig(system_name="ERP", base_url=httpserver.url_for("/erp/"),
                      credential_name="ERP_TEST_TOKEN")
    report = get_connector("rest").probe(client, peer)
    assert report.steps[0].excerpt == "you sent ***"
    assert report.summary.endswith("answered 418: you sent ***")
    assert "xxxxxxxx" not in repr(report)


def test_a_system_without_a_base_url_is_told_so_and_nothing_is_sent(client):
    report = get_connector("rest").probe(client, PeerConfig(system_name="ERP", base_url=""))
    assert (report.ok, report.summary, report.steps) == (
        False, "no base URL is configured: Thread does not know where this system is", ())
