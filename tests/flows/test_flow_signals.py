"""The peer's signals on the flow status, the monitor, the banner and the alert e-mail: failure
rate over the window (threshold, minimum attempts), failures in a row, unreachable, stuck sends,
recovery; the flow status's query count pinned whatever the number of messages; and an outage of
a real peer under real task clusters turning the status to alert and back."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core import mail
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from bench.rig import Reply, wait_for
from thread.flows import outbox, selectors, services
from thread.flows.alerts import current_flow_alerts, flow_alerts_notify
from thread.flows.choices import AttemptOutcome, OutboundStatus
from thread.flows.models import DeliveryAttempt, FlowAlertNotice, OutboundMessage

from .outbox_support import assert_exactly_once_in_order, make_system, wait_all, write_messages

STATUS = "/api/v1/flows/status/"
MONITOR = "/admin/flows/monitor/"

# One letter per attempt, newest first: what the peer did.
ATTEMPT_KINDS = {
    "D": (AttemptOutcome.DELIVERED, "", None, ""),
    "F": (AttemptOutcome.RETRY, "http-503", 503, "the peer answered 503"),
    "C": (AttemptOutcome.RETRY, "connection", None, "ConnectError: [Errno 111] Connection refused"),
    "T": (AttemptOutcome.RETRY, "timeout", None, "ReadTimeout: timed out"),
    "R": (AttemptOutcome.DEAD, "http-400", 400, "the peer refused the message with 400"),
}

# Thresholds spelled out, so each test reads against them rather than the defaults.
LIMITS = {"THREAD_ALERT_FAILURE_WINDOW_MINUTES": 5, "THREAD_ALERT_FAILURE_RATE_PERCENT": 50,
          "THREAD_ALERT_FAILURE_MIN_ATTEMPTS": 10, "THREAD_ALERT_CONSECUTIVE_FAILURES": 5,
          "THREAD_ALERT_UNREACHABLE_ATTEMPTS": 3, "THREAD_ALERT_RECOVERED_AFTER": 3,
          "THREAD_ALERT_STUCK_MINUTES": 3, "THREAD_ALERT_PENDING_AGE_MINUTES": 30}


@pytest.fixture(autouse=True)
def limits():
    with override_settings(**LIMITS):
        yield


@pytest.fixture
def system(erp):
    # Delivery stays on (the alerts are for a system Thread is delivering to), but nothing
    # drains in these tests: they write the attempts themselves.
    return services.system_delivery_configure(
        system=erp.system, actor=None, reason="signals test", connector="rest",
        base_url="https://erp.example.com/api/", connector_options={"paths": {"*": "{topic}"}})


@pytest.fixture
def waiting(system):
    """A message on its way, so the system has a delivery to fail."""
    about = Group.objects.get_or_create(name="signals object")[0]
    with transaction.atomic():
        message = outbox.outbound_message_write(system=system, topic="mbom.published",
                                                payload={"n": 1}, about=about, cause=None,
                                                ordering_key="mbom:BER:BK-100")
    OutboundMessage.objects.filter(pk=message.pk).update(status=OutboundStatus.RETRYING)
    return message


def tried(message, kinds: str, *, now=None, every: timedelta = timedelta(seconds=10),
          offset: timedelta = timedelta(seconds=1)) -> None:
    """Attempts of `message`'s system, newest first as spelled: tried(m, "FFD") = the last two
    failed (503), the one before was delivered."""
    now = now or timezone.now()
    DeliveryAttempt.objects.bulk_create([
        DeliveryAttempt(message=message, system_id=message.system_id, number=n + 1,
                        started_at=now - offset - every * n, duration_ms=3, outcome=outcome,
                        error_class=error_class, response_status=status, error=error)
        for n, (outcome, error_class, status, error) in
        enumerate(ATTEMPT_KINDS[kind] for kind in kinds)])


def signals_of(system):
    [summary] = [s for s in selectors.system_flow_summaries() if s.system.pk == system.pk]
    return summary


# --- failure rate ---------------------------------------------------------------------------


def test_failure_rate_at_the_threshold_with_enough_attempts_is_failing(waiting, system):
    tried(waiting, "FDFDFDFDFD")  # 50 % of 10, never twice in a row
    summary = signals_of(system)
    assert (summary.peer.window_attempts, summary.peer.window_failed) == (10, 5)
    assert summary.peer.failure_rate == 0.5
    assert summary.peer.consecutive_failures == 1
    assert summary.alerts == ["failing"]


def test_failure_rate_below_the_threshold_or_the_minimum_attempts_is_not(waiting, system):
    tried(waiting, "FDFDFDFDF")  # 5 of 9: high, but fewer than the minimum attempts
    assert signals_of(system).alerts == []
    DeliveryAttempt.objects.all().delete()
    tried(waiting, "FDFDFDFDDD")  # 4 of 10: below 50 %
    assert signals_of(system).alerts == []


def test_only_the_window_counts_and_refusals_do_not(waiting, system):
    now = timezone.now()
    tried(waiting, "FDFDF", now=now)
    tried(waiting, "FFFFFFFFFF", now=now - timedelta(minutes=6))  # before the window
    tried(waiting, "RRRRR", now=now, offset=timedelta(seconds=2))  # the peer refused messages
    summary = signals_of(system)
    assert (summary.peer.window_attempts, summary.peer.window_failed) == (5, 3)
    assert summary.peer.consecutive_failures == 1
    assert summary.alerts == []  # 60 %, but of fewer than the minimum attempts


def test_a_high_rate_ends_when_the_peer_has_recovered(waiting, system):
    tried(waiting, "DDFFFFDFFFFD")  # 8 of 12 failed, but the newest two were delivered
    assert signals_of(system).alerts == ["failing"]
    DeliveryAttempt.objects.all().delete()
    tried(waiting, "DDDFFFFDFFFF")  # 8 of 12 failed; the newest three delivered: recovered
    summary = signals_of(system)
    assert summary.peer.failure_rate == pytest.approx(8 / 12)
    assert summary.peer.recovered and summary.alerts == []


# --- failures in a row, unreachable ---------------------------------------------------------


def test_failures_in_a_row(waiting, system):
    tried(waiting, "FFFFD")
    summary = signals_of(system)
    assert (summary.peer.consecutive_failures, summary.alerts) == (4, [])
    DeliveryAttempt.objects.all().delete()
    tried(waiting, "FFFFFD")
    summary = signals_of(system)
    assert (summary.peer.consecutive_failures, summary.alerts) == (5, ["failing"])
    oldest_failure = DeliveryAttempt.objects.order_by("-started_at")[4]
    assert summary.peer.failing_since == oldest_failure.started_at


def test_failures_in_a_row_are_counted_up_to_the_cap(waiting, system, client, person):
    tried(waiting, "F" * 60, every=timedelta(seconds=1))
    summary = signals_of(system)
    assert (summary.peer.consecutive_failures, summary.peer.consecutive_capped) == (50, True)
    page = person("auditor").get(MONITOR).content.decode()
    row = page.split(f'data-system="{system.name}"')[1].split("</tr>")[0]
    assert 'data-col="consecutive">50+' in row


def test_unreachable_when_the_newest_attempts_found_no_connection(waiting, system):
    tried(waiting, "CTCD")
    summary = signals_of(system)
    assert summary.peer.unreachable
    assert summary.alerts == ["unreachable"]  # 3 in a row: not yet failing
    DeliveryAttempt.objects.all().delete()
    tried(waiting, "CFCD")  # the peer answered 503 in between: it is there
    summary = signals_of(system)
    assert not summary.peer.unreachable and summary.alerts == []


def test_refusals_neither_break_nor_extend_a_run(waiting, system):
    tried(waiting, "CRCRC")
    summary = signals_of(system)
    assert (summary.peer.consecutive_failures, summary.peer.unreachable) == (3, True)
    assert summary.peer.last_error.error_class == "connection"


def test_no_peer_alert_without_a_delivery_to_fail(waiting, system):
    tried(waiting, "CCCCCC")
    assert signals_of(system).alerts == ["failing", "unreachable"]
    services.system_delivery_configure(system=system, actor=None, reason="maintenance",
                                       delivery_enabled=False)
    assert signals_of(system).alerts == []  # paused: the operator knows
    services.system_delivery_configure(system=system, actor=None, reason="back",
                                       delivery_enabled=True)
    OutboundMessage.objects.filter(pk=waiting.pk).update(status=OutboundStatus.CANCELLED)
    summary = signals_of(system)
    assert summary.alerts == []  # nothing left to deliver
    assert summary.peer.unreachable  # the signal itself still shows


# --- stuck sends ----------------------------------------------------------------------------


def test_a_send_whose_lease_ran_out_long_ago_is_stuck(waiting, system):
    now = timezone.now()
    OutboundMessage.objects.filter(pk=waiting.pk).update(
        status=OutboundStatus.SENDING, lease_until=now - timedelta(minutes=2))
    assert (signals_of(system).stuck_sending, signals_of(system).alerts) == (0, [])
    OutboundMessage.objects.filter(pk=waiting.pk).update(lease_until=now - timedelta(minutes=4))
    summary = signals_of(system)
    assert (summary.stuck_sending, summary.alerts) == (1, ["stuck"])
    assert summary.stuck_since == now - timedelta(minutes=4)
    [alert] = current_flow_alerts()
    assert alert.text.startswith(f"{system.name}: 1 message stuck in sending: a lease ran out at")


# --- waiting, counts ------------------------------------------------------------------------


def test_a_held_message_waits_from_its_not_before(waiting, system):
    now = timezone.now()
    OutboundMessage.objects.filter(pk=waiting.pk).update(
        enqueued_at=now - timedelta(days=2), not_before=now - timedelta(minutes=10))
    assert signals_of(system).oldest_waiting_since == now - timedelta(minutes=10)
    OutboundMessage.objects.filter(pk=waiting.pk).update(not_before=now + timedelta(minutes=10))
    assert signals_of(system).oldest_waiting_since is None  # held back on purpose: not waiting


def test_counts_stop_at_the_cap(waiting, system, person):
    about = Group.objects.get(name="signals object")
    now = timezone.now()
    OutboundMessage.objects.bulk_create([
        OutboundMessage(system=system, topic="t", about=about, payload={}, ordering_key=f"k{n}",
                        idempotency_key=uuid.uuid4().hex, created_at=now, enqueued_at=now,
                        next_attempt_at=now, status=OutboundStatus.DEAD)
        for n in range(selectors.COUNT_CAP + 1)], batch_size=2000)
    body = person("auditor").get(STATUS).json()
    [row] = body["systems"]
    assert (row["counts"]["dead"], row["dead"], row["counts_capped"]) == (10_000, 10_000, ["dead"])
    assert (row["counts"]["retrying"], row["waiting"]) == (1, 1)
    assert body["count_cap"] == 10_000
    assert current_flow_alerts()[0].text == f"{system.name}: 10,000+ dead messages need action"
    assert ">10,000+</a>" in person("operator").get(MONITOR).content.decode()


# --- flow status, monitor, e-mail -----------------------------------------------------------


def test_flow_status_shows_the_signals_and_the_last_error(waiting, system, person):
    tried(waiting, "CCCCCD")
    auditor = person("auditor")
    body = auditor.get(STATUS).json()
    assert body["status"] == "alert"
    assert body["failure_window_minutes"] == 5
    [row] = body["systems"]
    newest = DeliveryAttempt.objects.order_by("-started_at").first()
    assert row["alerts"] == ["failing", "unreachable"]
    assert (row["window_attempts"], row["window_failed_attempts"]) == (6, 5)
    assert row["window_failure_rate"] == pytest.approx(5 / 6)
    assert (row["consecutive_failures"], row["consecutive_failures_capped"]) == (5, False)
    assert row["unreachable"] is True
    assert (row["stuck_sending"], row["stuck_since"]) == (0, None)
    assert row["last_error"] == {
        "at": newest.started_at.isoformat().replace("+00:00", "Z"), "error_class": "connection",
        "response_status": None, "error": "ConnectError: [Errno 111] Connection refused"}

    tried(waiting, "DDD", offset=timedelta(milliseconds=1), every=timedelta(milliseconds=1))
    body = auditor.get(STATUS).json()
    assert body["status"] == "ok"
    assert body["systems"][0]["failing_since"] is None


def test_the_monitor_shows_the_signals(waiting, system, person):
    tried(waiting, "CCCCCD")
    OutboundMessage.objects.filter(pk=waiting.pk).update(
        status=OutboundStatus.SENDING, lease_until=timezone.now() - timedelta(minutes=10))
    page = person("operator").get(MONITOR).content.decode()
    row = page.split(f'data-system="{system.name}"')[1].split("</tr>")[0]
    assert 'data-alerts="failing unreachable stuck"' in row
    assert 'data-signal="unreachable"' in row and ">1 stuck</span>" in row
    assert 'data-col="error-rate">83% of 6 attempts' in row
    assert 'data-col="consecutive">5<br><small>since' in row
    assert "<code>connection</code>" in row and "Connection refused" in row


@pytest.mark.parametrize("count", [10, 2000])
def test_flow_status_query_count_does_not_grow(waiting, system, person, count,
                                               django_assert_num_queries):
    about = Group.objects.get(name="signals object")
    now = timezone.now()
    statuses = list(OutboundStatus.values)
    OutboundMessage.objects.bulk_create([
        OutboundMessage(system=system, topic="t", about=about, payload={}, ordering_key=f"k{n}",
                        idempotency_key=uuid.uuid4().hex, created_at=now, enqueued_at=now,
                        next_attempt_at=now, status=statuses[n % len(statuses)])
        for n in range(count)], batch_size=1000)
    tried(waiting, "FD" * (count // 2), every=timedelta(milliseconds=50))
    auditor = person("auditor")
    auditor.get(STATUS)  # warm: content types, permissions
    # session, user, user and group permissions, the systems' figures, their newest attempts,
    # the open attention items by kind, the open drift findings by system
    with django_assert_num_queries(8):
        assert auditor.get(STATUS).status_code == 200


def test_alert_mail_names_the_signal_since_when_and_the_last_error(waiting, system):
    tried(waiting, "FFFFFD")
    with override_settings(THREAD_ALERT_EMAILS=["ops@example.com"]):
        assert flow_alerts_notify() == 1
        [message] = mail.outbox
        assert f"- {system.name}: deliveries failing: " in message.body
        assert "5 failures in a row since " in message.body
        assert "the peer's last error, " in message.body
        assert "http-503 (503): the peer answered 503" in message.body

        # Recovery clears the alert and its notice; a new outage is mailed again.
        tried(waiting, "DDD", offset=timedelta(milliseconds=1), every=timedelta(milliseconds=1))
        assert flow_alerts_notify() == 0
        notice = FlowAlertNotice.objects.get()
        assert (notice.kind, notice.cleared_at is not None) == ("failing", True)
        tried(waiting, "CCCCC", offset=timedelta(microseconds=100), every=timedelta(microseconds=10))
        assert flow_alerts_notify() == 2
    assert "peer unreachable: its last 3 attempts found no connection or timed out" in \
        mail.outbox[1].body
    assert "connection: ConnectError: [Errno 111] Connection refused" in mail.outbox[1].body


# --- an outage of a real peer, under real task clusters --------------------------------------


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("fault", ["refused", "500"])
def test_an_outage_turns_the_status_to_alert_within_the_window_and_back(
        fault, broker, clusters, peers, client):
    """The peer refuses connections (it is not listening) or answers 500; the flow status, read
    through the API as a monitoring tool would, says `alert` within the failure window (here
    one minute) with the signal and the peer's error, and `ok` again once the peer is back and
    delivers, every message then delivered exactly once."""
    down = threading.Event()
    if fault == "500":
        down.set()
    peer = peers(lambda key, nth, body: Reply(500, apply=False) if down.is_set() else Reply(),
                 start=fault == "500")
    system = make_system(peer)
    tool = get_user_model().objects.create_superuser("monitoring-tool", password="pw")
    client.force_login(tool)

    def status() -> dict:
        body = client.get(STATUS).json()
        return {"status": body["status"],
                **next(row for row in body["systems"] if row["id"] == system.pk)}

    with override_settings(THREAD_ALERT_FAILURE_WINDOW_MINUTES=1):
        messages = write_messages(system, keys=3, per_key=2)
        cluster = clusters()
        outage = time.monotonic()
        # Unreachable comes first (three attempts), failing once five have failed in a row.
        expected = {"failing", "unreachable"} if fault == "refused" else {"failing"}
        wait_for(lambda: status()["status"] == "alert" and expected <= set(status()["alerts"]),
                 timeout=20, tick=broker.kick, what=f"the flow status in alert: {expected}")
        assert time.monotonic() - outage < 60
        during = status()
        assert "failing" in during["alerts"]
        assert during["consecutive_failures"] >= 5 and during["failing_since"]
        if fault == "refused":
            assert "unreachable" in during["alerts"]
            assert during["last_error"]["error_class"] == "connection"
        else:
            assert "unreachable" not in during["alerts"] and not during["unreachable"]
            assert (during["last_error"]["error_class"],
                    during["last_error"]["response_status"]) == ("http-500", 500)
        assert not DeliveryAttempt.objects.filter(outcome=AttemptOutcome.DELIVERED).exists()

        if fault == "refused":
            peer.start()
        else:
            down.clear()
        wait_for(lambda: status()["status"] == "ok", timeout=60, tick=broker.kick,
                 what="the flow status ok again")
        after = status()
        assert after["alerts"] == [] and after["consecutive_failures"] == 0
        assert after["window_failed_attempts"] > 0  # the outage is still in the window
        wait_all(broker, [cluster], messages)
    assert_exactly_once_in_order(peer, messages)
