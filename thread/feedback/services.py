"""Shop-floor results and quality events in (docs/feedback.md).

Each push is checked whole before anything is written: the work order and operation it names
must resolve among the caller's work orders, quantities must not be negative and must add up to
more than zero, times must not run backwards, the unit must convert to the part's base unit.
A result for a completed or cancelled work order is refused (`work-order-closed`). Then, in one
transaction: the result, its day in the roll-ups (taking out the result it corrects), and —
when it completes the work order's last operation — the work order's completion and the ERP's
outbound message about it, on the production order's ordering key."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from connectors.b2mml.errors import B2mmlError
from connectors.b2mml.performance import parse_operations_performance
from thread.catalog.effectivity import plant_date
from thread.catalog.models import Part, PartRevision, Plant
from thread.catalog.selectors import part_conversions, unit_catalog
from thread.catalog.units import UnitMismatch, UnitNotRecognised, convert
from thread.errors import (
    DomainError,
    ErrorItem,
    StateConflict,
    b2mml_refusal,
    invalid,
    refuse,
)
from thread.flows.models import ExternalSystem
from thread.flows.outbox import outbound_message_write
from thread.history import acting_user, audited, require_reason
from thread.orders.choices import WorkOrderStatus
from thread.orders.models import WorkCenter, WorkOrder, WorkOrderOperation
from thread.orders.work_orders.services import work_order_status_report

from .alerts import event_novelty_check, result_thresholds_check
from .choices import QualityDisposition, QualityEventStatus
from .models import FeedbackThreshold, OperationResult, QualityEvent, RollupDay
from .rollups import (
    BREAKDOWNS,
    COUNTERS,
    SUMS,
    Contribution,
    Figures,
    RollupKey,
    merged,
    quality_contribution,
    result_contribution,
    totals_by_key,
)

COMPLETED_TOPIC = "work_order.completed"
CLOSED = (WorkOrderStatus.COMPLETED, WorkOrderStatus.CANCELLED)
NOT_AT_THE_MES = (WorkOrderStatus.HELD, WorkOrderStatus.SCHEDULED)


@dataclass(frozen=True)
class ResultInput:
    """One operation result as the MES sends it (JSON or B2MML)."""

    work_order: str
    operation: int | None = None  # the operation's sequence (10, 20, …)
    operation_code: str = ""  # or its code
    plant: str = ""  # needed only where a work order number is not unique
    report_id: str = ""
    good_quantity: Decimal = Decimal(0)
    scrap_quantity: Decimal = Decimal(0)
    unit: str = ""  # blank: the part's base unit
    scrap_reason: str = ""
    setup_minutes: Decimal | None = None
    run_minutes: Decimal | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    work_center: str = ""  # blank: the operation's
    operation_completed: bool = False
    serial: str = ""
    lot: str = ""
    corrects: str = ""  # the report_id of the result this one replaces


@dataclass(frozen=True)
class Recorded:
    result: OperationResult
    created: bool  # False: the same report was recorded before (a repeat)
    work_order_completed: bool = False


def operation_result_record(*, given: ResultInput, system: ExternalSystem | None,
                            actor: AbstractBaseUser | None, reason: str,
                            inbound_message_id: int | None = None) -> Recorded:
    reason = require_reason(reason)
    with transaction.atomic():
        work_order, problems = _work_order(given.work_order, given.plant, system, "/work_order")
        refuse(problems)
        work_order = WorkOrder.objects.select_for_update(of=("self",)).select_related(
            "plant", "part__base_unit", "revision", "production_order__system").get(
            pk=work_order.pk)
        repeat = _repeat(system, given.report_id, work_order)
        if repeat is not None:
            return Recorded(repeat, created=False)
        _require_open(work_order)
        operations = list(work_order.operations.select_related("work_center"))
        operation, problems = _operation(work_order, operations, given)
        problems += _quantity_problems(given)
        problems += _time_problems(given.started_at, given.ended_at, "/ended_at")
        (good, scrap), unit_problems = _in_base_unit(
            work_order.part, given.unit, (given.good_quantity, given.scrap_quantity), system)
        problems += unit_problems
        center, center_problems = _work_center(work_order, operation, given.work_center)
        problems += center_problems
        corrected, correction_problems = _corrected(system, given.corrects, work_order)
        problems += correction_problems
        refuse(problems)
        now = timezone.now()
        result = OperationResult.objects.create(
            work_order=work_order, operation=operation, system=system,
            inbound_message_id=inbound_message_id, report_id=given.report_id,
            plant=work_order.plant, revision=work_order.revision,
            operation_code=operation.operation_code, work_center=center,
            good_quantity=good, scrap_quantity=scrap, scrap_reason=given.scrap_reason,
            setup_minutes=given.setup_minutes, run_minutes=given.run_minutes,
            standard_setup_minutes=operation.setup_minutes,
            standard_run_minutes=operation.run_minutes, started_at=given.started_at,
            ended_at=given.ended_at,
            day=plant_date(work_order.plant, given.ended_at or given.started_at or now),
            operation_completed=given.operation_completed, serial=given.serial, lot=given.lot,
            corrects=corrected, recorded_at=now, recorded_by=acting_user(actor), reason=reason)
        if corrected is not None:
            rollup_apply(result_contribution_of(corrected).negated())
        rollup_apply(result_contribution_of(result))
        result_thresholds_check(result)
        completed = _progress(work_order, result, max(o.sequence for o in operations), actor,
                              reason)
    return Recorded(result, created=True, work_order_completed=completed)


def _work_order(number: str, plant: str, system: ExternalSystem | None,
                pointer: str) -> tuple[WorkOrder | None, list[ErrorItem]]:
    """The work order a push names: among the caller's own when an MES pushes."""
    found = WorkOrder.objects.filter(number=number)
    if system is not None:
        found = found.filter(mes_system=system)
    if plant:
        found = found.filter(plant__code=plant)
    candidates = list(found.order_by()[:2])
    if not candidates:
        return None, [ErrorItem(pointer, "unknown_work_order",
                                f"No work order {number!r}" + (f" at {plant}" if plant else "")
                                + (" sent to this MES." if system else "."))]
    if len(candidates) > 1:
        return None, [ErrorItem("/plant", "ambiguous_work_order",
                                f"Work order {number!r} exists at several plants: give the plant.")]
    return candidates[0], []


