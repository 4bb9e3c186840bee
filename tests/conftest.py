"""Shared fixtures: units, systems with keys, API clients acting as a system or a person."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from bench.rig import redis_queue_delete
from thread.catalog import services as catalog
from thread.core.roles import setup_roles
from thread.flows import services as flows

from . import queues

_keys = itertools.count(1)


@pytest.fixture(scope="session", autouse=True)
def run_queue():
    """With REDIS_URL set, the tasks the tests enqueue (the drain after each commit) go to a
    queue of this run's own on that Redis, deleted at the end: no queue is left behind and no
    other user of the server is touched. On the ORM broker they die with the test database."""
    from django_q.conf import Conf

    if Conf.ORM or not Conf.REDIS:
        yield
        return
    saved = Conf.PREFIX, Conf.CLUSTER_NAME, Conf.Q_STAT
    name = queues.queue_name("thread-run")
    Conf.PREFIX = Conf.CLUSTER_NAME = name
    Conf.Q_STAT = f"django_q:{name}:cluster"
    try:
        yield
    finally:
        Conf.PREFIX, Conf.CLUSTER_NAME, Conf.Q_STAT = saved
        redis_queue_delete(name, Conf.REDIS)


@pytest.fixture
def units(db):
    table = {}
    for code, name, dimension, factor in [
        ("pcs", "pieces", "count", "1"), ("m", "metre", "length", "1"),
        ("mm", "millimetre", "length", "0.001"), ("kg", "kilogram", "mass", "1"),
        ("g", "gram", "mass", "0.001"),
    ]:
        table[code] = catalog.unit_create(code=code, name=name, dimension=dimension,
                                          factor=Decimal(factor), actor=None, reason="test units")
    return table


class SystemClient(APIClient):
    """An API client authenticated as an external system. `push` adds a fresh Idempotency-Key
    unless one is given."""

    def __init__(self, system, raw_key, **kwargs):
        super().__init__(**kwargs)
        self.system = system
        self.raw_key = raw_key
        self.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")

    def push(self, path, data, key=None, method="post", **extra):
        key = key or f"key-{next(_keys)}"
        return getattr(self, method)(path, data, format="json", HTTP_IDEMPOTENCY_KEY=key, **extra)


def make_system_client(name, kind):
    system = flows.system_create(name=name, kind=kind, actor=None, reason="test system")
    issued = flows.api_key_issue(system=system, actor=None, reason="test key")
    return SystemClient(system, issued.raw_key)


@pytest.fixture
def plm(db):
    return make_system_client("PLM test", "plm")


@pytest.fixture
def erp(db):
    return make_system_client("ERP test", "erp")


@pytest.fixture
def mes(db):
    return make_system_client("MES test", "mes")


@pytest.fixture
def roles(db):
    setup_roles()


@pytest.fixture
def person(db, roles):
    """A logged-in person in the given role group: person("auditor")."""

    def make(role: str):
        user = get_user_model().objects.create_user(f"{role.replace(' ', '-')}-user",
                                                    password="pw", is_staff=True)
        user.groups.add(Group.objects.get(name=role))
        client = APIClient(enforce_csrf_checks=True)
        client.force_login(user)
        client.csrf_token = "c" * 32  # as the browser would echo the admin's csrftoken cookie
        client.user = user
        return client

    return make


def problem(response) -> dict:
    """Assert the response is a problem-details body and return it."""
    assert response["Content-Type"].startswith("application/problem+json"), response.content
    body = response.json()
    assert body["status"] == response.status_code
    assert body["type"].startswith("/problems/")
    return body


@pytest.fixture
def numbered_parts(units):
    """numbered_parts(n): parts P-0000… with a draft revision A each, alternating pcs and m."""

    def make(count):
        for i in range(count):
            part = catalog.part_create(number=f"P-{i:04}", name=f"Part {i}",
                                       base_unit=units["pcs" if i % 2 else "m"], actor=None,
                                       reason="fixture")
            catalog.revision_create(part=part, label="A", actor=None, reason="fixture")

    return make
