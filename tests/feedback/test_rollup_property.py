"""The roll-ups kept incrementally equal the roll-ups recomputed from the raw results, digit for
digit, for random streams of results — several operations, days and scrap reasons, with and
without times, repeats of a report and corrections of earlier ones (hypothesis)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from thread.feedback.models import RollupDay
from thread.feedback.rollups import Figures
from thread.feedback.services import ResultInput, operation_result_record, rollups_recomputed

minutes = st.none() | st.decimals(min_value=0, max_value=500, places=4)
step = st.fixed_dictionaries({
    "kind": st.sampled_from(["new", "new", "new", "repeat", "correct"]),
    "operation": st.sampled_from([10, 20]),
    "good": st.integers(min_value=0, max_value=30),
    "scrap": st.integers(min_value=0, max_value=4),
    "reason": st.sampled_from(["SCRATCH", "DENT", "MISALIGNED"]),
    "setup": minutes,
    "run": minutes,
    "days_ago": st.integers(min_value=0, max_value=3),
    "pick": st.integers(min_value=0, max_value=1000),
})


def _key(day: RollupDay | object) -> tuple:
    return (day.plant_id, day.revision_id, day.operation_code, day.work_center_code, day.day)


@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(stream=st.lists(step, min_size=1, max_size=25))
def test_incremental_rollups_equal_the_recomputation(work_order, mes, stream):
    with transaction.atomic():
        reports: list[str] = []
        corrected: set[str] = set()
        now = timezone.now()
        for n, s in enumerate(stream):
            good = Decimal(s["good"]) if s["good"] + s["scrap"] else Decimal(1)
            fields = {"work_order": "1000001", "operation": s["operation"], "good_quantity": good,
                      "scrap_quantity": Decimal(s["scrap"]),
                      "scrap_reason": s["reason"] if s["scrap"] else "",
                      "setup_minutes": s["setup"], "run_minutes": s["run"],
                      "ended_at": now - timedelta(days=s["days_ago"], minutes=n)}
            open_reports = [r for r in reports if r not in corrected]
            if s["kind"] == "repeat" and reports:
                fields["report_id"] = reports[s["pick"] % len(reports)]
            elif s["kind"] == "correct" and open_reports:
                target = open_reports[s["pick"] % len(open_reports)]
                fields["report_id"], fields["corrects"] = f"r-{n}", target
                corrected.add(target)
            else:
                fields["report_id"] = f"r-{n}"
            recorded = operation_result_record(given=ResultInput(**fields), system=mes.system,
                                               actor=None, reason="property test")
            if recorded.created:
                reports.append(fields["report_id"])
        incremental = {_key(d): Figures().add(d) for d in RollupDay.objects.all()
                       if Figures().add(d) != Figures()}
        recomputed = {_key(k): f for k, f in rollups_recomputed().items() if f != Figures()}
        assert incremental == recomputed
        transaction.set_rollback(True)