def _repeat(system: ExternalSystem | None, report_id: str,
            work_order: WorkOrder) -> OperationResult | None:
    """A report the MES sent before (same report id): recorded once. The same id for another
    work order is a conflict, not a repeat."""
    if not report_id:
        return None
    earlier = OperationResult.objects.filter(system=system, report_id=report_id).first()
    if earlier is not None and earlier.work_order_id != work_order.pk:
        raise StateConflict(f"Report {report_id!r} was recorded for work order "
                            f"{earlier.work_order.number}, not {work_order.number}.",
                            [ErrorItem("/report_id", "report_id_reused",
                                       "This report id belongs to another work order.")])
    return earlier


def _require_open(work_order: WorkOrder) -> None:
    if work_order.status in CLOSED:
        detail = (f"Work order {work_order.number} is {work_order.get_status_display().lower()}: "
                  "it takes no more results.")
        raise StateConflict(detail, [ErrorItem("/work_order", "work_order_closed", detail)],
                            code="work-order-closed")
    if work_order.status in NOT_AT_THE_MES:
        detail = (f"Work order {work_order.number} is {work_order.get_status_display().lower()}:"
                  " the MES has not received it.")
        raise StateConflict(detail, [ErrorItem("/work_order", "not_at_the_mes", detail)],
                            code="transition-not-allowed")
    if work_order.revision_id is None:  # never for one the MES has: it was built from one
        raise StateConflict(f"Work order {work_order.number} names no design revision.")


def _operation(work_order: WorkOrder, operations: list[WorkOrderOperation],
               given: ResultInput) -> tuple[WorkOrderOperation | None, list[ErrorItem]]:
    if given.operation is not None:
        found = [o for o in operations if o.sequence == given.operation]
        pointer, named = "/operation", str(given.operation)
    elif given.operation_code:
        found = [o for o in operations if o.operation_code == given.operation_code]
        pointer, named = "/operation_code", given.operation_code
    else:
        return None, [ErrorItem("/operation", "required",
                                "Name the operation: its sequence or its code.")]
    if len(found) == 1:
        return found[0], []
    known = ", ".join(f"{o.sequence} {o.operation_code}" for o in operations)
    detail = (f"Work order {work_order.number} has no operation {named}" if not found
              else f"Operation code {named} is used twice: give the sequence") + f" ({known})."
    return None, [ErrorItem(pointer, "unknown_operation" if not found else "ambiguous_operation",
                            detail)]


