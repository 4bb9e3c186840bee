"""Thread's home page: where each kind of user starts."""

from __future__ import annotations

from django.contrib import admin
from django.shortcuts import render

# What each role group does first, as links (URL, label); a person sees their groups' rows.
STARTS = {
    "analyst": [("admin:bom_mappingruleset_changelist", "Mapping rule sets: edit a draft, preview it, "
                                                         "compare it with the published version"),
                ("admin:bom_mbom_preview", "Preview mBOMs of a product"),
                ("admin:bom_mbom_generate", "Generate an mBOM now")],
    "change manager": [("admin:changes_changeorder_changelist", "Change orders: review, approve, "
                                                                 "release"),
                       ("admin:changes_impactflag_changelist", "Impact flags on open orders")],
    "quality": [("admin:changes_changeorder_changelist", "Change orders waiting for your stage")],
    "operator": [("flows-monitor:overview", "The flow monitor: what reached each system"),
                 ("admin:flows_externalsystem_changelist", "External systems and their keys")],
    "auditor": [("admin:changes_changeorder_changelist", "Change orders and their events"),
                ("admin:bom_mappingrulesetversion_changelist", "Rule-set versions and who "
                                                                "published them (History)"),
                ("admin:bom_releasegeneration_changelist", "What each release did at each plant"),
                ("flows-monitor:overview", "The flow monitor")],
}


def home(request):
    """Links by role; the admin's "View site" leads here."""
    user = request.user
    groups = set(user.groups.values_list("name", flat=True)) if user.is_authenticated else set()
    if user.is_authenticated and user.is_superuser:
        groups = set(STARTS)
    starts = [(role, links) for role, links in STARTS.items() if role in groups]
    return render(request, "home.html", {**admin.site.each_context(request), "title": "Thread",
                                         "starts": starts, "all_starts": STARTS.items()})
