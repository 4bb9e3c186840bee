""""Test connection": the flows service probes a system through its connector and says in plain
words what is wrong, writing nothing; operators run it from the systems' admin list and from a
system's page."""

from __future__ import annotations

import logging
import shutil
import socket
import ssl
import subprocess
import threading
from html import escape

import pytest

from bench.rig import free_port
from connectors.base import PeerStep
from thread.flows import services
from thread.flows.models import ExternalSystem, OutboundMessage

TOKEN = "ERP_PROBE_TOKEN"
SECRET = "s3cret-probe-token"
SYSTEMS = "/admin/flows/externalsystem/"


def configure(system, base_url, **fields):
    fields.setdefault("connector", "rest")
    fields.setdefault("connector_options", {"probe_path": "/api/ping"})
    return services.system_delivery_configure(
        system=system, actor=None, reason="probe test", base_url=base_url,
        connect_timeout_seconds=1, read_timeout_seconds=1, **fields)


@pytest.fixture
def erp_system(erp, httpserver, monkeypatch):
    """The ERP test system, with a token, probing the local HTTP server's /erp/api/ping."""
    monkeypatch.setenv(TOKEN, SECRET)
    return configure(erp.system, httpserver.url_for("/erp"), credential_name=TOKEN)


def probe(system):
    return services.system_connection_test(system=system, actor=None)


def test_ok_reads_the_probe_path_authenticated_and_writes_nothing(erp_system, httpserver,
                                                                   caplog):
    httpserver.expect_request("/erp/api/ping", method="GET",
                              headers={"Authorization": f"Bearer {SECRET}"}
                              ).respond_with_data('{"ok":true}', content_type="application/json")
    history = erp_system.history.count()
    url = httpserver.url_for("/erp/api/ping")
    with caplog.at_level(logging.INFO, logger="thread.flows.services"):
        report = probe(erp_system)
    assert report.ok is True
    assert report.summary == f"connection OK — GET {url} 200"
    assert report.steps == (PeerStep("GET", url, 200, '{"ok":true}'),)
    httpserver.check_assertions()
    assert OutboundMessage.objects.count() == 0
    assert erp_system.history.count() == history
    assert f"connection test of ERP test by -: ok: connection OK — GET {url} 200" in caplog.text


def test_401_names_the_credential_variable_never_its_value(erp_system, httpserver):
    httpserver.expect_request("/erp/api/ping").respond_with_data(
        f"token Bearer {SECRET} is not valid", status=401)
    report = probe(erp_system)
    url = httpserver.url_for("/erp/api/ping")
    assert report.ok is False
    assert report.summary == (f"credential refused — GET {url} answered 401: the peer does not "
                              f"accept the secret in {TOKEN} (wrong, expired or revoked?)")
    assert report.steps == (PeerStep("GET", url, 401, "token *** is not valid"),)
    assert SECRET not in repr(report)


def test_403_is_authenticated_but_not_allowed(erp_system, httpserver):
    httpserver.expect_request("/erp/api/ping").respond_with_data("forbidden", status=403)
    report = probe(erp_system)
    assert report.ok is False
    assert report.summary == (f"authenticated but not allowed — GET "
                              f"{httpserver.url_for('/erp/api/ping')} answered 403: the peer "
                              f"knows the credential in {TOKEN} but its user may not read this")


def test_refused_connection_on_a_closed_port(erp_system):
    port = free_port()  # bound, then closed: nothing listens there
    system = configure(erp_system, f"http://127.0.0.1:{port}/erp")
    report = probe(system)
    assert report.ok is False
    assert report.summary == (f"connection refused — nothing accepts connections on "
                              f"127.0.0.1:{port}: is the service running, the port right, or "
                              "does a firewall reject it?")
    (step,) = report.steps
    assert (step.method, step.url, step.status) == (
        "GET", f"http://127.0.0.1:{port}/erp/api/ping", None)
    assert "ConnectError" in step.excerpt


def test_a_name_that_does_not_resolve_is_a_dns_problem(erp_system):
    system = configure(erp_system, "http://erp.thread-probe.invalid/erp")
    report = probe(system)
    assert report.ok is False
    # "not found" from a resolver that answers; "lookup failed" where none is reachable
    assert report.summary.startswith(("DNS name not found — erp.thread-probe.invalid does not exist",
                                      "DNS lookup failed — erp.thread-probe.invalid"))


def test_https_to_a_plain_http_server_is_a_tls_problem(erp_system, httpserver):
    system = configure(erp_system, f"https://127.0.0.1:{httpserver.port}/erp")
    report = probe(system)
    assert report.ok is False
    assert report.summary.startswith(
        f"TLS problem — the TLS handshake with 127.0.0.1:{httpserver.port} failed (")
    assert report.summary.endswith("it does not speak TLS on this port: should the base URL "
                                   "start with http://?")


