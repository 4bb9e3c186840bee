"""Every admin change form renders every field it requires: a field that a POST test supplies
but the page never draws (the rule edit that could not be saved in a browser) fails here, for
every registered model, on the demo's data."""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.staticfiles import finders

from thread.bom.models import MappingRuleSet
from thread.bom.rules import services as rules
from thread.demo.seed import seed_demo

pytestmark = pytest.mark.django_db

THREAD_APPS = {"catalog", "bom", "changes", "orders", "flows", "sandbox"}


def drawn_names(html: str, model_name: str) -> set[str]:
    """The inputs inside the change form itself: an input of the same name in another form on
    the page (a workflow button's reason box) is not sent with a save."""
    start = html.index(f'id="{model_name}_form"')
    form = html[start:html.index("</form>", start)]
    return set(re.findall(r'<(?:input|select|textarea)[^>]*\sname="([^"]+)"', form))


def test_every_change_form_draws_the_fields_it_requires(client):
    seed_demo()
    # an editable rule-set version too: a draft, as an analyst has one open
    rules.rule_set_draft_start(rule_set=MappingRuleSet.objects.order_by("pk").first(), actor=None,
                               reason="a draft to edit")
    client.force_login(get_user_model().objects.create_superuser("checker", password="x"))
    checked = 0
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        urls = []
        if model_admin.has_add_permission(_request(client)):
            urls.append(f"/admin/{opts.app_label}/{opts.model_name}/add/")
        # the oldest and the newest row: often one released or published, one still editable
        for obj in {model._default_manager.order_by(order).first() for order in ("pk", "-pk")}:
            if obj is not None:
                urls.append(f"/admin/{opts.app_label}/{opts.model_name}/{obj.pk}/change/")
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, url
            if "adminform" not in response.context:
                continue
            form = response.context["adminform"].form
            required = {name for name, field in form.fields.items() if field.required
                        and not field.disabled}
            editable = response.context.get("has_change_permission") or url.endswith("add/")
            if not editable:
                continue
            drawn = drawn_names(response.content.decode(), opts.model_name)
            # a multi-widget field (date and time) draws name_0, name_1
            missing = {name for name in map(form.add_prefix, required)
                       if name not in drawn and f"{name}_0" not in drawn}
            assert not missing, f"{url} requires {sorted(missing)} but does not draw them"
            # each input once: a field drawn twice is sent twice, and the last (empty) one wins
            html = response.content.decode()
            form_html = html[html.index(f'id="{opts.model_name}_form"'):]
            form_html = form_html[:form_html.index("</form>")]
            names = re.findall(r'<(?:textarea|select)[^>]*\sname="([^"]+)"', form_html)
            twice = sorted({n for n in names if names.count(n) > 1})
            assert not twice, f"{url} draws {twice} twice"
            # Thread's own pages: a page that saves asks why (history records it)
            if opts.app_label in THREAD_APPS and 'name="_save"' in response.content.decode():
                assert "reason" in required, f"{url} saves without asking for a reason"
            checked += 1
    assert checked > 20


def _request(client):
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = get_user_model().objects.get(username="checker")
    return request


def test_history_shows_a_reference_set_for_the_first_time_as_a_dash(client, units):
    from thread.catalog import services as catalog

    releaser = get_user_model().objects.create_superuser("releaser", password="x")
    part = catalog.part_create(number="FR-1", name="Frame", base_unit=units["pcs"], actor=None,
                               reason="t")
    revision = catalog.revision_create(part=part, label="A", actor=None, reason="t")
    catalog.revision_release(revision=revision, actor=releaser, reason="Design review passed")
    client.force_login(releaser)
    page = client.get(f"/admin/catalog/partrevision/{revision.pk}/history/").content.decode()
    assert "Deleted user" not in page
    released_by = re.search(r"<strong>Released by:</strong>(.*?)</li>", page, re.S).group(1)
    assert re.sub(r"(&nbsp;|\s)+", " ", released_by).strip() == "— &rarr; releaser"


def test_the_api_docs_load_their_assets_from_the_project(client, settings):
    for page in ("/api/docs/", "/api/redoc/"):
        html = client.get(page).content.decode()
        assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', html)
        assert assets and all(a.startswith(settings.STATIC_URL) for a in assets), (page, assets)
        for asset in assets:  # shipped with the project (collectstatic serves them)
            assert finders.find(asset.removeprefix(settings.STATIC_URL)), asset


def test_the_home_page_says_where_each_role_starts(client, roles):
    anonymous = client.get("/").content.decode()
    assert "Log in" in anonymous
    auditor = get_user_model().objects.create_user("aud", password="x", is_staff=True)
    auditor.groups.add(Group.objects.get(name="auditor"))
    client.force_login(auditor)
    page = client.get("/").content.decode()
    assert 'data-role="auditor"' in page and 'data-role="analyst"' not in page
    assert 'href="/"' in client.get("/admin/").content.decode()  # "View site" leads home
    problems = client.get("/problems/").content.decode()
    assert "Django administration" not in problems and "Thread" in problems
