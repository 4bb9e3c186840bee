"""The claim on SQLite (the demo database): two processes, each with its own connection to one
database file, claim from the same outbox at the same time; every message goes to exactly one."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from bench.rig import BASE_DIR

SEED = """
from django.contrib.auth.models import Group
from django.db import transaction
from thread.flows import outbox, services
system = services.system_create(name="ERP", kind="erp", actor=None, reason="sqlite test")
about = Group.objects.create(name="object")
with transaction.atomic():
    for n in range(300):
        outbox.outbound_message_write(system=system, topic=f"t{n // 150}", payload={"n": n}, about=about,
                                      cause=None, ordering_key=f"k{n % 150}")
"""

CLAIM = """
import json, os, pathlib, time
from thread.flows import delivery
from thread.flows.models import OutboundMessage
# A barrier, not a start time: under load one interpreter may take seconds longer to start,
# and the test is about both claiming at once.
barrier = pathlib.Path(os.environ["BARRIER_DIR"])
(barrier / str(os.getpid())).touch()
deadline = time.time() + 60
while len(list(barrier.iterdir())) < 2 and time.time() < deadline:
    time.sleep(0.001)
mine, idle = [], 0
while idle < 20:
    batch = delivery.claim(limit=7)
    if batch:
        mine += [m.pk for m in batch]
        # No lock is held while a drainer sends: this pause stands for the peer's answer. Without
        # it, one process can take every batch while SQLite's busy handler keeps the other asleep.
        time.sleep(0.02)
        # finish them, so the next message of each object becomes claimable
        OutboundMessage.objects.filter(pk__in=[m.pk for m in batch]).update(status="delivered")
        idle = 0
    else:
        idle += 1
        time.sleep(0.01)
print(json.dumps(mine))
"""


@pytest.mark.slow
def test_two_connections_never_claim_the_same_message_on_sqlite(tmp_path):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.test_settings",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}", "REDIS_URL": ""}

    def manage(*args: str, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env,
                              capture_output=True, text=True, timeout=120, check=True, **kwargs)

    manage("migrate", "-v0")
    manage("shell", "-c", SEED)
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    claim_env = {**env, "BARRIER_DIR": str(barrier)}  # both start claiming at once
    claimers = [subprocess.Popen([sys.executable, "manage.py", "shell", "-c", CLAIM],
                                 cwd=BASE_DIR, env=claim_env, stdout=subprocess.PIPE, text=True)
                for _ in range(2)]
    claimed = [json.loads(p.communicate(timeout=120)[0].strip().splitlines()[-1]) for p in claimers]
    assert all(p.returncode == 0 for p in claimers)
    first, second = map(set, claimed)
    assert first and second, "both connections claimed"
    assert not first & second
    assert len(claimed[0]) + len(claimed[1]) == 300
