"""Outbox throughput: messages per second delivered to a local HTTP peer that answers at once.

    .venv/bin/python bench/outbox.py [--messages 5000] [--keys 1000]

Sets up its own PostgreSQL database (thread_bench_outbox, created and migrated if missing),
starts a peer (a threaded HTTP/1.1 server with TCP_NODELAY, in its own process), writes a
backlog through `outbound_message_write` while the system's delivery is paused, then resumes
delivery and lets real `manage.py qcluster` workers (1, 2, 4; ORM broker and Redis) drain it.
The rate is messages / (last delivery recorded - delivery resumed). In the same run a bare
httpx loop posts the same number of bodies to the same peer, as the ceiling to compare with.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import signal
import socket
import subprocess
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DB_NAME = "thread_bench_outbox"
ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
DB_URL = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
REDIS_URL = "redis://127.0.0.1:6379/0"
BASE_ENV = {"DJANGO_SETTINGS_MODULE": "config.settings", "SECRET_KEY": "bench-only",
            "DEBUG": "0", "DATABASE_URL": DB_URL, "LOG_LEVEL": "WARNING"}
sys.path.insert(0, str(BASE_DIR))
os.environ.update(BASE_ENV)


class _Answer(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format, *args) -> None:
        pass


def _serve(port: int) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", port), _Answer)
    server.daemon_threads = True
    server.serve_forever()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ensure_database() -> None:
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone():
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def bare_httpx(url: str, count: int) -> float:
    import httpx

    from connectors.base import json_body

    with httpx.Client(timeout=5) as client:
        client.post(url, content=b"{}")  # connect first, as the workers' pools do
        started = time.perf_counter()
        for n in range(count):
            client.post(url, content=json_body({"n": n, "part": "BK-100", "qty": "2.500"}),
                        headers={"Content-Type": "application/json",
                                 "Idempotency-Key": f"bare-{n}"})
        return count / (time.perf_counter() - started)


def write_backlog(system, messages: int, keys: int) -> None:
    from django.contrib.auth.models import Group
    from django.db import transaction

    from thread.flows import outbox

    about = Group.objects.get_or_create(name="bench object")[0]
    written = 0
    while written < messages:
        with transaction.atomic():
            for _ in range(min(200, messages - written)):
                key, seq = written % keys, written // keys
                outbox.outbound_message_write(
                    system=system, topic=f"step-{seq}", about=about, cause=None,
                    payload={"key": key, "seq": seq, "part": "BK-100", "qty": "2.500"},
                    ordering_key=f"mbom:BER:P-{key}")
                written += 1


def run_cluster(system, *, broker: str, workers: int, messages: int, keys: int) -> float:
    from django.db.models import Max
    from django.utils import timezone
    from django_q.conf import Conf
    from django_q.tasks import async_task

    from thread.flows import services
    from thread.flows.models import OutboundMessage

    OutboundMessage.objects.all().delete()
    services.system_delivery_configure(system=system, actor=None, reason="bench: pause",
                                       delivery_enabled=False)
    # This run's queue first: the backlog's on-commit drain tasks go to it, and are deleted with
    # it (on Redis) at the end.
    name = f"bench-{uuid.uuid4().hex[:8]}"
    Conf.PREFIX = Conf.CLUSTER_NAME = name
    Conf.ORM, Conf.REDIS = ("default", {}) if broker == "orm" else (None, REDIS_URL)
    write_backlog(system, messages, keys)
    # Statistics for the fresh rows, as autovacuum would soon take: without them the first run
    # of a new database measures a planner guessing, not the outbox.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE flows_outboundmessage")
    env = {**os.environ, "Q_CLUSTER_NAME": name, "Q_WORKERS": str(workers),
           "REDIS_URL": REDIS_URL if broker == "redis" else ""}
    cluster = subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=BASE_DIR, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    try:
        # The on-commit tasks of the backlog found delivery paused; now one drain task per
        # worker drains it. Let the cluster start first, so every worker is there.
        time.sleep(3)
        services.system_delivery_configure(system=system, actor=None, reason="bench: resume",
                                           delivery_enabled=True)
        resumed = timezone.now()
        for _ in range(workers):
            async_task("thread.flows.tasks.drain_outbox")
        deadline = time.monotonic() + 600
        while OutboundMessage.objects.filter(status="delivered").count() < messages:
            if time.monotonic() > deadline:
                raise RuntimeError("bench: not all messages were delivered in 10 minutes")
            time.sleep(0.2)
        last = OutboundMessage.objects.aggregate(last=Max("finished_at"))["last"]
        return messages / (last - resumed).total_seconds()
    finally:
        os.killpg(cluster.pid, signal.SIGKILL)
        cluster.wait()
        if broker == "redis":
            from bench.rig import redis_queue_delete

            redis_queue_delete(name, REDIS_URL)


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor())
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0]
    return (f"{platform.machine()}, {os.cpu_count()} CPUs ({cpu}), Python "
            f"{platform.python_version()}, PostgreSQL {pg}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--keys", type=int, default=1000, help="distinct objects (ordering keys)")
    args = parser.parse_args()
    ensure_database()
    from thread.flows import services
    from thread.flows.models import ExternalSystem

    port = free_port()
    peer = multiprocessing.Process(target=_serve, args=(port,), daemon=True)
    peer.start()
    time.sleep(0.3)
    url = f"http://127.0.0.1:{port}"
    system = ExternalSystem.objects.filter(name="Bench ERP").first() or services.system_create(
        name="Bench ERP", kind="erp", actor=None, reason="bench")
    system = services.system_delivery_configure(
        system=system, actor=None, reason="bench", connector="rest", base_url=url,
        connector_options={"paths": {"*": "/in/{topic}"}})
    print(machine())
    print(f"{args.messages} messages, {args.keys} ordering keys, batch "
          f"{os.environ.get('THREAD_OUTBOX_BATCH_SIZE', '50')}")
    baseline = bare_httpx(url + "/in/bare", args.messages)
    print(f"bare httpx loop (1 client, sequential): {baseline:8.0f} req/s")
    results = {}
    for broker in ("orm", "redis"):
        for workers in (1, 2, 4):
            rate = run_cluster(system, broker=broker, workers=workers, messages=args.messages,
                               keys=args.keys)
            results[f"{broker}/{workers}"] = rate
            print(f"outbox, {broker:5} broker, {workers} worker(s): {rate:8.0f} msg/s "
                  f"({rate / baseline:.2f}x the bare loop)", flush=True)
    peer.terminate()
    print(json.dumps({"bare_httpx": round(baseline), **{k: round(v) for k, v in
                                                       results.items()}}))


if __name__ == "__main__":
    main()
