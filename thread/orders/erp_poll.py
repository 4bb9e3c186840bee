"""Build orders in from an ERP that Thread polls (InvenTree: docs/connectors.md, "InvenTree").

A scheduled task asks each such system's connector for the build orders that may have changed
(plain data), and writes them into the production-order mirror through the same service the
ERP's push uses — so resolution, history, impact and work orders behave the same — keyed by the
build's reference. What the builds say of their progress (completed quantity) is not the
mirror's: it is handed, as plain data, to the caller's `progress` callback in the same
transaction (the feedback app records it: docs/feedback.md, "Results an ERP reports"). The
high-water mark (a day) is stored in the transaction that stores the
batch: a poll that dies before that commit reads the batch again next time, and the repeated
upserts change nothing. A build changed while the poll runs is read again by the next one
(the connector re-reads from the day before the mark), so none is skipped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from connectors.inventree import BUILD_STATUSES, BuildOrder, InvenTreeConnector
from connectors.registry import get_connector
from thread.catalog.models import Part, Plant
from thread.errors import DomainError
from thread.flows.delivery import client_for, peer_config
from thread.flows.models import ExternalSystem

from .models import ErpPollMark
from .services import ProductionOrderInput, production_orders_upsert

logger = logging.getLogger(__name__)
KIND = "build_orders"
REASON = "Build orders read from the ERP"


@dataclass(frozen=True)
class BuildProgress:
    """A build's progress as the ERP reports it: Thread's production order number."""

    number: str
    completed_quantity: Decimal
    scrapped_quantity: Decimal | None = None  # InvenTree keeps none on a build


@dataclass
class PollReport:
    system: str
    read: int = 0
    written: int = 0
    progress_recorded: int = 0
    skipped: list[str] = field(default_factory=list)
    error: str = ""


def polled_systems() -> list[ExternalSystem]:
    """The enabled ERP systems whose connector reads build orders."""
    return [system for system in ExternalSystem.objects.filter(kind="erp", enabled=True)
            if isinstance(_connector(system), InvenTreeConnector)]


def _connector(system: ExternalSystem):
    try:
        return get_connector(system.connector)
    except LookupError:
        return None


def build_orders_poll(*, system: ExternalSystem,
                      progress: Callable[[ExternalSystem, Sequence[BuildProgress]], int],
                      now: datetime | None = None) -> PollReport:
    """Read the system's build orders that may have changed, upsert them and hand their progress
    to `progress` (which returns how many it recorded), all in one transaction (see the module
    docstring). A failure is recorded on the poll mark and reported; the mark stays."""
    report = PollReport(system.name)
    mark, _ = ErpPollMark.objects.get_or_create(system=system, kind=KIND)
    today = timezone.localdate(now or timezone.now())
    try:
        plant = polled_plant(system)
        connector = _connector(system)
        peer = peer_config(system)
        builds = connector.build_orders(
            client_for(system), peer, since=date.fromisoformat(mark.mark) if mark.mark else None,
            deadline=time.monotonic() + system.connect_timeout_seconds
            + system.read_timeout_seconds)
        report.read = len(builds)
        inputs = _inputs(builds, plant, report)
        with transaction.atomic():
            result = production_orders_upsert(
                system=system, orders=[given for given, _ in inputs], actor=system.service_user,
                reason=REASON)
            report.written = len(result.created) + len(result.updated)
            report.progress_recorded = progress(system, [
                BuildProgress(given.number, build.completed)
                for given, build in inputs])
            mark.mark, mark.polled_at = today.isoformat(), timezone.now()
            mark.last_count, mark.last_error = report.read, ""
            mark.save()
    except Exception as exc:  # recorded for the operator, tried again by the next poll
        report.error = str(exc) or type(exc).__name__
        ErpPollMark.objects.filter(pk=mark.pk).update(last_error=report.error[:2000],
                                                      polled_at=timezone.now())
        logger.warning("build-order poll of %s failed: %s", system.name, report.error)
    return report


def polled_plant(system: ExternalSystem) -> Plant:
    """The plant a polled ERP serves: its only one, or the connector option 'plant'."""
    plants = list(Plant.objects.filter(erp_system=system))
    code = (system.connector_options or {}).get("plant")
    if code:
        plants = [p for p in plants if p.code == code]
    if len(plants) != 1:
        raise DomainError(f"{system.name} is the ERP of {len(plants)} plants: set the connector "
                          "option 'plant' to the code of the plant its build orders are for")
    return plants[0]


def _inputs(builds: list[BuildOrder], plant: Plant, report: PollReport
            ) -> list[tuple[ProductionOrderInput, BuildOrder]]:
    """The builds as the ERP push's input, each with its build; builds of parts Thread does not
    know, without a reference, or with a status Thread has no word for are skipped and
    reported."""
    units = dict(Part.objects.filter(number__in={b.part for b in builds})
                 .values_list("number", "base_unit__code"))
    inputs = []
    for build in builds:
        if not build.reference or build.part not in units or build.status not in BUILD_STATUSES \
                or build.quantity <= 0:
            report.skipped.append(f"{build.reference or build.pk}: part {build.part or '?'}, "
                                  f"status {build.status}")
            continue
        start = build.start or build.created or build.target
        if start is None:
            report.skipped.append(f"{build.reference}: no dates")
            continue
        inputs.append((ProductionOrderInput(
            number=build.reference, part=build.part, plant=plant.code, quantity=build.quantity,
            unit=units[build.part], planned_start=start,
            planned_end=max(start, build.target or start), status=BUILD_STATUSES[build.status],
            erp_status=build.status_text or str(build.status)), build))
    return inputs
