"""The impact page (a fixed number of queries) and the flag actions in the admin."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from thread.changes.flags import impact_flags_raise
from thread.changes.impact import change_order_impact
from thread.changes.models import ImpactFlag

from .test_impact import orders  # noqa: F401  (the fixture)


def login(role: str) -> Client:
    user = get_user_model().objects.create_user(f"{role}-admin", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    client = Client()
    client.force_login(user)
    client.user = user
    return client


def test_the_impact_page(orders, eco, roles, django_assert_num_queries):  # noqa: F811
    client = login("auditor")
    url = reverse("admin:changes_impact", args=[eco.pk])
    client.get(url)  # warm the session and the content types
    # session, user, user and group permissions, the change order; the impact's seven; the
    # flags; the flow-alert banner's two (the systems, their recent attempts)
    with django_assert_num_queries(15):
        response = client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    for text in ("Impact of ECO-1", "4500001", "1000002", "removed_component", "(-7 days)",
                 "built from MT-500", "BK-100 (top)"):
        assert text in page, text


def test_flags_are_acknowledged_and_resolved_from_the_list(orders, eco, roles):  # noqa: F811
    impact_flags_raise(change_order=eco, impact=change_order_impact(change_order=eco),
                       actor=None, reason="release")
    client = login("change manager")
    url = reverse("admin:changes_impactflag_changelist")
    ids = [str(pk) for pk in ImpactFlag.objects.values_list("pk", flat=True)]
    for action, note in (("acknowledge_selected", "Planner informed"),
                         ("resolve_selected", "Orders adjusted")):
        response = client.post(url, {"action": action, "_selected_action": ids,
                                     "reason": note})
        assert response.status_code == 302
    assert set(ImpactFlag.objects.values_list("status", "resolution_note")) == {
        ("resolved", "Orders adjusted")}
    response = client.post(url, {"action": "acknowledge_selected", "_selected_action": ids[:1],
                                 "reason": ""}, follow=True)
    assert "A reason is required" in response.content.decode()
    assert login("auditor").get(url).status_code == 200


def test_a_flag_page_offers_its_steps_not_a_save(orders, eco, roles):  # noqa: F811
    [flag, *_] = impact_flags_raise(change_order=eco, impact=change_order_impact(
        change_order=eco), actor=None, reason="release")
    client = login("change manager")
    url = f"/admin/changes/impactflag/{flag.pk}/change/"
    page = client.get(url).content.decode()
    assert 'name="_save"' not in page and 'name="_continue"' not in page
    steps = page.split('id="flag-steps"')[1].split("</div>\n  </div>")[0]
    assert ">Acknowledge<" in steps and ">Resolve<" not in steps  # only the next step
    assert 'id="flag-steps"' not in login("auditor").get(url).content.decode()
    history = flag.history.count()
    assert client.post(url, {}).status_code == 403  # a save posted anyway changes nothing
    assert flag.history.count() == history
    refused = client.post(f"/admin/changes/impactflag/{flag.pk}/acknowledge/", {"note": ""},
                          follow=True)
    assert "A reason is required" in refused.content.decode()
    flag.refresh_from_db()
    assert flag.status == "open"
    client.post(f"/admin/changes/impactflag/{flag.pk}/acknowledge/",
                {"note": "Buyer informed"}, follow=True)
    flag.refresh_from_db()
    assert (flag.status, flag.acknowledge_note) == ("acknowledged", "Buyer informed")
    assert flag.history.first().history_change_reason == "Buyer informed"
