"""The simulated peers' endpoints and the sandbox page."""

from __future__ import annotations

import time

from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from thread.errors import DomainError

from . import mes_reports, selectors, services
from .choices import FaultMode, PeerName
from .forms import PeerSwitchForm
from .models import MAX_SLOW_SECONDS

REQUESTS_PER_PAGE = 50


@csrf_exempt
def peer_endpoint(request: HttpRequest, peer: str, rest: str) -> HttpResponse:
    """Any method on /sandbox/<peer>/<anything>: what a real peer's API would receive. No
    session, no CSRF: Thread's connectors call it like any external system."""
    answer = services.sandbox_request_receive(
        peer=peer, method=request.method, path=request.path, headers=dict(request.headers),
        body=request.body)
    if answer.delay_seconds:
        # Committed already: the request was applied; only the answer is late.
        time.sleep(min(answer.delay_seconds, MAX_SLOW_SECONDS))
    response = JsonResponse(answer.body, status=answer.status)
    for name, value in answer.headers.items():
        response[name] = value
    return response


def sandbox_page(request: HttpRequest) -> HttpResponse:
    peer_filter = request.GET.get("peer", "")
    if peer_filter not in PeerName.values:
        peer_filter = ""
    page = Paginator(selectors.sandbox_requests(peer=peer_filter), REQUESTS_PER_PAGE) \
        .get_page(request.GET.get("page"))
    peers = selectors.sandbox_peers()
    for peer in peers:
        peer.form = PeerSwitchForm(initial={
            "fault": peer.fault, "fault_topic": peer.fault_topic,
            "retry_after_seconds": peer.retry_after_seconds, "slow_seconds": peer.slow_seconds},
            auto_id=f"id_{peer.name}_%s")
    return render(request, "sandbox/index.html", {
        **admin.site.each_context(request), "title": "Sandbox peers (demo only)",
        "is_nav_sidebar_enabled": False,
        "peers": peers, "page": page, "peer_filter": peer_filter,
        "peer_choices": PeerName.choices, "faults": FaultMode,
        "reportable": list(mes_reports.reportable_work_orders()[:200]),
    })


@require_POST
def sandbox_switch(request: HttpRequest, peer: str) -> HttpResponse:
    form = PeerSwitchForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Not switched: {form.errors.as_text()}")
        return redirect("sandbox:page")
    data = form.cleaned_data
    try:
        switch = services.sandbox_peer_switch(
            peer=peer, fault=data["fault"], actor=request.user, fault_topic=data["fault_topic"],
            retry_after_seconds=data["retry_after_seconds"], slow_seconds=data["slow_seconds"])
    except DomainError as exc:
        messages.error(request, f"Not switched: {exc}")
        return redirect("sandbox:page")
    messages.success(request, f"Sandbox {switch.get_name_display()} is now: "
                              f"{switch.get_fault_display()}"
                              + (f" ({switch.fault_topic})" if switch.fault_topic else "") + ".")
    return redirect("sandbox:page")


@require_POST
def mes_report(request: HttpRequest) -> HttpResponse:
    """Queue the sandbox MES's report on one work order (a worker sends it to Thread's API)."""
    work_order = mes_reports.reportable_work_orders().filter(
        pk=request.POST.get("work_order") or 0).first()
    if work_order is None:
        messages.error(request, "No such work order at the MES.")
        return redirect("sandbox:page")
    try:
        mes_reports.mes_report_request(work_order=work_order)
    except DomainError as exc:
        messages.error(request, f"Not reported: {exc}")
    else:
        messages.success(request, f"The sandbox MES reports on work order {work_order.number} "
                                  "as soon as a worker takes it.")
    return redirect("sandbox:page")
