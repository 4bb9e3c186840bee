"""A send's deadline bounds the whole exchange, whatever the peer does: hang before answering,
or answer one byte at a time so that no single read ever times out. The drainer relies on it to
end every task inside django-q2's timeout (thread/flows/timing.py)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from connectors.base import OutboundEnvelope, Outcome, PeerConfig, make_client
from connectors.registry import get_connector

ENVELOPE = OutboundEnvelope(
    message_id=1, topic="mbom.version", payload={"part": "BK-100"}, idempotency_key="thread-1",
    ordering_key="mbom:BER:BK-100", correlation_id="c-1", created_at=datetime(2026, 12, 6, tzinfo=UTC))


def _drain_request(conn: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length"))
    while len(body) < length:
        body += conn.recv(65536)


def hang(conn: socket.socket, stop: threading.Event) -> None:
    _drain_request(conn)
    stop.wait(30)


def trickle(conn: socket.socket, stop: threading.Event) -> None:
    """Headers at once, then one byte of a 1,000-byte body every 0.1 s: each read succeeds well
    inside the read timeout, the whole answer would take 100 s."""
    _drain_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
    while not stop.is_set():
        conn.sendall(b" ")
        time.sleep(0.1)


@pytest.fixture
def raw_peer() -> Iterator[Callable[[Callable], str]]:
    stop = threading.Event()
    servers: list[socket.socket] = []

    def start(behaviour: Callable[[socket.socket, threading.Event], None]) -> str:
        server = socket.create_server(("127.0.0.1", 0))
        servers.append(server)

        def serve() -> None:
            conn, _ = server.accept()
            try:
                behaviour(conn, stop)
            except OSError:
                pass  # the client gave up, as it should
            finally:
                conn.close()

        threading.Thread(target=serve, daemon=True).start()
        return f"http://127.0.0.1:{server.getsockname()[1]}"

    yield start
    stop.set()
    for server in servers:
        server.close()


@pytest.mark.parametrize("behaviour", [hang, trickle], ids=["hangs", "trickles"])
def test_the_deadline_ends_the_exchange_whatever_the_peer_does(raw_peer, behaviour):
    url = raw_peer(behaviour)
    peer = PeerConfig(system_name="ERP", base_url=url, options={"paths": {"*": "/in"}},
                      connect_timeout=5, read_timeout=30)
    with make_client(connect_timeout=5, read_timeout=30) as client:
        started = time.monotonic()
        result = get_connector("rest").deliver(client, ENVELOPE, peer, deadline=started + 0.8)
        took = time.monotonic() - started
    assert result.classification.outcome == Outcome.RETRY, result.classification.detail
    assert result.classification.error_class == "timeout"
    # The deadline, not the 30 s read timeout and not the 100 s trickle, ended it.
    assert 0.7 <= took < 1.5, took


def test_without_a_deadline_the_configured_timeouts_apply(raw_peer):
    url = raw_peer(hang)
    peer = PeerConfig(system_name="ERP", base_url=url, options={"paths": {"*": "/in"}},
                      connect_timeout=1, read_timeout=0.5)
    with make_client(connect_timeout=1, read_timeout=0.5) as client:
        started = time.monotonic()
        result = get_connector("rest").deliver(client, ENVELOPE, peer)
        took = time.monotonic() - started
    assert result.classification.error_class == "timeout"
    assert 0.4 <= took < 1.5, took
