"""The outbox under faults, at a reduced scale: a few hundred messages, a few minutes.

    ./run bench outbox_faults [--broker redis|orm] [--messages 300] [--objects 30]

Two real task clusters (`manage.py qcluster`, two workers each; Redis by default) drain the
outbox into a local HTTP peer that applies each Idempotency-Key once, while messages keep being
written (an object's messages in order, a few per second) and the peer goes through its phases:

    healthy · 500 for 25 s · 429 with Retry-After for 15 s · down (connection refused) for 30 s ·
    a hang past the read timeout on one request in five for 20 s (the cluster `A` is killed
    with kill -9 in the middle) · healthy until everything is delivered

Printed at the end, each from recorded state (the peer's log, the attempt log, django-q2's
failures, the clusters' logs): messages lost, effects applied twice (the same object and step
applied under two keys), repeats the peer absorbed by their key, order violations per object,
task timeouts, peer requests without an attempt row (those in flight in the killed cluster are
shown apart: they are what a kill -9 loses by definition), and how long after the outage began
the flow status showed an alert, and after recovery `ok` again. Every figure but the repeats and
the times must be zero; the exit code says whether they were.

The every-minute scheduled drain is compressed to one drain task every two seconds, leases to
10 s and drains to 8 s, so the run takes minutes. It runs in a throwaway database (test_<name>
of DATABASE_URL, default thread_bench_faults, created and dropped here) and, on Redis, on a
queue of its own whose keys it deletes at the end.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/thread_bench_faults")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.test_settings")

import django

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402

from bench.rig import Cluster, Peer, Reply, redis_queue_delete  # noqa: E402

HOST = socket.gethostname()
REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
# (phase, seconds); the last phase lasts until everything is delivered.
PHASES = [("healthy", 10), ("500", 25), ("429", 15), ("down", 30), ("hang", 20), ("healthy", 0)]
KILL_AFTER_HANG_STARTS = 10  # seconds into the hang phase: cluster A is killed
CLUSTER_ENV = {"Q_TIMEOUT": "20", "Q_RETRY": "40", "THREAD_OUTBOX_LEASE_SECONDS": "10",
               "THREAD_OUTBOX_DRAIN_SECONDS": "8", "LOG_LEVEL": "WARNING"}


class Scenario:
    """The peer's phases on one clock; `phase()` is what the peer does now."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.never = threading.Event()  # hung requests are answered only at the end

    def phase(self) -> str:
        elapsed = time.monotonic() - self.started
        for name, seconds in PHASES:
            if seconds == 0 or elapsed < seconds:
                return name
            elapsed -= seconds
        return PHASES[-1][0]

    def starts_at(self, wanted: str) -> float:
        """Seconds from the start to the first phase called `wanted`."""
        at = 0.0
        for name, seconds in PHASES:
            if name == wanted:
                return at
            at += seconds
        raise LookupError(wanted)

    def reply(self, key: str, nth: int, body: dict) -> Reply:
        phase = self.phase()
        if phase == "500":
            return Reply(500, apply=False)
        if phase == "429":
            return Reply(429, {"Retry-After": "2"}, apply=False)
        if phase == "hang" and hash((key, nth)) % 5 == 0:
            # Applied, but the answer never comes: the retry carries the same key.
            return Reply(hang=self.never)
        return Reply()


def configure_broker(kind: str) -> str:
    """This process enqueues its drain tasks on the clusters' queue, a new one."""
    from django_q.conf import Conf

    name = f"thread-faults-{uuid.uuid4().hex[:8]}"
    Conf.PREFIX = Conf.CLUSTER_NAME = name
    Conf.Q_STAT = f"django_q:{name}:cluster"
    Conf.ORM, Conf.REDIS = ("default", None) if kind == "orm" else (None, REDIS_URL)
    return name


def database_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST']}:{s['PORT']}/{s['NAME']}"


def held_by(owners: set[str]) -> set[str]:
    from thread.flows.models import OutboundMessage

    return set(OutboundMessage.objects.filter(status="sending", lease_owner__in=owners)
               .values_list("idempotency_key", flat=True))


def alerts_of(system_id: int) -> list[str]:
    from thread.flows.selectors import system_flow_signals

    return next((list(s.alerts) for s in system_flow_signals() if s.system.pk == system_id), [])


