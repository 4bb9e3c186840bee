"""The drainer's time, in one process: the timing rules checked at start, a system's timeouts
against the send window, the budget of every send, the next drain scheduled for the earliest
retry, leases of dead workers taken back at once, and the attempt log (worker, task, numbers
across a replay, the final verdict). The same under real task clusters: test_delivery_faults.py."""

from __future__ import annotations

import os
import subprocess
import time
from datetime import timedelta

import pytest
from django.core.checks import run_checks
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import override_settings
from django.utils import timezone
from django_q.models import Schedule
from werkzeug import Response

from thread.flows import delivery, outbox, services, tasks
from thread.flows.choices import AttemptOutcome, OutboundStatus
from thread.flows.models import DeliveryAttempt, OutboundMessage
from thread.flows.timing import timing_errors

from .outbox_support import write

DEFAULTS = {"q_timeout": 120, "q_retry": 300, "drain_seconds": 50, "lease_seconds": 60,
            "batch_size": 50}


def test_the_default_timing_is_consistent():
    assert timing_errors(**DEFAULTS) == []


@pytest.mark.parametrize(("change", "check_id"), [
    ({"drain_seconds": 116}, "flows.E001"),  # a drain could outlive Q_TIMEOUT
    ({"q_retry": 120}, "flows.E002"),  # the ORM broker would hand the task out twice
    ({"lease_seconds": 1.5}, "flows.E003"),
    ({"drain_seconds": 0.5}, "flows.E004"),
    ({"batch_size": 0}, "flows.E005"),
])
def test_each_timing_rule_refuses_its_overrun(change, check_id):
    assert [error[0] for error in timing_errors(**{**DEFAULTS, **change})] == [check_id]


def test_a_cluster_with_an_overrunning_combination_refuses_to_start():
    """The check runs before every management command: qcluster and runserver refuse."""
    with override_settings(Q_CLUSTER={"timeout": 30, "retry": 60},
                           THREAD_OUTBOX_DRAIN_SECONDS=50):
        errors = [e for e in run_checks(tags=["thread"]) if e.id.startswith("flows.")]
    assert [e.id for e in errors] == ["flows.E001"]
    assert "Lower THREAD_OUTBOX_DRAIN_SECONDS to at most 25" in errors[0].hint


def test_a_system_whose_timeouts_cannot_fit_in_a_send_is_refused(erp):
    with pytest.raises(ValidationError) as refused:
        services.system_delivery_configure(system=erp.system, actor=None, reason="too slow",
                                           connect_timeout_seconds=5, read_timeout_seconds=50)
    assert "must fit in one send window of 50 s" in str(refused.value.message_dict)
    erp.system.refresh_from_db()
    assert erp.system.read_timeout_seconds == 30  # unchanged


def test_a_spent_budget_hands_the_rest_back_unsent(erp_peer, about, httpserver):
    """Each send needs its system's connect + read timeout (here 2 s) to be left: after a slow
    first answer, the others go back to the queue with no lease counted against them."""
    httpserver.expect_request("/erp/in/mbom.version").respond_with_handler(
        lambda request: time.sleep(0.6) or Response("{}", 200))
    messages = [write(erp_peer.system, about, key=f"k{n}") for n in range(3)]
    report = delivery.drain(budget_seconds=2.5)
    assert (report.delivered, report.released, report.budget_spent) == (1, 2, True)
    rest = OutboundMessage.objects.filter(pk__in=[m.pk for m in messages[1:]])
    assert {(m.status, m.leases, m.lease_owner) for m in rest} == {(OutboundStatus.PENDING, 0, "")}
    assert len(httpserver.log) == 1


def test_a_send_that_needs_the_whole_window_is_sent_and_starves_nothing(erp_peer, about,
                                                                         httpserver):
    """A system whose connect + read timeout fill the send window exactly (allowed) needs all
    of a drain's budget, of which the claim has already taken a few milliseconds: the first send
    of a drain goes all the same, cut off at the deadline if it must. Handed back instead, it
    would come first in every drain's batch, and nothing behind it would ever be sent."""
    httpserver.expect_request("/erp/in/mbom.version").respond_with_data("{}", status=200)
    slow_peer = write(erp_peer.system, about, key="k-slow")
    other = services.system_create(name="MES", kind="mes", actor=None, reason="t")
    other = services.system_delivery_configure(
        system=other, actor=None, reason="t", connector="rest",
        base_url=httpserver.url_for("/erp"), connector_options={"paths": {"*": "/in/{topic}"}},
        connect_timeout_seconds=0.2, read_timeout_seconds=0.2)
    behind = write(other, about, key="k-behind")
    with override_settings(THREAD_OUTBOX_DRAIN_SECONDS=2):  # the ERP's 1 s + 1 s exactly
        report = delivery.drain()
    assert report.delivered == 2 and report.released == 0
    assert set(OutboundMessage.objects.filter(pk__in=[slow_peer.pk, behind.pk])
               .values_list("status", flat=True)) == {OutboundStatus.DELIVERED}


def test_a_retry_in_a_quiet_period_brings_the_scheduled_drain_forward(erp_peer, about, httpserver):
    schedule = Schedule.objects.create(name=tasks.DRAIN_SCHEDULE, func=outbox.DRAIN_TASK,
                                       schedule_type=Schedule.MINUTES, minutes=1,
                                       next_run=timezone.now() + timedelta(minutes=1))
    erp_peer.system = services.system_delivery_configure(
        system=erp_peer.system, actor=None, reason="short backoff", backoff_base_seconds=4)
    httpserver.expect_request("/erp/in/mbom.version").respond_with_data("busy", status=503)
    message = write(erp_peer.system, about)
    result = tasks.drain_outbox()
    message.refresh_from_db()
    assert message.status == OutboundStatus.RETRYING
    assert result["next_due_at"] == message.next_attempt_at
    schedule.refresh_from_db()
    assert schedule.next_run == message.next_attempt_at  # not a minute later


