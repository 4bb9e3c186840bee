"""The drainer's time under real task clusters (ORM and Redis brokers) and a real HTTP peer: a
peer that hangs cannot make a task outlive Q_TIMEOUT, every request the peer saw has its
attempt row, and a worker killed mid-batch is noticed at once — its batch is delivered well
before its lease would have run out. Bounds: docs/outbox.md, Timing."""

from __future__ import annotations

import os
import signal
import threading

import pytest
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone
from django_q.models import Failure

from bench.rig import Reply, wait_for
from thread.flows import outbox
from thread.flows.choices import OutboundStatus
from thread.flows.models import DeliveryAttempt, OutboundMessage

from .outbox_support import (
    HangFirst,
    assert_exactly_once_in_order,
    make_system,
    wait_all,
    write_messages,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# What a cluster needs to notice a killed worker and send its messages again: the guard's
# cycle (0.5 s), a new worker, one drain task through the broker. docs/outbox.md states it.
SAME_HOST_TAKE_BACK_SECONDS = 10


def test_a_peer_that_hangs_past_the_read_timeout(broker, clusters, peers):
    never = threading.Event()
    # The first three requests of obj-0's first message never get an answer; everything else
    # is answered at once.
    peer = peers(lambda key, nth, body: Reply(hang=never, apply=False)
                 if body == {"key": "obj-0", "seq": 0} and nth <= 3 else Reply())
    system = make_system(peer, read_timeout_seconds=1.0)
    messages = write_messages(system, keys=4, per_key=2)
    cluster = clusters(Q_TIMEOUT="8", Q_RETRY="16", THREAD_OUTBOX_LEASE_SECONDS="5",
                       THREAD_OUTBOX_DRAIN_SECONDS="3")
    wait_all(broker, [cluster], messages, timeout=60)
    never.set()
    assert_exactly_once_in_order(peer, messages)
    # Every request the peer received has its attempt row, the three timeouts among them.
    attempts = DeliveryAttempt.objects.filter(message__in=messages)
    assert attempts.count() == sum(peer.seen.values()) == len(messages) + 3
    assert attempts.filter(error_class="timeout").count() == 3
    first = OutboundMessage.objects.get(pk=messages[0].pk)
    assert (first.attempts, first.leases) == (4, 4)  # attempts advanced; no claim unfinished
    assert not first.events.exists()  # not quarantined as a worker killer
    # No task ran into django-q2's timeout: none failed, no worker was reincarnated.
    assert not Failure.objects.exists()
    assert "reincarnated" not in cluster.log()


def test_a_worker_killed_mid_batch_is_noticed_at_once(broker, clusters, peers):
    # The sixth message of the batch hangs: five were sent and recorded before it.
    victim = HangFirst({"key": "obj-5", "seq": 0})
    peer = peers(victim)
    system = make_system(peer, read_timeout_seconds=5)
    about = Group.objects.get_or_create(name="fault-test object")[0]
    with transaction.atomic():  # one transaction: one drain task, one batch of twelve
        messages = [outbox.outbound_message_write(
            system=system, topic="step-0", payload={"key": f"obj-{k}", "seq": 0}, about=about,
            cause=None, ordering_key=f"obj-{k}") for k in range(12)]
    cluster = clusters(workers=1, Q_TIMEOUT="20", Q_RETRY="40",
                       THREAD_OUTBOX_LEASE_SECONDS="30", THREAD_OUTBOX_DRAIN_SECONDS="10")
    wait_for(victim.arrived, timeout=30, what="the hanging request")
    held = OutboundMessage.objects.get(idempotency_key=victim.key)
    lease_until = held.lease_until
    pid = int(held.lease_owner.rsplit(":", 1)[1])
    # The requests made before the kill are in the attempt log already.
    assert DeliveryAttempt.objects.count() == sum(peer.seen.values()) - 1 == 5
    os.kill(pid, signal.SIGKILL)
    killed_at = timezone.now()
    victim.release()
    wait_all(broker, [cluster], messages, timeout=60)
    assert_exactly_once_in_order(peer, messages)
    assert peer.seen[victim.key] == 2 and peer.duplicates == 1  # absorbed by its key
    again = DeliveryAttempt.objects.filter(message=held).get()
    assert again.started_at < lease_until, "sent again only after the lease ran out"
    delay = (again.started_at - killed_at).total_seconds()
    assert delay < SAME_HOST_TAKE_BACK_SECONDS, f"taken back after {delay:.1f} s"
    assert again.worker != held.lease_owner  # the reincarnated worker sent it
    # The batch mates the dead worker held went out too, each claimed alone, none quarantined.
    assert set(OutboundMessage.objects.values_list("status", flat=True)) == {
        OutboundStatus.DELIVERED}