@pytest.fixture
def self_signed_server(tmp_path):
    """A TLS server on 127.0.0.1 with a certificate no one trusts (made by openssl here)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("SELF-SIGNED TLS TEST NOT RUN: no openssl binary to make its certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
                    "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            try:
                conn.settimeout(2)
                with context.wrap_socket(conn, server_side=True):
                    pass
            except (OSError, ssl.SSLError):
                pass  # the client refuses the certificate: the handshake ends here
            finally:
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(5)
    server.close()


def test_a_self_signed_certificate_is_a_certificate_problem(erp_system, self_signed_server):
    port = self_signed_server
    system = configure(erp_system, f"https://127.0.0.1:{port}/erp")
    report = probe(system)
    assert report.ok is False
    assert report.summary.startswith(
        f"TLS certificate problem — the certificate of 127.0.0.1:{port} is not trusted: ")
    assert "self-signed" in report.summary
    assert report.summary.endswith("(CERTIFICATE_VERIFY_FAILED)")


def test_a_missing_credential_is_named_and_nothing_is_sent(erp_system, httpserver, monkeypatch):
    monkeypatch.delenv("ERP_PROBE_MISSING", raising=False)
    monkeypatch.delenv("ERP_PROBE_MISSING_FILE", raising=False)
    system = configure(erp_system, httpserver.url_for("/erp"), credential_name="ERP_PROBE_MISSING")
    report = probe(system)
    assert report.ok is False
    assert report.summary == ("credential missing — credential ERP_PROBE_MISSING is not set in "
                              "the environment (nor ERP_PROBE_MISSING_FILE)")
    assert report.steps == ()
    assert len(httpserver.log) == 0


def test_a_system_thread_does_not_send_to_has_nothing_to_test(mes):
    report = probe(mes.system)
    assert (report.ok, report.summary) == (
        False, "no connector — Thread does not send to this system")


# --- the admin -------------------------------------------------------------------------------


@pytest.fixture
def mes_refused(mes):
    port = free_port()
    return configure(mes.system, f"http://127.0.0.1:{port}/mes"), port


def test_operator_tests_the_selected_systems_from_the_list(client, person, erp_system, httpserver,
                                                           mes_refused):
    mes_system, port = mes_refused
    httpserver.expect_request("/erp/api/ping").respond_with_json({"ok": True})
    client.force_login(person("operator").user)
    response = client.post(SYSTEMS, {"action": "test_connection",
                                     "_selected_action": [erp_system.pk, mes_system.pk]},
                           follow=True)
    assert response.status_code == 200
    shown = [(m.level_tag, m.message) for m in response.context["messages"]]
    assert shown == [
        ("success", f"ERP test: connection OK — GET {httpserver.url_for('/erp/api/ping')} 200"),
        ("error", f"MES test: connection refused — nothing accepts connections on "
                  f"127.0.0.1:{port}: is the service running, the port right, or does a "
                  "firewall reject it?"),
    ]
    text = response.content.decode()
    for _, message in shown:
        assert escape(message) in text
    assert SECRET not in text
    assert OutboundMessage.objects.count() == 0


def test_operator_tests_one_system_from_its_page(client, person, erp_system, httpserver):
    httpserver.expect_request("/erp/api/ping").respond_with_data("no", status=401)
    client.force_login(person("operator").user)
    page = client.get(f"{SYSTEMS}{erp_system.pk}/change/").content.decode()
    action = f"{SYSTEMS}{erp_system.pk}/test-connection/"
    assert f'action="{action}"' in page
    assert client.get(action).status_code == 405
    response = client.post(action, follow=True)
    assert response.redirect_chain == [(f"{SYSTEMS}{erp_system.pk}/change/", 302)]
    shown = [(m.level_tag, m.message) for m in response.context["messages"]]
    assert shown == [("error", f"ERP test: credential refused — GET "
                               f"{httpserver.url_for('/erp/api/ping')} answered 401: the peer "
                               f"does not accept the secret in {TOKEN} (wrong, expired or "
                               "revoked?)")]


def test_who_may_not_change_systems_may_not_test_them(client, person, erp_system, httpserver):
    client.force_login(person("auditor").user)
    page = client.get(f"{SYSTEMS}{erp_system.pk}/change/")
    assert page.status_code == 200
    assert "test-connection-form" not in page.content.decode()
    assert client.post(f"{SYSTEMS}{erp_system.pk}/test-connection/").status_code == 403
    listing = client.get(SYSTEMS)
    assert "test_connection" not in listing.content.decode()
    assert len(httpserver.log) == 0
    assert ExternalSystem.objects.get(pk=erp_system.pk).base_url == erp_system.base_url
