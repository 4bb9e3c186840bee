"""The operators' flow monitor (admin pages) and /healthz. The numbers come from the selectors,
the actions from the outbox services; these views only parse input and render."""

from __future__ import annotations

import json
from urllib.parse import urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from thread.errors import DomainError

from . import drift_selectors, operator_actions, outbox, selectors
from .attention import open_attention_items
from .choices import OutboundStatus
from .health import health_report
from .models import ExternalSystem, OutboundMessage

VIEW_PERMISSION = "flows.view_outboundmessage"
OPERATE_PERMISSION = "flows.operate_outboundmessage"
MESSAGES_PER_PAGE = 50

ACTIONS = {
    "retry": ("Retry now", outbox.outbound_message_retry),
    "replay": ("Replay", outbox.outbound_message_replay),
    "replay_confirmed": ("Replay anyway (newer data for this object exists)",
                         lambda **kw: outbox.outbound_message_replay(confirm=True, **kw)),
    "cancel": ("Cancel", outbox.outbound_message_cancel),
}


DRIFT_VIEW_PERMISSION = "flows.view_driftfinding"
DRIFT_OPERATE_PERMISSION = "flows.operate_driftfinding"


def require(request: HttpRequest, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied


def operator_action_run(request: HttpRequest, label: str, operation, **target):
    """Run an operator's action with the reason the form sent; a refusal becomes the page's
    error message. Returns the action's result, or None when it was refused."""
    try:
        return operation(**target, actor=request.user, reason=request.POST.get("reason", ""))
    except DomainError as exc:
        messages.error(request, f"{label}: not done. {exc}")
        return None


def _public_url(url: str) -> str:
    """A base URL as shown to operators: without any user:password part."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        parts = parts._replace(netloc=netloc)
    return urlunsplit(parts)


ATTENTION_SHOWN = 50  # open attention items listed on the monitor (newest first)


def _context(request: HttpRequest, title: str, **extra) -> dict:
    return {**admin.site.each_context(request), "title": title, "is_nav_sidebar_enabled": False,
            "can_operate": request.user.has_perm(OPERATE_PERMISSION), **extra}


def overview(request: HttpRequest) -> HttpResponse:
    require(request, VIEW_PERMISSION)
    now = timezone.now()
    summaries = selectors.system_flow_summaries(now=now)
    for summary in summaries:
        summary.public_url = _public_url(summary.system.base_url)
    limits = {"pending_age_minutes": settings.THREAD_ALERT_PENDING_AGE_MINUTES,
              "failure_window_minutes": settings.THREAD_ALERT_FAILURE_WINDOW_MINUTES,
              "failure_rate_percent": settings.THREAD_ALERT_FAILURE_RATE_PERCENT,
              "failure_min_attempts": settings.THREAD_ALERT_FAILURE_MIN_ATTEMPTS,
              "consecutive_failures": settings.THREAD_ALERT_CONSECUTIVE_FAILURES}
    return render(request, "flows/monitor.html", _context(
        request, "Flow monitor", summaries=summaries, now=now, limits=limits,
        attention=list(open_attention_items(limit=ATTENTION_SHOWN + 1)),
        attention_shown=ATTENTION_SHOWN, drift=drift_selectors.system_drift_summaries(),
        can_operate_drift=request.user.has_perm(DRIFT_OPERATE_PERMISSION),
        drift_url=reverse("flows-monitor:drift"),
        count_cap=f"{selectors.COUNT_CAP:,}", messages_url=reverse("flows-monitor:messages")))


def message_list(request: HttpRequest) -> HttpResponse:
    require(request, VIEW_PERMISSION)
    params = request.GET
    try:
        system_id = int(params.get("system") or 0) or None
    except ValueError:
        system_id = None
    status = params.get("status", "")
    if status not in OutboundStatus.values:
        status = ""
    filters = {"system": system_id or "", "topic": params.get("topic", "").strip(), "status": status,
               "object": params.get("object", "").strip(),
               "correlation_id": params.get("correlation_id", "").strip()}
    queryset = selectors.outbound_messages_monitor(
        system_id=system_id, topic=filters["topic"], status=status, object_key=filters["object"],
        correlation_id=filters["correlation_id"])
    page = Paginator(queryset, MESSAGES_PER_PAGE).get_page(params.get("page"))
    query = urlencode({k: v for k, v in filters.items() if v})
    return render(request, "flows/messages.html", _context(
        request, "Outbound messages", page=page, filters=filters, query=query,
        systems=ExternalSystem.objects.order_by("name").only("id", "name"),
        statuses=OutboundStatus.choices))


def message_page(request: HttpRequest, pk: int) -> HttpResponse:
    require(request, VIEW_PERMISSION)
    message = selectors.outbound_message_detail().filter(pk=pk).first()
    if message is None:
        raise Http404("No such outbound message.")
    actions = [(name, ACTIONS[name][0]) for name in selectors.outbound_message_actions(message)]
    return render(request, "flows/message.html", _context(
        request, f"Message #{message.pk}", message=message,
        payload=json.dumps(message.payload, indent=2, ensure_ascii=False),
        cause=selectors.object_link(message.cause_type, message.cause_id),
        about=selectors.object_link(message.about_type, message.about_id),
        actions=actions))


@require_POST
def message_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    require(request, OPERATE_PERMISSION)
    if action not in ACTIONS:
        raise Http404("No such action.")
    message = OutboundMessage.objects.filter(pk=pk).first()
    if message is None:
        raise Http404("No such outbound message.")
    label, operation = ACTIONS[action]
    if operator_action_run(request, label, operation, message=message) is not None:
        messages.success(request, f"{label}: done for message #{message.pk}.")
    return redirect("flows-monitor:message", pk=pk)


@require_POST
def system_retry_waiting(request: HttpRequest, pk: int) -> HttpResponse:
    """Retry now every waiting message of one system (after the peer came back)."""
    require(request, OPERATE_PERMISSION)
    system = ExternalSystem.objects.filter(pk=pk).first()
    if system is None:
        raise Http404("No such system.")
    try:
        count = operator_actions.system_messages_retry_now(system=system, actor=request.user,
                                                   reason=request.POST.get("reason", ""))
    except DomainError as exc:
        messages.error(request, f"Retry now: not done. {exc}")
    else:
        messages.success(request, f"Retry now: {count} waiting message(s) of {system.name}.")
    return redirect("flows-monitor:overview")


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """For load balancers: 200 when this Thread can work, else 503 with the failing checks."""
    report = health_report()
    return JsonResponse({"status": "ok" if report.healthy else "unavailable",
                         "checks": report.checks}, status=200 if report.healthy else 503)
