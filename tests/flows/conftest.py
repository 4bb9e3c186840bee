"""Fixtures of the outbox fault tests: a broker per test (ORM and Redis), real django-q2
clusters on it, and real HTTP peers; stopped and cleaned up after each test."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import pytest
import redis
from django.contrib.auth.models import Group
from django_q.conf import Conf
from django_q.tasks import async_task

from bench.rig import Cluster, Peer
from thread.flows import services

from .outbox_support import REDIS_URL, worker_database_url


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
    """Point this process's django-q2 at the run's own queue, so the on-commit drain tasks of
    outbound_message_write reach the clusters under test."""
    name = f"thread-test-{uuid.uuid4().hex[:8]}"
    monkeypatch.setattr(Conf, "PREFIX", name)
    monkeypatch.setattr(Conf, "CLUSTER_NAME", name)
    if request.param == "redis":
        monkeypatch.setattr(Conf, "ORM", None)
        monkeypatch.setattr(Conf, "REDIS", REDIS_URL)
    yield Broker(request.param, name)
    if request.param == "redis":
        client = redis.from_url(REDIS_URL)
        keys = client.keys(f"django_q:{name}:*")
        if keys:
            client.delete(*keys)


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
