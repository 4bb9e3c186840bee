"""Reads of drift (docs/monitoring.md, "Drift"): the findings, and each checked system's drift
at a glance — its open findings and where its check stands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from .choices import DriftRunState, DriftStatus
from .drift_check import drift_checked_systems, run_summary
from .models import DriftCheckRun, DriftFinding, ExternalSystem


def drift_findings_list() -> QuerySet[DriftFinding]:
    return DriftFinding.objects.select_related("system").order_by("-id")


def drift_findings_matching(findings: QuerySet[DriftFinding], text: str) -> QuerySet[DriftFinding]:
    """Findings whose object key or object contains `text` (BK-100: every finding of the bike)."""
    return findings.filter(Q(object_key__icontains=text) | Q(object__icontains=text))


def drift_finding_detail() -> QuerySet[DriftFinding]:
    return drift_findings_list().select_related("message", "re_push")


def open_drift_counts(*, system: ExternalSystem | None = None) -> dict[str, int]:
    """Open findings by system name (one query), of one system where given."""
    findings = DriftFinding.objects.filter(status=DriftStatus.OPEN)
    if system is not None:
        findings = findings.filter(system=system)
    return dict(findings.values_list("system__name").annotate(n=Count("id"))
                .order_by("system__name"))


@dataclass
class SystemDrift:
    """One system's drift: what the monitor's drift table shows."""

    system: ExternalSystem
    open: int
    acknowledged: int
    last_run: DriftCheckRun | None
    summary: str
    failing: bool
    next_pass_at: datetime | None
    checked: bool  # False: its drift check is switched off (findings remain to be seen)


def system_drift_summaries() -> list[SystemDrift]:
    """Every system that is drift-checked, or has findings still open from when it was: two
    queries, whatever the number of systems, findings and runs."""
    checked = drift_checked_systems().values("pk")
    findings = DriftFinding.objects.filter(system=OuterRef("pk"))
    latest = DriftCheckRun.objects.filter(system=OuterRef("pk")).order_by("-started_at", "-id")
    systems = list(ExternalSystem.objects.annotate(
        checked=Exists(checked.filter(pk=OuterRef("pk"))),
        open=_count(findings.filter(status=DriftStatus.OPEN)),
        acknowledged=_count(findings.filter(status=DriftStatus.ACKNOWLEDGED)),
        last_run_id=Subquery(latest.values("pk")[:1]),
    ).filter(Q(checked=True) | Q(open__gt=0)).order_by("name"))
    runs = DriftCheckRun.objects.in_bulk([s.last_run_id for s in systems if s.last_run_id])
    rows = []
    for system in systems:
        run = runs.get(system.last_run_id)
        next_pass = None
        if run is not None and run.sweep_done and system.checked:
            next_pass = run.sweep_started_at + timedelta(minutes=system.drift_check_every_minutes)
        rows.append(SystemDrift(
            system=system, open=system.open, acknowledged=system.acknowledged, last_run=run,
            summary=run_summary(run) if run else "", next_pass_at=next_pass,
            failing=run is not None and run.state in (DriftRunState.FAILED,
                                                      DriftRunState.INTERRUPTED),
            checked=system.checked))
    return rows


def _count(findings: QuerySet[DriftFinding]) -> Coalesce:
    return Coalesce(Subquery(findings.values("system").annotate(n=Count("id")).values("n")[:1]),
                    0)


def drift_runs(*, system: ExternalSystem, limit: int = 20) -> list[DriftCheckRun]:
    return list(DriftCheckRun.objects.filter(system=system).order_by("-started_at", "-id")
                [:limit])