def _quantity_problems(given: ResultInput) -> list[ErrorItem]:
    problems = [ErrorItem(f"/{name}", "negative", "Must not be negative.")
                for name in ("good_quantity", "scrap_quantity")
                if getattr(given, name) < 0]
    if not problems and given.good_quantity + given.scrap_quantity <= 0:
        problems.append(ErrorItem("/good_quantity", "not_positive",
                                  "Good and scrap quantity add up to nothing."))
    problems += [ErrorItem(f"/{name}", "negative", "Must not be negative.")
                 for name in ("setup_minutes", "run_minutes")
                 if getattr(given, name) is not None and getattr(given, name) < 0]
    if given.scrap_quantity > 0 and not given.scrap_reason:
        problems.append(ErrorItem("/scrap_reason", "required",
                                  "Scrap needs its reason code."))
    return problems


def _time_problems(start: datetime | None, end: datetime | None,
                   pointer: str) -> list[ErrorItem]:
    if start is not None and end is not None and end < start:
        return [ErrorItem(pointer, "time_backwards", "Ends before it starts.")]
    now = timezone.now()
    return [ErrorItem(pointer if when is end else pointer.replace("ended", "started"),
                      "in_the_future", "Lies in the future.")
            for when in (start, end) if when is not None and when > now + _CLOCK_SKEW]


_CLOCK_SKEW = timezone.timedelta(minutes=5)  # a shop-floor clock a little ahead is no error


def _in_base_unit(part: Part, unit: str, quantities: tuple[Decimal, ...],
                  system: ExternalSystem | None) -> tuple[tuple[Decimal, ...], list[ErrorItem]]:
    """The quantities in the part's base unit (`unit` as the caller writes it; blank: the base
    unit already), or the problem with the unit."""
    if not unit:
        return quantities, []
    catalog = unit_catalog(system=system)
    try:
        code = catalog.resolve(unit)
        conversions = part_conversions(part_ids=[part.pk]).get(part.number, ())
        return tuple(convert(q, code, part.base_unit.code, catalog.units, conversions)
                     for q in quantities), []
    except UnitNotRecognised as exc:
        return quantities, [ErrorItem("/unit", exc.code, exc.detail)]
    except UnitMismatch as exc:
        return quantities, [ErrorItem("/unit", "unit_mismatch",
                                      f"{exc}: {part.number} is counted in "
                                      f"{part.base_unit.code}.")]


def _work_center(work_order: WorkOrder, operation: WorkOrderOperation | None,
                 code: str) -> tuple[WorkCenter | None, list[ErrorItem]]:
    if not code:
        return (operation.work_center if operation else None), []
    center = WorkCenter.objects.filter(plant=work_order.plant, code=code).first()
    if center is None:
        return None, [ErrorItem("/work_center", "unknown_work_center",
                                f"No work center {code!r} at {work_order.plant.code}.")]
    return center, []


def _corrected(system: ExternalSystem | None, report_id: str,
               work_order: WorkOrder) -> tuple[OperationResult | None, list[ErrorItem]]:
    if not report_id:
        return None, []
    earlier = OperationResult.objects.filter(system=system, report_id=report_id,
                                             work_order=work_order).first()
    if earlier is None:
        return None, [ErrorItem("/corrects", "unknown_report",
                                f"No report {report_id!r} of work order {work_order.number} "
                                "to correct.")]
    if OperationResult.objects.filter(corrects=earlier).exists():
        return None, [ErrorItem("/corrects", "corrected_already",
                                f"Report {report_id!r} was corrected already: correct the "
                                "correction.")]
    return earlier, []


def result_contribution_of(result: OperationResult) -> Contribution:
    return result_contribution(
        key=RollupKey(result.plant_id, result.revision_id, result.operation_code,
                      result.work_center.code, result.day),
        good_quantity=result.good_quantity, scrap_quantity=result.scrap_quantity,
        scrap_reason=result.scrap_reason,
        setup_minutes=result.setup_minutes, run_minutes=result.run_minutes,
        standard_setup=result.standard_setup_minutes, standard_run=result.standard_run_minutes)


