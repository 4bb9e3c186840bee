"""Fixtures of the outbox fault tests: a broker per test (ORM and Redis), real django-q2
clusters on it, and real HTTP peers; stopped and cleaned up after each test."""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import Group
from django_q.tasks import async_task

from bench.rig import Cluster, Peer
from thread.flows import services

from ..queues import REDIS_URL, own_queue
from .outbox_support import worker_database_url


@dataclass
class Broker:
    kind: str
    name: str
    last_kick: float = 0.0

    def kick(self) -> None:
        """The scheduled drain, compressed: at most one drain task per half second."""
        if time.monotonic() - self.last_kick >= 0.5:
            async_task("thread.flows.tasks.drain_outbox")
            self.last_kick = time.monotonic()


@pytest.fixture(params=["orm", "redis"])
def broker(request, monkeypatch):
    """Point this process's django-q2 at a queue of its own on the broker under test, so the
    on-commit drain tasks of outbound_message_write reach the clusters under test."""
    with own_queue(monkeypatch, request.param) as name:
        yield Broker(request.param, name)


@pytest.fixture
def clusters(transactional_db, broker, tmp_path):
    started: list[Cluster] = []

    def start(workers: int = 2, **env: str) -> Cluster:
        cluster = Cluster(name=broker.name, database_url=worker_database_url(), log_dir=tmp_path,
                          redis_url=REDIS_URL if broker.kind == "redis" else "", workers=workers,
                          env=env)
        started.append(cluster)
        return cluster

    yield start
    for cluster in started:
        cluster.kill()


@pytest.fixture
def peers():
    made: list[Peer] = []

    def make(behaviour=None, port=None, start=True) -> Peer:
        peer = Peer(behaviour, port)
        made.append(peer)
        return peer.start() if start else peer

    yield make
    for peer in made:
        peer.stop()


@pytest.fixture
def about(db):
    return Group.objects.create(name="an object messages are about")


@pytest.fixture
def erp_peer(erp, httpserver):
    """The ERP test system, configured to deliver to the local HTTP server."""
    erp.system = services.system_delivery_configure(
        system=erp.system, actor=None, reason="test peer", connector="rest",
        base_url=httpserver.url_for("/erp"), connector_options={"paths": {"*": "/in/{topic}"}},
        connect_timeout_seconds=1, read_timeout_seconds=1, max_attempts=3,
        backoff_base_seconds=10, backoff_cap_seconds=60)
    return erp
