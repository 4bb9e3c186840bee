"""The human roles (Django groups) and what each may do. `manage.py setup_thread` applies this;
later apps add their permissions here, so the roles stay one readable table."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db import transaction

THREAD_APPS = ("catalog", "bom", "changes", "orders", "feedback", "flows")

# Every role reads everything in Thread's apps (history included); these are the extra rights.
ROLE_EXTRA_PERMISSIONS: dict[str, list[str]] = {
    "analyst": [
        "catalog.change_plantpart", "catalog.add_plantpart",
        "catalog.add_partunitconversion", "catalog.change_partunitconversion",
        # how people and systems write units: aliases, each system's own unit codes
        "catalog.add_unitalias", "catalog.change_unitalias", "catalog.delete_unitalias",
        "catalog.add_systemunitcode", "catalog.change_systemunitcode",
        "catalog.delete_systemunitcode",
        "bom.add_ebom",  # the eBOM import (CSV/XLSX) in the admin
        # mapping rule sets: edit drafts, publish or request approval, approve others' work
        "bom.add_mappingruleset", "bom.change_mappingruleset",
        "bom.change_mappingrulesetversion", "bom.add_mappingrule", "bom.change_mappingrule",
        "bom.delete_mappingrule", "bom.publish_mappingrulesetversion",
        "bom.approve_mappingrulesetversion",
        "bom.generate_mbom",  # re-apply the rules in force to a product, without a publish
        # a work order superseded by a change order (send as resolved or re-resolve), or an
        # ERP change that came after the MES started it (send or keep)
        "orders.decide_workorder",
        # when engineering hears of a revision's results at once (yield, run time)
        "feedback.add_feedbackthreshold", "feedback.change_feedbackthreshold",
        "feedback.delete_feedbackthreshold",
    ],
    "change manager": [
        "catalog.add_part", "catalog.change_part",
        "catalog.add_partrevision", "catalog.change_partrevision",
        "catalog.release_partrevision",
        "bom.add_ebom",
        # four-eyes is about a second person, not a second role
        "bom.approve_mappingrulesetversion",
        "bom.generate_mbom",
        # change orders: create and run them, release them; approval rights come from the
        # groups of each approval stage (thread.changes), not from a permission
        "changes.add_changeorder", "changes.change_changeorder",
        "changes.release_changeorder", "changes.add_affecteditem",
        "changes.change_affecteditem", "changes.delete_affecteditem",
        "changes.add_changeordertype", "changes.change_changeordertype",
        "changes.add_approvalstage", "changes.change_approvalstage",
        "changes.delete_approvalstage",
        # the change's impact on open orders: acknowledge and resolve its flags
        "changes.change_impactflag",
    ],
    # approves the quality stage of change orders (through the stage's groups); reads the rest
    "quality": [
        "feedback.acknowledge_qualityevent",  # quality has seen a defect the MES reported
    ],
    "operator": [
        "flows.add_externalsystem", "flows.change_externalsystem",
        "flows.change_apikey",
        "flows.operate_outboundmessage",  # retry, replay, cancel outbound messages
        "flows.operate_driftfinding",  # re-push or acknowledge what a peer changed by hand
        "changes.add_plmsettings", "changes.change_plmsettings",  # "approvals done in the PLM"
        "orders.rebuild_workorder",  # a held work order whose cause was fixed elsewhere
    ],
    "auditor": [],
    # how parts are made at each plant: work centers, routings (drafts, release), and the
    # work orders held back from the MES (rebuild once the cause is fixed)
    "process engineering": [
        "orders.add_workcenter", "orders.change_workcenter",
        "orders.add_routing", "orders.change_routing",
        "orders.change_routingversion", "orders.release_routingversion",
        "orders.add_routingoperation", "orders.change_routingoperation",
        "orders.delete_routingoperation",
        "orders.rebuild_workorder", "orders.decide_workorder",
    ],
}


def _permissions(names: list[str]) -> list[Permission]:
    wanted = {tuple(name.split(".", 1)) for name in names}
    found = [p for p in Permission.objects.select_related("content_type").filter(
        content_type__app_label__in={a for a, _ in wanted}) if
        (p.content_type.app_label, p.codename) in wanted]
    missing = wanted - {(p.content_type.app_label, p.codename) for p in found}
    if missing:
        raise LookupError(f"permissions not found: {sorted(missing)}")
    return found


def setup_roles() -> dict[str, int]:
    """Create or refresh the role groups; returns permission counts per role."""
    view_all = list(Permission.objects.filter(content_type__app_label__in=THREAD_APPS,
                                              codename__startswith="view_"))
    counts = {}
    with transaction.atomic():
        for role, extra in ROLE_EXTRA_PERMISSIONS.items():
            group, _ = Group.objects.get_or_create(name=role)
            group.permissions.set([*view_all, *_permissions(extra)])
            counts[role] = group.permissions.count()
    return counts