def rollup_apply(contribution: Contribution) -> RollupDay:
    """Add a contribution to its day, in the caller's transaction: the row is locked, so two
    results of the same day add up instead of overwriting each other."""
    key = contribution.key
    fields = {"plant_id": key.plant_id, "revision_id": key.revision_id,
              "operation_code": key.operation_code, "work_center_code": key.work_center_code,
              "day": key.day}
    # No ordering: the model's (by plant and revision) would join their tables for nothing.
    row = RollupDay.objects.select_for_update(of=("self",)).filter(**fields).order_by() \
        .first()
    if row is None:
        try:
            with transaction.atomic():
                row = RollupDay.objects.create(**fields)
        except IntegrityError:  # created by a concurrent result of the same day
            row = RollupDay.objects.select_for_update(of=("self",)).order_by().get(**fields)
        row = RollupDay.objects.select_for_update(of=("self",)).order_by().get(pk=row.pk)
    amounts = contribution.amounts
    for name in (*COUNTERS, *SUMS):
        setattr(row, name, getattr(row, name) + getattr(amounts, name))
    for name in BREAKDOWNS:
        current = {k: Decimal(v) for k, v in getattr(row, name).items()}
        setattr(row, name, {k: str(v) for k, v in merged(current, getattr(amounts,
                                                                           name)).items()})
    row.save()
    return row


def _progress(work_order: WorkOrder, result: OperationResult, last: int,
              actor: AbstractBaseUser | None, reason: str) -> bool:
    """A result says the MES is working on the order: it is in progress. One that completes the
    last operation completes it, and its ERP hears of that in its own message. True when it
    completed the work order."""
    if work_order.status != WorkOrderStatus.IN_PROGRESS:
        work_order = work_order_status_report(work_order=work_order,
                                              status=WorkOrderStatus.IN_PROGRESS, actor=actor,
                                              reason=reason)
    if not result.operation_completed or result.operation.sequence != last:
        return False
    work_order_status_report(work_order=work_order, status=WorkOrderStatus.COMPLETED,
                             actor=actor, reason=reason)
    _tell_the_erp(work_order, result)
    return True


def _tell_the_erp(work_order: WorkOrder, result: OperationResult) -> None:
    order = work_order.production_order
    results = OperationResult.objects.filter(work_order=work_order, corrected_by__isnull=True)
    last_operation = results.filter(operation=result.operation)
    produced = last_operation.aggregate(n=Sum("good_quantity"))["n"] or Decimal(0)
    scrapped = results.aggregate(n=Sum("scrap_quantity"))["n"] or Decimal(0)
    times = results.aggregate(setup=Sum("setup_minutes"), run=Sum("run_minutes"))
    payload = {
        "work_order": work_order.number, "production_order": order.number,
        "plant": work_order.plant.code, "part": work_order.part.number,
        "revision": work_order.revision.label if work_order.revision else "",
        "unit": work_order.part.base_unit.code, "ordered_quantity": str(work_order.quantity),
        "produced_quantity": str(produced), "scrapped_quantity": str(scrapped),
        "actual_setup_minutes": str(times["setup"] or 0),
        "actual_run_minutes": str(times["run"] or 0),
        "completed_at": (result.ended_at or result.recorded_at).isoformat(),
    }
    outbound_message_write(system=order.system, topic=COMPLETED_TOPIC, payload=payload,
                           about=work_order, cause=result,
                           ordering_key=f"production_order:{work_order.plant.code}:{order.number}")


# --- Quality events ---------------------------------------------------------------------------

@dataclass(frozen=True)
class QualityEventInput:
    defect_code: str
    quantity: Decimal
    occurred_at: datetime
    work_order: str = ""
    operation: int | None = None
    operation_code: str = ""
    plant: str = ""
    part: str = ""  # with revision, where no work order is named
    revision: str = ""
    unit: str = ""
    description: str = ""
    disposition: str = QualityDisposition.PENDING
    event_id: str = ""


