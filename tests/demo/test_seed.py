import os
import subprocess
import sys
from pathlib import Path

from django.contrib.auth.models import Group

from thread.catalog.models import Part, Plant, UnitOfMeasure
from thread.changes.models import ChangeOrder
from thread.demo.product import PARTS
from thread.demo.seed import seed_demo
from thread.flows.models import ExternalSystem

ROOT = Path(__file__).resolve().parents[2]


def test_demo_seed_is_complete_and_rerunnable(db):
    first = seed_demo()
    # + MT-511, the new motor that arrives with ECO-1001's eBOM
    assert Part.objects.count() == len(PARTS) + 1 >= 200
    assert set(UnitOfMeasure.objects.values_list("code", flat=True)) >= {"pcs", "m", "mm", "kg"}
    assert sorted(Plant.objects.values_list("time_zone", flat=True)) == [
        "America/New_York", "Europe/Berlin"]
    assert set(ExternalSystem.objects.values_list("kind", flat=True)) == {"plm", "erp", "mes"}
    assert set(first.new_keys) == {"PLM", "ERP", "MES"}
    assert set(Group.objects.values_list("name", flat=True)) == {
        "analyst", "change manager", "operator", "auditor", "quality", "process engineering"}
    assert ChangeOrder.objects.get(number="ECO-1001").status == "in_review"
    again = seed_demo()
    assert (again.created, again.new_keys) == ({}, {})
    assert Part.objects.count() == len(PARTS) + 1


def test_production_settings_refuse_to_start_without_a_secret_key():
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG")}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    result = subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "SECRET_KEY is required when DEBUG is off." in result.stderr


def test_each_demo_role_user_logs_in_and_sees_what_the_group_may(db, client):
    seed_demo()
    rules_page = "/admin/bom/mappingruleset/"
    for username, may_add_rules in [("analyst", True), ("analyst2", True),
                                    ("change-manager", False), ("quality", False),
                                    ("operator", False), ("auditor", False)]:
        assert client.login(username=username, password=username), username
        page = client.get(rules_page)
        assert page.status_code == 200, username  # every role reads everything
        assert (f'href="{rules_page}add/"' in page.content.decode()) is may_add_rules, username
        client.logout()
    client.login(username="auditor", password="auditor")
    assert client.get("/admin/catalog/part/add/").status_code == 403  # changes nothing
    client.logout()
    client.login(username="change-manager", password="change-manager")
    assert client.get("/admin/catalog/part/add/").status_code == 200
