"""A test rig for the outbox without Django's test machinery: a real HTTP peer that applies
each Idempotency-Key once, `manage.py qcluster` in a subprocess on a given database and broker,
and polling with deadlines. The fault tests (tests/flows) stand on it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[1]


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    apply: bool = True  # the peer performs the effect before answering
    hang: threading.Event | None = None  # answer only once this is set (at most a minute)
    delay: float = 0.0  # seconds to wait before answering


Behaviour = Callable[[str, int, dict], Reply]  # (idempotency key, nth request for it, body)


class TrackedHandler(BaseHTTPRequestHandler):
    """Keep-alive like a real peer, and every open connection known to the server's owner, so
    that stopping it cuts them as a crash would."""

    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.owner.lock:
            self.server.owner.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.owner.lock:
            self.server.owner.connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format, *args) -> None:
        pass


class LocalServer:
    """A local HTTP server on its own port, served by `handler` in a daemon thread."""

    handler: type[TrackedHandler]

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.lock = threading.RLock()
        self.connections: set[socket.socket] = set()  # open keep-alive connections
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        server = ThreadingHTTPServer(("127.0.0.1", self.port), self.handler)
        server.daemon_threads = True
        server.owner = self
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        self._server = server
        return self

    def stop(self) -> None:
        """Down as a crashed peer is: new connections refused, open keep-alive ones cut."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self.lock:
            open_connections, self.connections = self.connections, set()
        for connection in open_connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(TrackedHandler):
    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        raw = self.rfile.read(length)
        if len(raw) < length:
            # The sender died between its headers and its body (a killed worker): a real server
            # drops such a request unread, it never applies it.
            self.close_connection = True
            return
        body = json.loads(raw or b"null")
        reply = self.server.owner.receive(self.headers.get("Idempotency-Key", ""), body)
        if reply.hang is not None:
            reply.hang.wait(60)
        if reply.delay:
            time.sleep(reply.delay)
        payload = b"{}"
        try:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            pass  # the client gave up (timeout, killed worker): as a real peer would see it


class Peer(LocalServer):
    """A peer that deduplicates by Idempotency-Key, as the protocol asks of it: the first
    request with a key that it accepts is applied; repeats are counted and answered alike."""

    handler = _Handler

    def __init__(self, behaviour: Behaviour | None = None, port: int | None = None) -> None:
        super().__init__(port)
        self.behaviour = behaviour
        self.requests: list[tuple[str, float]] = []
        self.seen: dict[str, int] = {}
        self.applied: list[dict] = []
        self.applied_keys: set[str] = set()
        self.duplicates = 0

    def receive(self, key: str, body: dict) -> Reply:
        with self.lock:
            nth = self.seen[key] = self.seen.get(key, 0) + 1
            self.requests.append((key, time.monotonic()))
        reply = self.behaviour(key, nth, body) if self.behaviour else Reply()
        if reply.apply:
            with self.lock:
                if key in self.applied_keys:
                    self.duplicates += 1
                else:
                    self.applied_keys.add(key)
                    self.applied.append(body)
        return reply


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Cluster:
    """`manage.py qcluster` in its own process group, on `database_url`, with the Redis broker
    at `redis_url` or, when it is empty, the ORM broker, whatever this process's environment
    says. Leases, drains and django-q2's timeouts are compressed to seconds; `env` overrides."""

    def __init__(self, *, name: str, database_url: str, log_dir: Path, redis_url: str = "",
                 workers: int = 2, env: dict[str, str] | None = None) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}-{uuid.uuid4().hex[:6]}.log"
        full_env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.test_settings",
            "DATABASE_URL": database_url,
            "Q_CLUSTER_NAME": name,
            "REDIS_URL": redis_url,
            "Q_WORKERS": str(workers),
            "Q_TIMEOUT": "20",
            "Q_RETRY": "40",
            "THREAD_OUTBOX_LEASE_SECONDS": "2",
            "THREAD_OUTBOX_DRAIN_SECONDS": "3",
            "LOG_LEVEL": os.environ.get("RIG_LOG_LEVEL", "WARNING"),
            **(env or {}),
        }
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "qcluster"], cwd=BASE_DIR, env=full_env,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def pids(self) -> set[int]:
        """The cluster's processes (its workers among them)."""
        found = {self.process.pid}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if os.getpgid(int(entry.name)) == self.process.pid:
                        found.add(int(entry.name))
                except (ProcessLookupError, PermissionError):
                    continue
        return found

    def kill(self) -> None:
        """SIGKILL every process of the cluster: no clean-up of any kind runs."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        self.process.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]


def redis_queue_delete(name: str, url: str) -> None:
    """Delete django-q2 queue `name`'s keys on the Redis at `url` (its task list, its clusters'
    statistics) and nothing else: no FLUSHDB, whatever database the URL names."""
    import redis

    client = redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"django_q:{name}:*", count=500))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def wait_for(predicate: Callable[[], bool], *, timeout: float, what: str,
             tick: Callable[[], None] | None = None, every: float = 0.25) -> None:
    """Poll `predicate` until true; call `tick` between polls (the compressed scheduled drain).
    Fails with `what` when the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        if tick is not None:
            tick()
        time.sleep(every)
