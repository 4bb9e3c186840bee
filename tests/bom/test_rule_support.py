"""Fixtures and helpers of the rule-set tests (no tests here): a plant with a few parts,
analysts, drafts, an admin form reader. Test modules take the fixtures with a star import."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client

from thread.bom.rules import services
from thread.bom.rules.services import RuleInput
from thread.catalog import services as catalog

SUBSTITUTE_TUBE = RuleInput(order=10, name="Alternate tube", action="substitute",
                            condition={"field": "part", "op": "eq", "value": "TB-310"},
                            params={"part": "TB-310-ALT"})
EXCLUDE_DOCS = RuleInput(order=20, name="No documents", action="exclude",
                         condition={"field": "item_type", "op": "eq", "value": "document"})
TUBES_IN_M = RuleInput(order=30, name="Tubes in m", action="convert_unit",
                       condition={"field": "part", "op": "glob", "value": "TB-*"},
                       params={"unit": "m", "round_up_to_multiple": "0.01"})


@pytest.fixture
def plant(units):
    plant = catalog.plant_create(code="BER", name="Berlin", time_zone="Europe/Berlin", actor=None,
                                 reason="t")
    for number, unit in (("TB-310", "m"), ("TB-310-ALT", "m"), ("PK-100", "pcs")):
        catalog.part_create(number=number, name=number, base_unit=units[unit], actor=None,
                            reason="t", make_or_buy="buy")
    return plant


def make_user(name: str, role: str):
    user = get_user_model().objects.create_user(name, password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def alice(roles):
    return make_user("alice", "analyst")


@pytest.fixture
def bob(roles):
    return make_user("bob", "analyst")


@pytest.fixture
def carol(roles):
    return make_user("carol", "change manager")


@pytest.fixture
def rule_set(plant, alice):
    return services.rule_set_create(plant=plant, name="Berlin rules", actor=alice,
                                    reason="Set up Berlin")


def draft_of(rule_set):
    return rule_set.versions.get(status__in=["draft", "pending_approval"])


def fill(version, actor, *rules, reason="Add rules"):
    version.refresh_from_db()
    return services.rule_set_draft_edit(version=version, lock_version=version.lock_version,
                                        actor=actor, reason=reason, add=list(rules))


def published(rule_set, actor, *rules):
    """Fill the open draft with `rules` and publish it."""
    draft = fill(draft_of(rule_set), actor, *rules)
    return services.rule_set_version_publish(version=draft, actor=actor, reason="Go live")


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    client.user = user
    return client


class _FormFields(HTMLParser):
    """The fields a browser would submit from the page's main form (id ending in _form)."""

    def __init__(self, form_id: str):
        super().__init__()
        self.form_id, self.inside, self.data = form_id, False, {}
        self._textarea = self._select = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        if not self.inside or ("name" not in a and tag != "option"):
            return
        if tag == "input" and a.get("type") not in ("submit", "button", "file"):
            if a.get("type") == "checkbox":
                if "checked" in a:
                    self.data[a["name"]] = a.get("value", "on")
            else:
                self.data[a["name"]] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = a["name"]
            self.data[a["name"]] = ""
        elif tag == "select":
            self._select = a["name"]
        elif tag == "option" and self._select and "selected" in a:
            self.data[self._select] = a.get("value", "")

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea] += data.lstrip("\n") if not self.data[self._textarea] else data


def form_data(response, form_id: str = "mappingrulesetversion_form") -> dict:
    parser = _FormFields(form_id)
    parser.feed(response.content.decode())
    return parser.data
