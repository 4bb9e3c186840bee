"""Django-bound helpers of the outbox fault tests, around the rig in bench.rig: the test
database's URL for the clusters, systems and messages to deliver, and the checks on what the peer
received."""

from __future__ import annotations

import threading
import uuid

from django.contrib.auth.models import Group
from django.db import connection, transaction

from bench.rig import Peer, Reply, wait_for
from thread.flows import outbox, services
from thread.flows.choices import OutboundStatus
from thread.flows.models import OutboundMessage


def worker_database_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST']}:{s['PORT']}/{s['NAME']}"


def make_system(peer: Peer, **settings):
    system = services.system_create(name=f"ERP {uuid.uuid4().hex[:6]}", kind="erp", actor=None,
                                    reason="fault test")
    options = {"connector": "rest", "base_url": peer.url,
               "connector_options": {"paths": {"*": "/in/{topic}"}},
               "connect_timeout_seconds": 0.5, "read_timeout_seconds": 1.0,
               "max_attempts": 100, "backoff_base_seconds": 0.1, "backoff_cap_seconds": 0.5,
               **settings}
    return services.system_delivery_configure(system=system, actor=None, reason="fault test",
                                              **options)


def write_messages(system, *, keys: int, per_key: int) -> list[OutboundMessage]:
    """`per_key` messages for each of `keys` objects, each object in its own transaction (one
    drain task each). Topics differ within an object, so none supersedes another."""
    about = Group.objects.get_or_create(name="fault-test object")[0]
    written = []
    for k in range(keys):
        with transaction.atomic():
            for seq in range(per_key):
                written.append(outbox.outbound_message_write(
                    system=system, topic=f"step-{seq}", payload={"key": f"obj-{k}", "seq": seq},
                    about=about, cause=None, ordering_key=f"obj-{k}"))
    return written


def delivered(count: int) -> callable:
    return lambda: OutboundMessage.objects.filter(status=OutboundStatus.DELIVERED).count() >= count


def assert_exactly_once_in_order(peer: Peer, messages: list[OutboundMessage]) -> None:
    statuses = set(OutboundMessage.objects.filter(pk__in=[m.pk for m in messages])
                   .values_list("status", flat=True))
    assert statuses == {OutboundStatus.DELIVERED}
    assert peer.applied_keys == {m.idempotency_key for m in messages}  # nothing lost
    assert len(peer.applied) == len(messages)  # nothing applied twice
    for key in {m.ordering_key for m in messages}:
        seqs = [body["seq"] for body in peer.applied if body["key"] == key]
        assert seqs == sorted(seqs), f"order broken for {key}: {seqs}"


def wait_all(broker, clusters_started, messages, timeout=40.0):
    try:
        wait_for(delivered(len(messages)), timeout=timeout, tick=broker.kick,
                 what=f"{len(messages)} messages delivered")
    except AssertionError:
        logs = "\n".join(c.log() for c in clusters_started)
        raise AssertionError(f"not all delivered; cluster logs:\n{logs}") from None


def write(system, about, topic="mbom.version", key="mbom:BER:BK-100", payload=None, **extra):
    """One message in its own transaction (one drain task)."""
    with transaction.atomic():
        return outbox.outbound_message_write(
            system=system, topic=topic, payload=payload or {"n": 1}, about=about, cause=None,
            ordering_key=key, **extra)


class HangFirst:
    """A peer behaviour: the first request carrying `body` is applied, then its answer waits
    until `release()` (the test kills or cuts off the worker meanwhile); every other request is
    answered at once. `key` is that request's Idempotency-Key once it has arrived."""

    def __init__(self, body: dict) -> None:
        self.body = body
        self.key = ""
        self.answer = threading.Event()

    def __call__(self, key: str, nth: int, body: dict) -> Reply:
        if body == self.body and nth == 1:
            self.key = key
            return Reply(hang=self.answer)
        return Reply()

    def arrived(self) -> bool:
        return bool(self.key)

    def release(self) -> None:
        self.answer.set()
