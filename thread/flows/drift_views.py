"""The flow monitor's drift page (docs/monitoring.md, "Drift"): the findings with their
differences, each checked system's check and its recent runs, and the operators' actions —
re-push, acknowledge, check now. The reads come from drift_selectors, the actions from the
drift services; these views only parse input and render."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from thread.errors import DomainError

from . import drift_check, drift_findings, drift_selectors
from .choices import DriftStatus
from .models import DriftFinding, ExternalSystem
from .monitor_views import (
    DRIFT_OPERATE_PERMISSION,
    DRIFT_VIEW_PERMISSION,
    operator_action_run,
    require,
)

FINDINGS_PER_PAGE = 50
RUNS_SHOWN = 10


def drift_page(request: HttpRequest) -> HttpResponse:
    require(request, DRIFT_VIEW_PERMISSION)
    params = request.GET
    try:
        system_id = int(params.get("system") or 0) or None
    except ValueError:
        system_id = None
    status = params.get("status", DriftStatus.OPEN)
    if status not in (*DriftStatus.values, "all"):
        status = DriftStatus.OPEN
    filters = {"system": system_id or "", "status": status,
               "object": params.get("object", "").strip()}
    findings = drift_selectors.drift_findings_list().select_related("message", "re_push")
    if system_id:
        findings = findings.filter(system_id=system_id)
    if status != "all":
        findings = findings.filter(status=status)
    if filters["object"]:
        findings = drift_selectors.drift_findings_matching(findings, filters["object"])
    page = Paginator(findings.order_by("system__name", "object_key", "object", "field", "id"),
                     FINDINGS_PER_PAGE).get_page(params.get("page"))
    summaries = drift_selectors.system_drift_summaries()
    chosen = next((row for row in summaries if row.system.pk == system_id), None)
    return render(request, "flows/drift.html", {
        **admin.site.each_context(request), "title": "Drift", "is_nav_sidebar_enabled": False,
        "can_operate": request.user.has_perm(DRIFT_OPERATE_PERMISSION), "now": timezone.now(),
        "page": page, "filters": filters,
        "query": urlencode({k: v for k, v in filters.items() if v}),
        "statuses": [*DriftStatus.choices, ("all", "All")], "summaries": summaries,
        "systems": ExternalSystem.objects.filter(pk__in=[r.system.pk for r in summaries])
        .order_by("name").only("id", "name"),
        "runs": drift_selectors.drift_runs(system=chosen.system, limit=RUNS_SHOWN)
        if chosen else [], "chosen": chosen})


ACTIONS = {
    "re-push": ("Re-push", drift_findings.drift_finding_re_push),
    "acknowledge": ("Acknowledge", drift_findings.drift_finding_acknowledge),
}


@require_POST
def finding_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    require(request, DRIFT_OPERATE_PERMISSION)
    if action not in ACTIONS:
        raise Http404("No such action.")
    finding = DriftFinding.objects.filter(pk=pk).first()
    if finding is None:
        raise Http404("No such drift finding.")
    label, operation = ACTIONS[action]
    result = operator_action_run(request, label, operation, finding=finding)
    if result is not None:
        if action == "re-push":
            messages.success(request, f"Re-push: message #{result.pk} is on its way to "
                                      f"{finding.system.name} for {finding.object_key}; every "
                                      "finding of that object is closed as re-pushed.")
        else:
            messages.success(request, f"Acknowledged: {finding}.")
    return redirect(_back(request))


@require_POST
def system_check_now(request: HttpRequest, pk: int) -> HttpResponse:
    """"Check now": one run for the system, in a worker (never inside this request)."""
    require(request, DRIFT_OPERATE_PERMISSION)
    system = ExternalSystem.objects.filter(pk=pk).first()
    if system is None:
        raise Http404("No such system.")
    try:
        drift_check.drift_check_request(system=system)
    except DomainError as exc:
        messages.error(request, f"Check now: not done. {exc}")
    else:
        messages.success(request, f"Check now: a drift check of {system.name} is queued; its "
                                  "run appears below when a worker takes it.")
    return redirect(f"{reverse('flows-monitor:drift')}?system={system.pk}")


def _back(request: HttpRequest) -> str:
    """Back to the drift page as the operator filtered it (only our own query string)."""
    query = request.POST.get("back", "")
    return f"{reverse('flows-monitor:drift')}?{query}" if query and "//" not in query \
        else reverse("flows-monitor:drift")