def quality_event_record(*, given: QualityEventInput, system: ExternalSystem | None,
                         actor: AbstractBaseUser | None, reason: str,
                         inbound_message_id: int | None = None) -> tuple[QualityEvent, bool]:
    """Record a quality event and count it on its day; (event, created). A repeat of an event
    id is the event recorded before."""
    reason = require_reason(reason)
    with transaction.atomic():
        if given.event_id:
            earlier = QualityEvent.objects.filter(system=system, event_id=given.event_id).first()
            if earlier is not None:
                return earlier, False
        problems: list[ErrorItem] = []
        work_order = operation = None
        if given.work_order:
            work_order, problems = _work_order(given.work_order, given.plant, system,
                                               "/work_order")
        if work_order is not None:
            if given.operation is not None or given.operation_code:
                operation, operation_problems = _operation(
                    work_order, list(work_order.operations.select_related("work_center")),
                    ResultInput(work_order=given.work_order, operation=given.operation,
                                operation_code=given.operation_code))
                problems += operation_problems
            plant, revision = work_order.plant, work_order.revision
            part = work_order.part
        elif given.work_order:  # named, not found: its problem is said already
            plant = revision = part = None
        else:
            plant, revision, part, where_problems = _where(given)
            problems += where_problems
        if given.quantity <= 0:
            problems.append(ErrorItem("/quantity", "not_positive", "Must be more than zero."))
        if given.disposition not in QualityDisposition.values:
            problems.append(ErrorItem("/disposition", "invalid_choice",
                                      f"One of {', '.join(QualityDisposition.values)}."))
        if not given.defect_code.strip():
            problems.append(ErrorItem("/defect_code", "required", "The defect code is required."))
        problems += _time_problems(None, given.occurred_at, "/occurred_at")
        quantity = given.quantity
        if part is not None and not problems:
            (quantity,), unit_problems = _in_base_unit(part, given.unit, (quantity,), system)
            problems += unit_problems
        refuse(problems)
        event = QualityEvent(
            event_id=given.event_id, system=system, inbound_message_id=inbound_message_id,
            work_order=work_order, operation=operation, plant=plant, revision=revision,
            operation_code=operation.operation_code if operation else "",
            work_center_code=operation.work_center.code if operation else "",
            defect_code=given.defect_code.strip(), quantity=quantity,
            description=given.description, disposition=given.disposition,
            occurred_at=given.occurred_at, day=plant_date(plant, given.occurred_at),
            recorded_at=timezone.now())
        audited(event, actor, reason).save()
        rollup_apply(quality_contribution(
            key=RollupKey(plant.pk, revision.pk, event.operation_code, event.work_center_code,
                          event.day), defect_code=event.defect_code, quantity=quantity))
        event_novelty_check(event)
    return event, True


def _where(given: QualityEventInput) -> tuple[Plant | None, PartRevision | None, Part | None,
                                              list[ErrorItem]]:
    problems = []
    plant = Plant.objects.filter(code=given.plant).first()
    if plant is None:
        problems.append(ErrorItem("/plant", "unknown_plant" if given.plant else "required",
                                  f"Unknown plant {given.plant!r}." if given.plant
                                  else "Name the work order, or the plant, part and revision."))
    revision = PartRevision.objects.select_related("part__base_unit").filter(
        part__number=given.part, label=given.revision).first()
    if revision is None:
        problems.append(ErrorItem("/revision", "unknown_revision",
                                  f"No revision {given.revision!r} of part {given.part!r}."))
    return plant, revision, revision.part if revision else None, problems


def quality_event_acknowledge(*, event: QualityEvent, actor: AbstractBaseUser | None,
                              reason: str) -> QualityEvent:
    """Quality has seen it (and decided its disposition where it was pending)."""
    reason = require_reason(reason)
    with transaction.atomic():
        event = QualityEvent.objects.select_for_update(of=("self",)).get(pk=event.pk)
        if event.status == QualityEventStatus.ACKNOWLEDGED:
            raise StateConflict("This quality event is acknowledged already.")
        event.status = QualityEventStatus.ACKNOWLEDGED
        audited(event, actor, reason).save()
    return event


# --- Recomputation ----------------------------------------------------------------------------

