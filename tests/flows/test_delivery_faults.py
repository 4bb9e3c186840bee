"""Fault tests: real django-q2 clusters (subprocesses) drain the outbox of pytest's test database
into a real HTTP peer, with the ORM broker and with Redis. Every test shows: nothing lost (all
delivered, or the one poison message dead), nothing applied twice in effect (the peer applied
each Idempotency-Key once), and the order per object kept.

The test process stands in for the every-minute scheduled drain by enqueueing a drain task
every half second ("kick"); leases are 2 s and backoffs fractions of a second, so each test runs
in seconds.
"""

from __future__ import annotations

import os
import signal
import threading

import pytest
from django.db import connection

from bench.rig import Reply, wait_for
from thread.flows import services
from thread.flows.choices import OutboundEventKind, OutboundStatus
from thread.flows.models import DeliveryAttempt, OutboundMessage

from .outbox_support import (
    HangFirst,
    assert_exactly_once_in_order,
    make_system,
    wait_all,
    write_messages,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# Leases and drains long enough that a request held by the peer is still waiting when the test
# kills its worker or drops its database connection (a send is cut off at the lease's end).
LONG_SENDS = {"THREAD_OUTBOX_LEASE_SECONDS": "5", "THREAD_OUTBOX_DRAIN_SECONDS": "4"}
# Sends of up to 12 s, none cut off by its lease (Q_TIMEOUT 20 holds a 12 s drain + wrap-up).
GENEROUS = {"THREAD_OUTBOX_LEASE_SECONDS": "15", "THREAD_OUTBOX_DRAIN_SECONDS": "12"}


def test_peer_down_then_up(broker, clusters, peers):
    peer = peers(start=False)
    system = make_system(peer)
    messages = write_messages(system, keys=6, per_key=4)
    cluster = clusters()
    wait_for(lambda: DeliveryAttempt.objects.filter(error_class="connection").count() >= 6,
             timeout=30, tick=broker.kick, what="refused connections")
    assert not OutboundMessage.objects.filter(status=OutboundStatus.DELIVERED).exists()
    peer.start()
    wait_all(broker, [cluster], messages)
    assert_exactly_once_in_order(peer, messages)
    assert peer.duplicates == 0


def test_peer_timing_out(broker, clusters, peers):
    # The peer applies each message but answers too late the first time: the retry carries the
    # same Idempotency-Key and is absorbed.
    peer = peers(lambda key, nth, body: Reply(delay=1.0 if nth == 1 else 0))
    system = make_system(peer, read_timeout_seconds=0.3)
    messages = write_messages(system, keys=4, per_key=2)
    cluster = clusters(workers=4)
    wait_all(broker, [cluster], messages)
    assert_exactly_once_in_order(peer, messages)
    assert peer.duplicates == len(messages)
    assert DeliveryAttempt.objects.filter(error_class="timeout").count() == len(messages)


def test_500_then_200(broker, clusters, peers):
    peer = peers(lambda key, nth, body: Reply(500, apply=False) if nth == 1 else Reply())
    system = make_system(peer)
    messages = write_messages(system, keys=6, per_key=4)
    cluster = clusters()
    wait_all(broker, [cluster], messages)
    assert_exactly_once_in_order(peer, messages)
    assert DeliveryAttempt.objects.filter(response_status=500).count() == len(messages)


def test_429_with_retry_after(broker, clusters, peers):
    peer = peers(lambda key, nth, body: Reply(429, {"Retry-After": "1"}, apply=False)
                 if nth == 1 else Reply())
    system = make_system(peer)
    messages = write_messages(system, keys=5, per_key=1)
    cluster = clusters()
    wait_all(broker, [cluster], messages)
    assert_exactly_once_in_order(peer, messages)
    for message in messages:
        first, second = DeliveryAttempt.objects.filter(message=message).order_by("id")
        assert first.response_status == 429
        gap = (second.started_at - first.started_at).total_seconds()
        assert gap >= 1.0, f"retried after {gap:.2f} s despite Retry-After: 1"


def test_worker_killed_while_sending(broker, clusters, peers):
    # The first request of obj-0/seq 0 is applied, then the worker is killed while it waits.
    victim = HangFirst({"key": "obj-0", "seq": 0})
    peer = peers(victim)
    system = make_system(peer, read_timeout_seconds=3)
    messages = write_messages(system, keys=5, per_key=3)
    first = clusters(**LONG_SENDS)
    wait_for(victim.arrived, timeout=20, tick=broker.kick, what="the hanging request")
    first.kill()
    victim.release()
    second = clusters(**LONG_SENDS)
    wait_all(broker, [first, second], messages)
    assert_exactly_once_in_order(peer, messages)
    assert peer.seen[victim.key] >= 2  # sent again after the lease expired
    assert peer.duplicates >= 1  # …and the peer's idempotency check absorbed it


def test_two_clusters_drain_one_outbox(broker, clusters, peers):
    peer = peers(lambda key, nth, body: Reply(delay=0.01))
    # Generous leases and read timeout: on a busy machine a send cut off at a 2 s lease's end
    # now and then is retried, a repeat the peer absorbs (the at-least-once the other tests
    # show); this test is about claims, which must never be shared.
    system = make_system(peer, delivery_enabled=False, read_timeout_seconds=10)
    # More objects than one batch holds, so that one worker cannot hold every claimable head.
    messages = write_messages(system, keys=150, per_key=2)
    one, two = clusters(**GENEROUS), clusters(**GENEROUS)
    # Both clusters up (parent, guard, monitor, pusher and two workers each) before any work.
    wait_for(lambda: len(one.pids()) >= 6 and len(two.pids()) >= 6, timeout=20,
             what="both clusters started")
    services.system_delivery_configure(system=system, actor=None, reason="go",
                                       delivery_enabled=True)
    wait_all(broker, [one, two], messages)
    assert_exactly_once_in_order(peer, messages)
    assert peer.duplicates == 0  # no claim was ever shared: every message was sent once
    assert sum(peer.seen.values()) == len(messages)
    workers = {int(w.rsplit(":", 1)[1]) for w in
               DeliveryAttempt.objects.values_list("worker", flat=True).distinct()}
    assert workers & one.pids() and workers & two.pids(), "both clusters delivered"


def test_database_connection_dropped_mid_delivery(broker, clusters, peers):
    victim = HangFirst({"key": "obj-1", "seq": 0})
    peer = peers(victim)
    system = make_system(peer, read_timeout_seconds=3)
    messages = write_messages(system, keys=4, per_key=3)
    cluster = clusters(**LONG_SENDS)
    wait_for(victim.arrived, timeout=20, tick=broker.kick, what="the hanging request")
    with connection.cursor() as cursor:  # every other session on the test database goes
        cursor.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        assert cursor.fetchone()[0] >= 1
    victim.release()  # the worker now records the outcome on a dead connection
    wait_all(broker, [cluster], messages)
    assert_exactly_once_in_order(peer, messages)
    assert peer.seen[victim.key] >= 2
    assert peer.duplicates >= 1


def test_poison_message_is_quarantined(broker, clusters, peers):
    # Whatever the poison message makes its worker do, the worker dies while sending it (here:
    # killed by the test while the peer holds the request) — every time it is claimed.
    never = threading.Event()
    peer = peers(lambda key, nth, body: Reply(hang=never, apply=False)
                 if body == {"key": "obj-0", "seq": 0} else Reply())
    system = make_system(peer, read_timeout_seconds=3)
    messages = write_messages(system, keys=4, per_key=2)
    poison, rest = messages[0], messages[1:]
    cluster = clusters(THREAD_OUTBOX_QUARANTINE_AFTER="2", **LONG_SENDS)
    for kill in (1, 2):
        wait_for(lambda kill=kill: peer.seen.get(poison.idempotency_key, 0) == kill, timeout=20,
                 tick=broker.kick, what=f"the poison message's request #{kill}")
        owner = OutboundMessage.objects.get(pk=poison.pk).lease_owner
        os.kill(int(owner.rsplit(":", 1)[1]), signal.SIGKILL)
    wait_all(broker, [cluster], rest, timeout=60)
    wait_for(lambda: OutboundMessage.objects.get(pk=poison.pk).status == OutboundStatus.DEAD,
             timeout=20, tick=broker.kick, what="the poison message quarantined")
    poison.refresh_from_db()
    assert poison.events.get().kind == OutboundEventKind.QUARANTINED
    assert poison.leases == 3 and poison.attempts == 0
    assert peer.seen[poison.idempotency_key] == 2  # sent on the two claims that killed a worker
    assert_exactly_once_in_order(peer, rest)
    never.set()
