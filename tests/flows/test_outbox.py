"""The outbox in one process: writing, superseding, claiming, classification into statuses,
operator actions, API, admin and retention. Real PostgreSQL, a real HTTP peer
(pytest-httpserver). Fault tests with worker processes are in test_delivery_faults.py."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from django_q.models import OrmQ, Schedule

from thread.errors import InvalidInput, StateConflict
from thread.flows import delivery, outbox, services
from thread.flows.choices import OutboundEventKind, OutboundStatus
from thread.flows.models import DeliveryAttempt, OutboundMessage, OutboundMessageEvent

from ..conftest import problem
from ..queues import own_queue
from .outbox_support import write

MESSAGES = "/api/v1/flows/outbound-messages/"


@pytest.mark.django_db(transaction=True)
def test_write_needs_the_callers_transaction(erp_peer, about):
    with pytest.raises(transaction.TransactionManagementError):
        outbox.outbound_message_write(system=erp_peer.system, topic="t", payload={}, about=about,
                                      cause=None, ordering_key="k")


def test_write_records_the_message_and_enqueues_one_drain_per_transaction(
        erp_peer, about, django_capture_on_commit_callbacks, monkeypatch):
    with (own_queue(monkeypatch, "orm"),  # the queue read below, whatever REDIS_URL says
          django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic()):
        first = outbox.outbound_message_write(
            system=erp_peer.system, topic="mbom.version", payload={"qty": "1.5"}, about=about,
            cause=erp_peer.system, ordering_key="mbom:BER:A", correlation_id="req-42")
        second = outbox.outbound_message_write(
            system=erp_peer.system, topic="mbom.version", payload={}, about=about, cause=None,
            ordering_key="mbom:BER:B")
    assert len(callbacks) == 1
    assert OrmQ.objects.count() == 1
    assert OrmQ.objects.get().task["args"] == ([first.pk, second.pk],)
    first.refresh_from_db()
    assert (first.status, first.attempts, first.correlation_id, first.about, first.cause) == (
        OutboundStatus.PENDING, 0, "req-42", about, erp_peer.system)
    assert first.idempotency_key.startswith("thread-")
    assert second.correlation_id  # a fresh one when the caller has none


def test_a_rolled_back_write_leaves_nothing(erp_peer, about, django_capture_on_commit_callbacks):
    with (django_capture_on_commit_callbacks(execute=True) as callbacks,
          pytest.raises(RuntimeError), transaction.atomic()):
        outbox.outbound_message_write(system=erp_peer.system, topic="t", payload={},
                                      about=about, cause=None, ordering_key="k")
        raise RuntimeError("the business change failed")
    assert callbacks == []
    assert not OutboundMessage.objects.exists()


def test_newest_message_per_object_and_topic_supersedes_the_unsent_ones(erp_peer, about):
    old = write(erp_peer.system, about, payload={"v": 1})
    other_topic = write(erp_peer.system, about, topic="routing", payload={"v": 1})
    new = write(erp_peer.system, about, payload={"v": 2})
    old.refresh_from_db()
    other_topic.refresh_from_db()
    assert (old.status, old.superseded_by) == (OutboundStatus.SUPERSEDED, new)
    assert other_topic.status == OutboundStatus.PENDING
    event = OutboundMessageEvent.objects.get(message=old)
    assert (event.kind, event.from_status, event.reason) == (
        OutboundEventKind.SUPERSEDED, OutboundStatus.PENDING, f"superseded by message #{new.pk}")


def _state(messages):
    """What a write leaves, comparable between single and bulk writes (ids mapped to their
    position in the list)."""
    position = {m.pk: i for i, m in enumerate(messages)}
    rows = []
    for m in messages:
        m.refresh_from_db()
        events = [(e.kind, e.from_status, e.to_status,
                   e.reason.replace(f"#{m.superseded_by_id}", f"#{position.get(m.superseded_by_id)}"))
                  for e in OutboundMessageEvent.objects.filter(message=m)]
        rows.append((m.topic, m.ordering_key, m.payload, m.status,
                     position.get(m.superseded_by_id), m.finished_at is not None, m.not_before,
                     m.correlation_id if m.correlation_id == "req" else bool(m.correlation_id),
                     events))
    return rows


def test_bulk_write_leaves_what_the_same_single_writes_leave(erp_peer, about,
                                                            django_assert_max_num_queries):
    later = timezone.now() + timedelta(days=1)
    batch = [("mbom.version", "k:A", {"v": 2}, ""), ("routing", "k:A", {"v": 1}, "req"),
             ("mbom.version", "k:B", {"v": 1}, ""), ("mbom.version", "k:A", {"v": 3}, "req")]
    results = []
    for bulk in (False, True):
        OutboundMessage.objects.all().delete()
        old = [write(erp_peer.system, about, key="k:A", payload={"v": 1}),
               write(erp_peer.system, about, key="k:C", payload={"v": 1})]
        with transaction.atomic():
            if bulk:
                with django_assert_max_num_queries(6):
                    new = outbox.outbound_messages_write(system=erp_peer.system, messages=[
                        outbox.NewOutboundMessage(topic=t, payload=p, about=about, cause=None,
                                                  ordering_key=k, correlation_id=c,
                                                  not_before=later) for t, k, p, c in batch])
            else:
                new = [outbox.outbound_message_write(
                    system=erp_peer.system, topic=t, payload=p, about=about, cause=None,
                    ordering_key=k, correlation_id=c, not_before=later) for t, k, p, c in batch]
        # The test's own transaction never commits: the drain it would enqueue is still pending.
        (trigger,) = [f for _, f, _ in transaction.get_connection().run_on_commit
                      if isinstance(f, outbox._DrainTrigger)]
        assert trigger.message_ids[-len(new):] == [m.pk for m in new]
        results.append(_state(old + new))
    assert results[0] == results[1]
    assert results[1][0][3:5] == (OutboundStatus.SUPERSEDED, 2)  # by the first new k:A message


def test_bulk_write_checks_like_the_single_write(erp_peer, about):
    with transaction.atomic(), pytest.raises(InvalidInput):
        outbox.outbound_messages_write(system=erp_peer.system, messages=[
            outbox.NewOutboundMessage(topic=" ", payload={}, about=about, cause=None,
                                      ordering_key="k")])
    assert not OutboundMessage.objects.exists()


def test_drain_delivers_through_the_rest_connector(erp_peer, about, httpserver):
    httpserver.expect_request("/erp/in/mbom.version", method="POST").respond_with_json({}, 201)
    message = write(erp_peer.system, about, payload={"qty": "2.5"}, correlation_id="c-1")
    report = delivery.drain(budget_seconds=5)
    assert (report.claimed, report.delivered) == (1, 1)
    message.refresh_from_db()
    assert (message.status, message.attempts, message.lease_token) == (
        OutboundStatus.DELIVERED, 1, "")
    attempt = DeliveryAttempt.objects.get(message=message)
    assert (attempt.number, attempt.response_status, attempt.outcome) == (1, 201, "delivered")
    request, _ = httpserver.log[-1]
    assert request.headers["Idempotency-Key"] == message.idempotency_key
    assert request.headers["X-Correlation-ID"] == "c-1"
    assert request.get_json() == {"qty": "2.5"}


def test_order_per_object_the_next_waits_until_the_first_is_final(erp_peer, about):
    first = write(erp_peer.system, about, topic="a")
    second = write(erp_peer.system, about, topic="b")
    unrelated = write(erp_peer.system, about, topic="a", key="other")
    claimed = delivery.claim(limit=10)
    assert [m.pk for m in claimed] == [first.pk, unrelated.pk]
    assert delivery.claim(limit=10) == []  # second waits while first is sending
    OutboundMessage.objects.filter(pk=first.pk).update(status=OutboundStatus.DEAD)
    assert [m.pk for m in delivery.claim(limit=10)] == [second.pk]


def test_not_before_and_disabled_systems_wait(erp_peer, about):
    write(erp_peer.system, about, not_before=timezone.now() + timedelta(hours=1))
    write(erp_peer.system, about, key="k2", topic="t")
    services.system_delivery_configure(system=erp_peer.system, actor=None, reason="maintenance",
                                       delivery_enabled=False)
    assert delivery.claim(limit=10) == []
    services.system_delivery_configure(system=erp_peer.system, actor=None, reason="back",
                                       delivery_enabled=True)
    assert [m.ordering_key for m in delivery.claim(limit=10)] == ["k2"]
    assert erp_peer.system.history.first().history_change_reason == "back"


def test_an_expired_lease_is_claimable_again_and_a_live_one_is_not(erp_peer, about):
    message = write(erp_peer.system, about)
    assert len(delivery.claim(limit=1)) == 1
    assert delivery.claim(limit=1, expired=True) == []
    later = timezone.now() + timedelta(seconds=121)
    again = delivery.claim(limit=1, expired=True, now=later)
    assert [m.pk for m in again] == [message.pk]
    assert again[0].leases == 2


@override_settings(THREAD_OUTBOX_QUARANTINE_AFTER=2)
def test_a_message_that_keeps_killing_its_worker_is_quarantined(erp_peer, about, httpserver):
    message = write(erp_peer.system, about)
    now = timezone.now()
    for round_ in range(3):  # three claims whose worker died (no outcome recorded)
        assert delivery.claim(limit=1, expired=round_ > 0, now=now)
        now += timedelta(seconds=200)
    OutboundMessage.objects.filter(pk=message.pk).update(lease_until=timezone.now())
    report = delivery.drain(budget_seconds=5)
    message.refresh_from_db()
    assert (report.dead, message.status, message.attempts) == (1, OutboundStatus.DEAD, 0)
    assert "quarantined" in message.last_error
    assert OutboundMessageEvent.objects.get(message=message).kind == OutboundEventKind.QUARANTINED
    assert httpserver.log == []


def test_5xx_retries_with_backoff_then_dies_after_max_attempts(erp_peer, about, httpserver):
    httpserver.expect_request("/erp/in/mbom.version").respond_with_data("busy", status=503)
    message = write(erp_peer.system, about)
    delivery.drain(budget_seconds=5)
    message.refresh_from_db()
    assert (message.status, message.attempts) == (OutboundStatus.RETRYING, 1)
    wait = (message.next_attempt_at - timezone.now()).total_seconds()
    assert 4 < wait <= 10  # base 10 s with equal jitter
    for _ in range(2):
        OutboundMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
        delivery.drain(budget_seconds=5)
    message.refresh_from_db()
    assert (message.status, message.attempts) == (OutboundStatus.DEAD, 3)
    assert message.last_error.startswith("gave up after 3 attempts; last: http-503")
    # The last attempt carries the final verdict: it is the one that made the message dead.
    assert list(message.delivery_attempts.values_list("outcome", flat=True)) == [
        "retry", "retry", "dead"]


def test_429_honours_retry_after(erp_peer, about, httpserver):
    httpserver.expect_request("/erp/in/mbom.version").respond_with_data(
        "", status=429, headers={"Retry-After": "45"})
    message = write(erp_peer.system, about)
    delivery.drain(budget_seconds=5)
    message.refresh_from_db()
    assert message.status == OutboundStatus.RETRYING
    assert (message.next_attempt_at - timezone.now()).total_seconds() > 40


def test_a_4xx_goes_to_the_dead_letter_at_once(erp_peer, about, httpserver):
    httpserver.expect_request("/erp/in/mbom.version").respond_with_data("bad qty", status=422)
    message = write(erp_peer.system, about)
    delivery.drain(budget_seconds=5)
    message.refresh_from_db()
    assert (message.status, message.attempts) == (OutboundStatus.DEAD, 1)
    assert message.last_error == "http-422: the peer refused the message with 422"
    assert message.delivery_attempts.get().response_excerpt == "bad qty"


def test_backoff_is_exponential_capped_and_jittered():
    low = [delivery.next_delay(attempt=n, base=2, cap=60, rand=lambda a, b: a) for n in (1, 2, 3,
                                                                                       9)]
    high = [delivery.next_delay(attempt=n, base=2, cap=60, rand=lambda a, b: b) for n in (1, 2, 3,
                                                                                        9)]
    assert low == [1, 2, 4, 30]
    assert high == [2, 4, 8, 60]
    assert delivery.next_delay(attempt=1, base=2, cap=60, retry_after=120) == 120


@override_settings(THREAD_OUTBOX_MAX_AGE_HOURS=1)
def test_a_message_older_than_the_maximum_age_expires_unsent(erp_peer, about, httpserver):
    message = write(erp_peer.system, about)
    OutboundMessage.objects.filter(pk=message.pk).update(
        enqueued_at=timezone.now() - timedelta(hours=2))
    delivery.drain(budget_seconds=5)
    message.refresh_from_db()
    assert message.status == OutboundStatus.DEAD
    assert message.events.get().kind == OutboundEventKind.EXPIRED
    assert httpserver.log == []


def test_operator_actions_are_audited_and_guarded(erp_peer, about, person):
    operator = person("operator").user
    message = write(erp_peer.system, about)
    OutboundMessage.objects.filter(pk=message.pk).update(
        status=OutboundStatus.RETRYING, next_attempt_at=timezone.now() + timedelta(hours=1))
    outbox.outbound_message_retry(message=message, actor=operator, reason="peer is back")
    message.refresh_from_db()
    assert message.next_attempt_at <= timezone.now()
    with pytest.raises(StateConflict):
        outbox.outbound_message_replay(message=message, actor=operator, reason="x")
    outbox.outbound_message_cancel(message=message, actor=operator, reason="wrong plant")
    message.refresh_from_db()
    assert message.status == OutboundStatus.CANCELLED
    outbox.outbound_message_replay(message=message, actor=operator, reason="right after all")
    message.refresh_from_db()
    assert (message.status, message.attempts) == (OutboundStatus.PENDING, 0)
    events = list(message.events.values_list("kind", "actor__username", "reason"))
    assert events == [
        ("retried", "operator-user", "peer is back"),
        ("cancelled", "operator-user", "wrong plant"),
        ("replayed", "operator-user", "right after all"),
    ]
    with pytest.raises(InvalidInput):
        outbox.outbound_message_cancel(message=message, actor=operator, reason=" ")


def test_replaying_stale_data_needs_confirmation(erp_peer, about):
    old = write(erp_peer.system, about, payload={"v": 1})
    OutboundMessage.objects.filter(pk=old.pk).update(status=OutboundStatus.DEAD)
    write(erp_peer.system, about, payload={"v": 2})
    with pytest.raises(StateConflict, match="Replay with confirm"):
        outbox.outbound_message_replay(message=old, actor=None, reason="try again")
    outbox.outbound_message_replay(message=old, actor=None, reason="ERP lost v1", confirm=True)
    old.refresh_from_db()
    assert old.status == OutboundStatus.PENDING


def test_purge_keeps_dead_and_recent_messages_and_the_last_delivered_of_each_object(
        erp_peer, about):
    done = write(erp_peer.system, about, key="a")
    last_of_a = write(erp_peer.system, about, key="a", topic="mbom.version")
    recent = write(erp_peer.system, about, key="b")
    dead = write(erp_peer.system, about, key="c")
    long_ago = timezone.now() - timedelta(days=31)
    OutboundMessage.objects.filter(pk__in=[done.pk, last_of_a.pk]).update(
        status=OutboundStatus.DELIVERED, finished_at=long_ago)
    OutboundMessage.objects.filter(pk=recent.pk).update(status=OutboundStatus.DELIVERED,
                                                        finished_at=timezone.now())
    OutboundMessage.objects.filter(pk=dead.pk).update(status=OutboundStatus.DEAD,
                                                      finished_at=long_ago)
    DeliveryAttempt.objects.create(message=done, number=1, started_at=long_ago, duration_ms=1,
                                   outcome="delivered")
    assert outbox.outbound_messages_purge() == 1
    # What the peer was last told about "a" stays: the drift check compares it, a re-push
    # resends it.
    assert set(OutboundMessage.objects.values_list("pk", flat=True)) == {
        last_of_a.pk, recent.pk, dead.pk}
    assert not DeliveryAttempt.objects.exists()


def test_a_system_reads_only_its_own_messages(erp_peer, mes, about):
    mine = write(erp_peer.system, about)
    write(mes.system, about)
    response = erp_peer.get(MESSAGES)
    assert response.status_code == 200
    assert [m["id"] for m in response.json()["results"]] == [mine.pk]
    assert response.json()["results"][0]["about"] == {"type": "auth.group", "id": str(about.pk)}
    assert mes.get(f"{MESSAGES}{mine.pk}/").status_code == 404
    assert erp_peer.push(f"{MESSAGES}{mine.pk}/cancel/", {"reason": "x"}).status_code == 403


def test_list_query_count_is_pinned(erp_peer, about, django_assert_num_queries):
    for n in range(5):
        write(erp_peer.system, about, key=f"k{n}")
    erp_peer.get(MESSAGES)  # warm the key's last-used write and content types
    with django_assert_num_queries(2):  # api key, messages with system and content types
        assert len(erp_peer.get(MESSAGES).json()["results"]) == 5


def with_csrf(client):
    client.cookies["csrftoken"] = client.csrf_token
    client.defaults["HTTP_X_CSRFTOKEN"] = client.csrf_token
    return client


def test_operator_actions_through_the_api(erp_peer, about, person):
    operator = with_csrf(person("operator"))
    auditor = with_csrf(person("auditor"))
    message = write(erp_peer.system, about)
    OutboundMessage.objects.filter(pk=message.pk).update(status=OutboundStatus.DEAD)
    url = f"{MESSAGES}{message.pk}/replay/"
    assert auditor.post(url, {"reason": "x"}, format="json").status_code == 403
    missing = operator.post(url, {}, format="json")
    assert missing.status_code == 400
    assert problem(missing)["errors"][0]["pointer"] == "/reason"
    response = operator.post(url, {"reason": "ERP fixed the unit"}, format="json",
                             HTTP_IDEMPOTENCY_KEY="op-1")
    assert response.status_code == 200
    assert response.json()["status"] == "pending"
    assert response.json()["events"][-1]["actor"] == "operator-user"
    again = operator.post(url, {"reason": "ERP fixed the unit"}, format="json",
                          HTTP_IDEMPOTENCY_KEY="op-1")
    assert again["Idempotent-Replayed"] == "true"
    assert message.events.count() == 1
    retried = operator.post(f"{MESSAGES}{message.pk}/retry/", {"reason": "now"}, format="json")
    assert retried.status_code == 200  # pending: retry now is allowed
    sent = operator.post(f"{MESSAGES}{message.pk}/replay/", {"reason": "again"}, format="json")
    assert sent.status_code == 409
    detail = operator.get(f"{MESSAGES}{message.pk}/").json()
    assert detail["payload"] == {"n": 1}


def test_operator_replays_a_dead_message_from_the_admin(erp_peer, about, person, client):
    operator = person("operator")
    client.force_login(operator.user)
    message = write(erp_peer.system, about)
    OutboundMessage.objects.filter(pk=message.pk).update(status=OutboundStatus.DEAD,
                                                         last_error="http-422: refused")
    page = client.get(f"/admin/flows/outboundmessage/{message.pk}/change/")
    assert page.status_code == 200
    assert b"http-422: refused" in page.content
    changelist = "/admin/flows/outboundmessage/"
    listing = client.get(changelist, {"status": "dead"})
    assert b"Replay dead or cancelled messages" in listing.content
    refused = client.post(changelist, {"action": "replay", "_selected_action": [message.pk],
                                         "reason": ""}, follow=True)
    assert b"needs a reason" in refused.content
    client.post(changelist, {"action": "replay", "_selected_action": [message.pk],
                               "reason": "unit mapping fixed in ERP"})
    message.refresh_from_db()
    assert message.status == OutboundStatus.PENDING
    event = message.events.get()
    assert (event.kind, event.actor, event.reason) == ("replayed", operator.user,
                                                        "unit mapping fixed in ERP")


def test_setup_thread_schedules_the_drain_every_minute_and_the_purge(db):
    call_command("setup_thread", stdout=io.StringIO())
    drain = Schedule.objects.get(name="drain outbox")
    assert (drain.func, drain.schedule_type, drain.minutes) == (
        "thread.flows.tasks.drain_outbox", Schedule.MINUTES, 1)
    assert Schedule.objects.get(name="purge outbound messages").func == \
        "thread.flows.tasks.purge_outbox"
    drift = Schedule.objects.get(name="check drift")
    assert (drift.func, drift.minutes) == ("thread.flows.tasks.check_drift", 5)