def rollups_recomputed(*, revision: PartRevision | None = None,
                       at: datetime | None = None) -> dict[RollupKey, Figures]:
    """The roll-ups as the raw facts give them, summed at once: every result no correction
    replaced, and every quality event — of one revision, and as recorded at a moment (a
    correction recorded later had not replaced its result yet)."""
    results = OperationResult.objects.order_by()
    events = QualityEvent.objects.order_by()
    if revision is not None:
        results, events = results.filter(revision=revision), events.filter(revision=revision)
    if at is None:
        results = results.filter(corrected_by__isnull=True)
    else:
        results = results.filter(recorded_at__lte=at).filter(
            Q(corrected_by__isnull=True) | Q(corrected_by__recorded_at__gt=at))
        events = events.filter(recorded_at__lte=at)
    # Plain rows, not model instances: a recomputation reads every result.
    return totals_by_key([
        *(result_contribution(
            key=RollupKey(plant, revision_id, operation, work_center, day),
            good_quantity=good, scrap_quantity=scrap, scrap_reason=reason,
            setup_minutes=setup, run_minutes=run, standard_setup=standard_setup,
            standard_run=standard_run)
          for (plant, revision_id, operation, work_center, day, good, scrap, reason, setup, run,
               standard_setup, standard_run) in results.values_list(
              "plant_id", "revision_id", "operation_code", "work_center__code", "day",
              "good_quantity", "scrap_quantity", "scrap_reason", "setup_minutes", "run_minutes",
              "standard_setup_minutes", "standard_run_minutes").iterator(chunk_size=5000)),
        *(quality_contribution(key=RollupKey(plant, revision_id, operation, work_center, day),
                               defect_code=defect, quantity=quantity)
          for plant, revision_id, operation, work_center, day, defect, quantity
          in events.values_list("plant_id", "revision_id", "operation_code",
                                "work_center_code", "day", "defect_code", "quantity")
          .iterator(chunk_size=5000))])


def rollups_recompute() -> int:
    """Replace every roll-up by the recomputation from the raw results (after a restore, or to
    check the incremental ones). One transaction; returns the number of day rows."""
    with transaction.atomic():
        RollupDay.objects.select_for_update(of=("self",)).all().delete()
        rows = [RollupDay(
            plant_id=key.plant_id, revision_id=key.revision_id,
            operation_code=key.operation_code, work_center_code=key.work_center_code,
            day=key.day, **{name: getattr(figures, name) for name in (*COUNTERS, *SUMS)},
            **{name: {k: str(v) for k, v in getattr(figures, name).items()}
               for name in BREAKDOWNS})
            for key, figures in rollups_recomputed().items()]
        RollupDay.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


# --- B2MML ------------------------------------------------------------------------------------

def operation_results_record_b2mml(*, document: bytes, system: ExternalSystem | None,
                                   actor: AbstractBaseUser | None, reason: str,
                                   inbound_message_id: int | None = None) -> list[Recorded]:
    """An MES's B2MML ProcessOperationsPerformance: validated against the official schema and
    parsed safely, then every SegmentResponse recorded as a result — all of them or none. A
    problem's pointer is the segment's path in the document, then the field as in the JSON form."""
    try:
        reports = parse_operations_performance(document)
    except B2mmlError as exc:
        raise b2mml_refusal(exc, "document") from None
    if not reports:
        raise invalid("", "no_results", "The document reports no SegmentResponse.")
    recorded = []
    with transaction.atomic():
        for report in reports:
            given = ResultInput(
                work_order=report.work_order, operation=report.operation,
                report_id=report.report_id, good_quantity=report.good_quantity,
                scrap_quantity=report.scrap_quantity, unit=report.unit,
                scrap_reason=report.scrap_reason, setup_minutes=report.setup_minutes,
                run_minutes=report.run_minutes, started_at=report.started_at,
                ended_at=report.ended_at, work_center=report.work_center,
                operation_completed=report.completed, serial=report.serial, lot=report.lot,
                corrects=report.corrects)
            try:
                recorded.append(operation_result_record(
                    given=given, system=system, actor=actor, reason=reason,
                    inbound_message_id=inbound_message_id))
            except DomainError as exc:
                exc.errors = [ErrorItem(f"{report.path}{e.pointer}", e.code, e.detail)
                              for e in exc.errors]
                raise
    return recorded


# --- Thresholds -------------------------------------------------------------------------------

def feedback_threshold_set(*, plant: Plant, part: Part | None, actor: AbstractBaseUser | None,
                           reason: str, **values) -> FeedbackThreshold:
    """Set when engineering hears of a part's results at a plant at once (or the plant's
    default, without a part): min_first_pass_yield, max_run_vs_standard, window_days."""
    reason = require_reason(reason)
    with transaction.atomic():
        threshold = FeedbackThreshold.objects.select_for_update(of=("self",)).filter(
            plant=plant, part=part).first() or FeedbackThreshold(plant=plant, part=part)
        for name, value in values.items():
            setattr(threshold, name, value)
        threshold.full_clean()
        audited(threshold, actor, reason).save()
    return threshold