def run(args) -> dict:
    from django.contrib.auth.models import Group
    from django.db.models import Count
    from django_q.models import Failure
    from django_q.tasks import async_task

    from thread.flows import outbox, services
    from thread.flows.models import DeliveryAttempt, OutboundMessage

    scenario = Scenario()
    peer = Peer(scenario.reply).start()
    system = services.system_create(name="Faulty ERP", kind="erp", actor=None, reason="bench")
    system = services.system_delivery_configure(
        system=system, actor=None, reason="bench", connector="rest", base_url=peer.url,
        connector_options={"paths": {"*": "/in/{topic}"}}, connect_timeout_seconds=0.5,
        read_timeout_seconds=1.5, max_attempts=1000, backoff_base_seconds=0.5,
        backoff_cap_seconds=5)
    about = Group.objects.create(name="bench object")
    queue = configure_broker(args.broker)
    logs = Path(tempfile.mkdtemp(prefix="thread-faults-"))
    redis_url = REDIS_URL if args.broker == "redis" else ""
    clusters = {name: Cluster(name=queue, database_url=database_url(), log_dir=logs,
                              redis_url=redis_url, workers=2, env=CLUSTER_ENV)
                for name in ("A", "B")}
    written = 0
    write_span = sum(seconds for _, seconds in PHASES) - 5  # writes spread over the phases
    pace = write_span / args.messages
    kill_at = scenario.starts_at("hang") + KILL_AFTER_HANG_STARTS
    outage_at = scenario.starts_at("500")
    seen_alert = seen_ok = alerts_at_back = None
    in_flight_at_kill: set[str] = set()
    peer_down = False
    last_kick = 0.0
    try:
        while True:
            now = time.monotonic() - scenario.started
            while written < args.messages and written * pace <= now:
                step, obj = divmod(written, args.objects)
                with transaction.atomic():
                    outbox.outbound_message_write(
                        system=system, topic=f"step-{step}", about=about, cause=None,
                        payload={"key": f"obj-{obj}", "seq": step},
                        ordering_key=f"obj-{obj}")
                written += 1
            phase = scenario.phase()
            if phase == "down" and not peer_down:
                peer.stop()
                peer_down = True
            elif phase != "down" and peer_down:
                peer.start()
                peer_down = False
            if now >= kill_at and clusters["A"].process.poll() is None:
                # What the killed workers held, read before and after the kill (a worker may
                # start a request in between): each at most one request without an answer.
                owners = {f"{HOST}:{pid}" for pid in clusters["A"].pids()}
                in_flight_at_kill = held_by(owners)
                clusters["A"].kill()
                in_flight_at_kill |= held_by(owners)
            if now >= outage_at:
                alerts = alerts_of(system.pk)
                if alerts and seen_alert is None:
                    seen_alert = (now - outage_at, alerts)
                back = scenario.starts_at("hang")  # the peer answers again
                if phase == "down":  # the last reading before the peer came back
                    alerts_at_back = alerts
                if seen_alert and not alerts and now >= back and seen_ok is None:
                    seen_ok = now - back
            if time.monotonic() - last_kick >= 2:  # the scheduled drain, compressed
                async_task("thread.flows.tasks.drain_outbox")
                last_kick = time.monotonic()
            delivered = OutboundMessage.objects.filter(status="delivered").count()
            if written == args.messages and delivered == args.messages and seen_ok is not None:
                break
            if now > write_span + args.settle:
                print(f"  gave up after {now:.0f} s: {delivered} of {args.messages} delivered")
                break
            time.sleep(0.5)
    finally:
        scenario.never.set()
        for cluster in clusters.values():
            cluster.kill()
        peer.stop()
        if args.broker == "redis":
            redis_queue_delete(queue, REDIS_URL)

    statuses = Counter(OutboundMessage.objects.values_list("status", flat=True))
    applied = Counter((body["key"], body["seq"]) for body in peer.applied)
    order = 0
    for obj in range(args.objects):
        seqs = [body["seq"] for body in peer.applied if body["key"] == f"obj-{obj}"]
        order += seqs != sorted(seqs)
    attempts = dict(DeliveryAttempt.objects.values("message__idempotency_key")
                    .annotate(n=Count("id")).values_list("message__idempotency_key", "n"))
    unrecorded = {key: seen - attempts.get(key, 0) for key, seen in peer.seen.items()
                  if seen > attempts.get(key, 0)}
    in_flight = sum(min(n, 1) for key, n in unrecorded.items() if key in in_flight_at_kill)
    # django-q2 logs a worker it killed for overrunning Q_TIMEOUT as reincarnated "after
    # timeout"; a task it stopped that way is also a Failure row.
    timeouts = sum(c.log_path.read_text(errors="replace").count("after timeout")
                   for c in clusters.values())
    return {
        "messages": args.messages, "delivered": statuses.get("delivered", 0),
        "lost": OutboundMessage.objects.exclude(idempotency_key__in=peer.applied_keys).count(),
        "effects applied twice": sum(n - 1 for n in applied.values() if n > 1),
        "repeats absorbed by their key": peer.duplicates,
        "order violations": order,
        "task timeouts": timeouts + Failure.objects.count(),
        "peer requests without an attempt row": sum(unrecorded.values()) - in_flight,
        "  (in flight in the killed cluster)": in_flight,
        "peer requests": sum(peer.seen.values()), "attempt rows": sum(attempts.values()),
        "outage shown after (s)": None if seen_alert is None else round(seen_alert[0], 1),
        "  alerts then": None if seen_alert is None else ", ".join(seen_alert[1]),
        "alerts at the end of the outage": ", ".join(alerts_at_back or []) or "none",
        "ok again after the peer came back (s)": None if seen_ok is None else round(seen_ok, 1),
        "cluster logs": str(logs),
    }


MUST_BE_ZERO = ("lost", "effects applied twice", "order violations", "task timeouts",
                "peer requests without an attempt row")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--broker", choices=("redis", "orm"), default="redis")
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--objects", type=int, default=30, help="ordering keys")
    parser.add_argument("--settle", type=int, default=120,
                        help="seconds after the last write to wait for delivery")
    args = parser.parse_args()
    print(f"{args.messages} messages over {args.objects} objects, broker {args.broker}, "
          f"two clusters of two workers; phases: "
          + ", ".join(f"{n} {s} s" if s else n for n, s in PHASES), flush=True)
    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        started = time.monotonic()
        result = run(args)
    finally:
        teardown_databases(old_config, verbosity=0)
    for name, value in result.items():
        print(f"  {name:<40} {value}")
    print(f"  {'run took (s)':<40} {time.monotonic() - started:.0f}")
    broken = [name for name in MUST_BE_ZERO if result[name]]
    if result["outage shown after (s)"] is None:
        broken.append("the outage never showed")
    if broken:
        print("NOT ZERO: " + ", ".join(broken))
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
