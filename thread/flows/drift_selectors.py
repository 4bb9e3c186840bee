"""Reads of drift (docs/monitoring.md, "Drift"): the findings, and each checked system's drift
at a glance — its open findings and where its check stands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q, QuerySet

from .choices import DriftRunState, DriftStatus
from .drift_check import drift_checked_systems, last_run, run_summary
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
    """Every system that is drift-checked, or has findings still open from when it was."""
    counts = {row["system_id"]: row for row in DriftFinding.objects.values("system_id").annotate(
        open=Count("id", filter=Q(status=DriftStatus.OPEN)),
        acknowledged=Count("id", filter=Q(status=DriftStatus.ACKNOWLEDGED)))}
    checked = {s.pk: s for s in drift_checked_systems()}
    with_open = [pk for pk, row in counts.items() if row["open"] and pk not in checked]
    systems = [*checked.values(), *ExternalSystem.objects.filter(pk__in=with_open)]
    rows = []
    for system in sorted(systems, key=lambda s: s.name):
        run = last_run(system)
        row = counts.get(system.pk, {"open": 0, "acknowledged": 0})
        next_pass = None
        if run is not None and run.sweep_done and system.pk in checked:
            next_pass = run.sweep_started_at + timedelta(minutes=system.drift_check_every_minutes)
        rows.append(SystemDrift(
            system=system, open=row["open"], acknowledged=row["acknowledged"], last_run=run,
            summary=run_summary(run) if run else "", next_pass_at=next_pass,
            failing=run is not None and run.state in (DriftRunState.FAILED,
                                                      DriftRunState.INTERRUPTED),
            checked=system.pk in checked))
    return rows


def drift_runs(*, system: ExternalSystem, limit: int = 20) -> list[DriftCheckRun]:
    return list(DriftCheckRun.objects.filter(system=system).order_by("-started_at", "-id")
                [:limit])
