"""An operator connects a new InvenTree in a real headless Chromium: the external system's add
form, filled in once (connector, URL, credential name, options, drift settings), keeps every
field, and "Test connection" reaches the server (a local one answering as InvenTree's API does).
(Same browser set-up and skip rules as test_monitoring.py.)"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connections

from thread.core.roles import setup_roles
from thread.flows.models import ExternalSystem

from ..support.inventree_fake import InvenTreeFake
from .conftest import PASSWORD, login

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def operator(live_server, monkeypatch):
    setup_roles()
    monkeypatch.setenv("INVENTREE_TOKEN", "inv-browser")
    user = get_user_model().objects.create_user("operator", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name="operator"))
    with InvenTreeFake(token="inv-browser") as fake:
        yield {"url": live_server.url, "fake": fake, "category": fake.add_category("From Thread")}


def test_a_new_inventree_system_keeps_what_its_add_form_said(page, operator):
    try:
        scenario(page, operator)
    finally:
        connections.close_all()


def scenario(page, operator) -> None:
    login(page, operator["url"], "operator", "/admin/flows/externalsystem/add/")
    page.fill("#id_name", "InvenTree Berlin")
    page.select_option("#id_kind", "erp")
    page.select_option("#id_connector", "inventree")
    page.fill("#id_base_url", operator["fake"].url)
    page.fill("#id_credential_name", "INVENTREE_TOKEN")
    page.fill("#id_connector_options", f'{{"category": {operator["category"]}, "plant": "BER"}}')
    page.fill("#id_drift_check_every_minutes", "30")
    page.fill("[name=reason]", "Berlin runs InvenTree as its ERP")
    page.click("input[name=_continue]")
    assert "was added successfully" in page.locator(".messagelist").inner_text()
    system = ExternalSystem.objects.get(name="InvenTree Berlin")
    assert (system.connector, system.base_url, system.credential_name) == (
        "inventree", operator["fake"].url, "INVENTREE_TOKEN")
    assert system.connector_options == {"category": operator["category"], "plant": "BER"}
    assert (system.drift_check_enabled, system.drift_check_every_minutes) == (True, 30)
    assert system.history.get().history_change_reason == "Berlin runs InvenTree as its ERP"
    page.get_by_role("button", name="Test connection").click()
    assert "connection OK" in page.locator(".messagelist").inner_text()
