"""The test run's django-q2 queues. Whatever broker this process was configured with (REDIS_URL
set or not), a test that starts a task cluster gives that cluster and this process one broker,
explicitly, on a queue of its own. On Redis every queue is a key prefix of this run's own on the
server of REDIS_URL (127.0.0.1:6379 when unset); only those keys are deleted afterwards — never
the database, never anyone else's keys."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from django_q.conf import Conf

from bench.rig import redis_queue_delete

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"


def queue_name(prefix: str = "thread-test") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@contextmanager
def own_queue(monkeypatch, kind: str = "orm", prefix: str = "thread-test") -> Iterator[str]:
    """Point this process's django-q2 at a new queue on broker `kind` ("orm" or "redis") and
    yield its name; a cluster started with the same name and broker shares it."""
    name = queue_name(prefix)
    monkeypatch.setattr(Conf, "PREFIX", name)
    monkeypatch.setattr(Conf, "CLUSTER_NAME", name)
    monkeypatch.setattr(Conf, "Q_STAT", f"django_q:{name}:cluster")
    if kind == "orm":
        monkeypatch.setattr(Conf, "ORM", "default")
        monkeypatch.setattr(Conf, "REDIS", None)
    else:
        monkeypatch.setattr(Conf, "ORM", None)
        monkeypatch.setattr(Conf, "REDIS", REDIS_URL)
    try:
        yield name
    finally:
        if kind == "redis":
            redis_queue_delete(name, REDIS_URL)