def test_the_schedule_only_moves_earlier(db):
    soon = timezone.now() + timedelta(seconds=5)
    Schedule.objects.create(name=tasks.DRAIN_SCHEDULE, func=outbox.DRAIN_TASK,
                            schedule_type=Schedule.MINUTES, minutes=1, next_run=soon)
    assert tasks.drain_schedule_bring_forward(at=soon + timedelta(seconds=20)) == 0
    assert Schedule.objects.get().next_run == soon


def _dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_leases_of_dead_workers_on_this_host_are_taken_back_at_once(erp_peer, about):
    dead, alive, elsewhere = (write(erp_peer.system, about, key=f"k{n}") for n in range(3))
    later = timezone.now() + timedelta(minutes=1)
    for message, owner in ((dead, f"{delivery.HOST}:{_dead_pid()}"),
                           (alive, f"{delivery.HOST}:{os.getpid()}"),
                           (elsewhere, "another-host:1")):
        OutboundMessage.objects.filter(pk=message.pk).update(
            status=OutboundStatus.SENDING, lease_until=later, lease_token="t", leases=1,
            lease_owner=owner)
    assert delivery.dead_leases_take_back() == 1
    assert [m.pk for m in delivery.claim(limit=10, expired=True)] == [dead.pk]


def test_the_attempt_log_names_worker_and_task_numbers_across_a_replay_and_the_verdict(
        erp_peer, about, httpserver, person):
    erp_peer.system = services.system_delivery_configure(
        system=erp_peer.system, actor=None, reason="two tries", max_attempts=2)
    httpserver.expect_request("/erp/in/mbom.version").respond_with_data("down", status=503)
    message = write(erp_peer.system, about)
    tasks.remember_running_task(sender="django_q", task={"id": "task-1"})
    for _ in range(2):
        tasks.drain_outbox()
        OutboundMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    message.refresh_from_db()
    assert message.status == OutboundStatus.DEAD
    outbox.outbound_message_replay(message=message, actor=person("operator").user,
                                   reason="the ERP is back")
    tasks.remember_running_task(sender="django_q", task={"id": "task-2"})
    tasks.drain_outbox()
    attempts = list(message.delivery_attempts.order_by("id").values_list(
        "number", "outcome", "worker", "task_id", "system_id"))
    me = f"{delivery.HOST}:{os.getpid()}"
    assert attempts == [
        (1, AttemptOutcome.RETRY, me, "task-1", erp_peer.system.pk),
        (2, AttemptOutcome.DEAD, me, "task-1", erp_peer.system.pk),  # the verdict: dead
        (3, AttemptOutcome.RETRY, me, "task-2", erp_peer.system.pk),  # numbers go on
    ]


@pytest.mark.parametrize(("outcome", "status"), [
    (AttemptOutcome.DELIVERED, OutboundStatus.DELIVERED),
    (AttemptOutcome.RETRY, OutboundStatus.RETRYING),
    (AttemptOutcome.DEAD, OutboundStatus.DEAD),
])
def test_a_verdict_recorded_by_a_worker_that_died_is_applied_not_sent_again(
        erp_peer, about, httpserver, outcome, status):
    """The worker recorded its attempt, then died before finishing its batch: whoever takes the
    expired lease applies the recorded verdict and sends nothing."""
    message = write(erp_peer.system, about)
    OutboundMessage.objects.filter(pk=message.pk).update(
        status=OutboundStatus.SENDING, lease_until=timezone.now() - timedelta(seconds=1),
        lease_token="dead-worker", leases=1, lease_owner="another-host:1")
    DeliveryAttempt.objects.create(
        message=message, system=erp_peer.system, number=1, started_at=timezone.now(),
        duration_ms=3, outcome=outcome, response_status=200 if outcome == "delivered" else 503,
        error_class="" if outcome == "delivered" else "http-503", worker="another-host:1")
    report = delivery.drain()
    message.refresh_from_db()
    assert message.status == status
    assert (message.attempts, message.attempts_total, message.leases) == (1, 1, 1)
    assert httpserver.log == []  # nothing sent again
    assert message.delivery_attempts.count() == 1
    assert (report.delivered, report.retrying, report.dead) == (
        status == OutboundStatus.DELIVERED, status == OutboundStatus.RETRYING,
        status == OutboundStatus.DEAD)
    if status == OutboundStatus.DEAD:
        assert "died before it finished its batch" in message.events.get().reason
    if status == OutboundStatus.RETRYING:
        assert message.next_attempt_at > message.delivery_attempts.get().started_at


def test_the_drain_skips_the_wait_for_the_disk_only_while_it_drains(erp_peer, about, httpserver,
                                                                     monkeypatch):
    """synchronous_commit is off for the drain's own commits, and back as it was afterwards:
    the rest of the worker's work (and the messages' writers) commit in the ordinary way."""
    seen = []
    claim = delivery.claim

    def watching(**kwargs):
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            seen.append(cursor.fetchone()[0])
        return claim(**kwargs)

    monkeypatch.setattr(delivery, "claim", watching)
    httpserver.expect_request("/erp/in/mbom.version").respond_with_data("{}")
    write(erp_peer.system, about)
    assert delivery.drain().delivered == 1
    assert seen and set(seen) == {"off"}
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"
