"""The demo runs on SQLite: ECO-1001's impact and release there (where-used has a portable
query for SQLite, which has no LATERAL joins and no arrays). A separate database file, so this
test runs the demo's own commands in subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]

RELEASE = """
import json
from django.contrib.auth import get_user_model
from thread.changes import services
from thread.changes.models import ChangeOrder
from thread.changes.impact import change_order_impact
admin = get_user_model().objects.get(username="admin")
eco = ChangeOrder.objects.get(number="ECO-1001")
impact = change_order_impact(change_order=eco)
services.change_order_approve_my_stages(change_order=eco, actor=admin, comment="sqlite test")
services.change_order_release(change_order=eco, actor=admin, reason="sqlite test")
eco.refresh_from_db()
print(json.dumps({"status": eco.status,
                  "top_level": list(impact.items[0].where_used.top_level),
                  "details": eco.events.get(kind="released").details}))
"""


@pytest.mark.slow
def test_the_demo_change_order_is_released_on_sqlite(tmp_path):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "1",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}", "REDIS_URL": "",
           "THREAD_VAR_DIR": str(tmp_path), "THREAD_SANDBOX": "1"}

    def manage(*args: str) -> str:
        done = subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    manage("migrate", "-v0")
    manage("seed_demo")
    result = json.loads(manage("shell", "-c", RELEASE).strip().splitlines()[-1])
    assert result["status"] == "released"
    assert result["top_level"] == ["BK-100"]
    details = result["details"]
    assert sorted((m["plant"], m["mbom"]) for m in details["mboms"]) == [
        ("BER", "BK-100 rev B"), ("BER", "MT-500 rev B"),
        ("CLT", "BK-100 rev B"), ("CLT", "MT-500 rev B")]
    assert (details["messages"], details["flags"]) == (2, 4)
    assert details["production_orders_resolved"] == ["1000456", "1000457", "1000458"]
    # The superseded guard holds every work order whose mBOM version the release replaced —
    # this week's 1000458 too: a plant's current mBOM version is not date-effective.
    assert sorted(details["work_orders_held"]) == ["1000456", "1000457", "1000458"]
