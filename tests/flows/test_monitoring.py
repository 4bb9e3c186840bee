"""The flow monitor: aggregates per system, the message list and page with the operator actions,
pinned query counts, the alert banner and e-mail, /healthz and the flow-status endpoint."""

from __future__ import annotations

import base64
import io
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core import mail
from django.core.management import call_command
from django.db import OperationalError, connection, transaction
from django.test import override_settings
from django.utils import timezone
from django_q.models import Schedule

from bench.rig import free_port
from thread.flows import outbox, services
from thread.flows.alerts import current_flow_alerts, flow_alerts_notify
from thread.flows.choices import AttemptOutcome, OutboundStatus
from thread.flows.models import DeliveryAttempt, FlowAlertNotice, OutboundMessage
from thread.flows.selectors import outbound_message_actions, system_flow_summaries

from .. import queues

MONITOR = "/admin/flows/monitor/"
STATUS = "/api/v1/flows/status/"


@pytest.fixture
def about(db):
    return Group.objects.create(name="an mBOM the messages are about")


@pytest.fixture
def erp_system(erp):
    # Delivery is paused: these tests set statuses themselves, no worker interferes.
    return services.system_delivery_configure(
        system=erp.system, actor=None, reason="monitor test", connector="rest",
        base_url="https://user:pw@erp.example.com/api/", connector_options={"paths": {"*": "{topic}"}},
        delivery_enabled=False)


def write(system, about, key="mbom:BER:BK-100", topic="mbom.published", **extra):
    with transaction.atomic():
        return outbox.outbound_message_write(system=system, topic=topic, payload={"part": key},
                                             about=about, cause=None, ordering_key=key, **extra)


def set_status(message, status, **fields):
    OutboundMessage.objects.filter(pk=message.pk).update(status=status, **fields)


def bulk_messages(system, about, count: int) -> None:
    """`count` messages spread over every status, written in bulk (the tests count queries, not
    the outbox's write path)."""
    now = timezone.now()
    statuses = list(OutboundStatus.values)
    OutboundMessage.objects.bulk_create([
        OutboundMessage(system=system, topic="mbom.published", about=about, payload={"n": n},
                        idempotency_key=f"bulk-{uuid.uuid4()}", ordering_key=f"mbom:BER:P-{n}",
                        correlation_id=f"c-{n}", status=statuses[n % len(statuses)],
                        created_at=now, enqueued_at=now, next_attempt_at=now)
        for n in range(count)], batch_size=500)


def operator_client(client, person):
    user = person("operator").user
    client.force_login(user)
    return client


def test_aggregates_per_system_are_exact(erp_system, mes, about):
    now = timezone.now()
    for n in range(3):
        write(erp_system, about, key=f"k-pending-{n}")
    old = write(erp_system, about, key="k-old")
    OutboundMessage.objects.filter(pk=old.pk).update(enqueued_at=now - timedelta(minutes=45),
                                                     status=OutboundStatus.RETRYING)
    held = write(erp_system, about, key="k-held", not_before=now + timedelta(days=2))
    OutboundMessage.objects.filter(pk=held.pk).update(enqueued_at=now - timedelta(days=1))
    delivered = write(erp_system, about, key="k-done")
    set_status(delivered, OutboundStatus.DELIVERED, delivered_at=now - timedelta(minutes=5))
    for n in range(2):
        set_status(write(erp_system, about, key=f"k-dead-{n}"), OutboundStatus.DEAD)
    for outcome, minutes in [(AttemptOutcome.DELIVERED, 5), (AttemptOutcome.RETRY, 10),
                             (AttemptOutcome.DEAD, 20), (AttemptOutcome.RETRY, 90)]:
        DeliveryAttempt.objects.create(message=old, system=erp_system, number=1, outcome=outcome,
                                       duration_ms=5, started_at=now - timedelta(minutes=minutes))
    write(mes.system, about)  # a system without a connector, but with a message: shown

    summaries = {s.system.name: s for s in system_flow_summaries(now=now)}

    erp = summaries[erp_system.name]
    assert erp.counts == {"pending": 4, "sending": 0, "delivered": 1, "retrying": 1, "dead": 2,
                          "superseded": 0, "cancelled": 0}
    assert (erp.waiting, erp.dead) == (5, 2)
    assert erp.oldest_waiting_age == timedelta(minutes=45)  # the held message is not stuck
    assert erp.last_delivered_at == now - timedelta(minutes=5)
    assert (erp.attempts_last_hour, erp.failed_attempts_last_hour) == (3, 2)
    assert erp.error_rate_last_hour == pytest.approx(2 / 3)
    assert erp.alerts == ["dead", "stale"]
    assert summaries[mes.system.name].waiting == 1
    assert summaries[mes.system.name].alerts == []


def test_alerts_follow_the_configured_age(erp_system, about):
    message = write(erp_system, about)
    OutboundMessage.objects.filter(pk=message.pk).update(
        enqueued_at=timezone.now() - timedelta(minutes=20))
    with override_settings(THREAD_ALERT_PENDING_AGE_MINUTES=30):
        assert current_flow_alerts() == []
    with override_settings(THREAD_ALERT_PENDING_AGE_MINUTES=15):
        [alert] = current_flow_alerts()
    assert alert.kind == "stale"
    assert alert.text.startswith(f"{erp_system.name}: the oldest undelivered message has waited 20")


def test_overview_shows_counts_and_hides_credentials_in_urls(erp_system, about, client, person):
    set_status(write(erp_system, about), OutboundStatus.DEAD)
    write(erp_system, about, key="k-2")
    page = operator_client(client, person).get(MONITOR)
    assert page.status_code == 200
    text = page.content.decode()
    assert "https://erp.example.com/api/" in text and "user:pw" not in text
    row = text.split(f'data-system="{erp_system.name}"')[1].split("</tr>")[0]
    assert '<strong>1</strong>' in row  # waiting
    assert 'data-col="dead"><a href' in row
    assert "1 dead message needs action" in text  # the banner


def test_message_list_filters_and_paginates(erp_system, mes, about, client, person):
    bulk_messages(erp_system, about, 120)
    write(mes.system, about, key="mbom:CLT:X", correlation_id="corr-clt")
    client = operator_client(client, person)
    page = client.get(f"{MONITOR}messages/", {"system": erp_system.pk, "status": "dead"})
    assert page.context["page"].paginator.count == 17  # 120 spread over 7 statuses
    assert {m.status for m in page.context["page"]} == {"dead"}
    assert client.get(f"{MONITOR}messages/", {"object": "mbom:BER:P-1"}).context[
        "page"].paginator.count == 31  # P-1, P-10..19, P-100..119
    by_corr = client.get(f"{MONITOR}messages/", {"correlation_id": "corr-clt"}).context["page"]
    assert [m.ordering_key for m in by_corr] == ["mbom:CLT:X"]
    second = client.get(f"{MONITOR}messages/", {"page": 3})
    assert len(second.context["page"]) == 21 and b"page 3 of 3" in second.content


def test_message_page_shows_cause_payload_attempts_and_acts(erp_system, about, client, person):
    plant_admin_cause = get_user_model().objects.create_user("cause-user")
    with transaction.atomic():
        message = outbox.outbound_message_write(
            system=erp_system, topic="mbom.published", payload={"part": "BK-100"}, about=about,
            cause=plant_admin_cause, ordering_key="mbom:BER:BK-100")
    set_status(message, OutboundStatus.DEAD, last_error="http-400: the peer refused the message")
    DeliveryAttempt.objects.create(message=message, number=1, outcome=AttemptOutcome.DEAD,
                                   duration_ms=12, started_at=timezone.now(), response_status=400,
                                   error_class="http-400")
    client = operator_client(client, person)
    url = f"{MONITOR}messages/{message.pk}/"
    page = client.get(url)
    text = page.content.decode()
    assert f'href="/admin/auth/user/{plant_admin_cause.pk}/change/"' in text
    assert "&quot;part&quot;: &quot;BK-100&quot;" in text
    assert "http-400: the peer refused the message" in text
    assert [name for name, _ in page.context["actions"]] == ["replay", "cancel"]
    refused = client.post(f"{url}replay/", {"reason": ""}, follow=True)
    assert b"A reason is required" in refused.content
    client.post(f"{url}replay/", {"reason": "ERP accepts the unit now"})
    message.refresh_from_db()
    assert message.status == OutboundStatus.PENDING
    event = message.events.get(kind="replayed")
    assert (event.actor.username, event.reason) == ("operator-user", "ERP accepts the unit now")


def test_an_overtaken_dead_message_is_offered_only_the_confirmed_replay(erp_system, about):
    dead = write(erp_system, about)
    set_status(dead, OutboundStatus.DEAD)
    dead.refresh_from_db()
    assert outbound_message_actions(dead) == ["replay", "cancel"]
    write(erp_system, about)  # newer data for the same object and topic
    assert outbound_message_actions(dead) == ["replay_confirmed", "cancel"]


def test_only_operators_act_and_everyone_with_view_rights_looks(erp_system, about, client, person):
    message = write(erp_system, about)
    client.force_login(person("auditor").user)
    assert client.get(MONITOR).status_code == 200
    assert client.post(f"{MONITOR}messages/{message.pk}/cancel/", {"reason": "x"}).status_code == 403
    client.force_login(get_user_model().objects.create_user("staff-no-role", is_staff=True))
    assert client.get(MONITOR).status_code == 403
    client.logout()
    assert client.get(MONITOR).status_code == 302


def test_retry_all_waiting_of_a_system(erp_system, about, client, person):
    later = timezone.now() + timedelta(minutes=10)
    messages = [write(erp_system, about, key=f"k{n}") for n in range(3)]
    OutboundMessage.objects.filter(pk__in=[m.pk for m in messages]).update(
        status=OutboundStatus.RETRYING, next_attempt_at=later)
    client = operator_client(client, person)
    response = client.post(f"{MONITOR}systems/{erp_system.pk}/retry/", {"reason": "ERP is back"},
                           follow=True)
    assert b"Retry now: 3 waiting message(s)" in response.content
    assert not OutboundMessage.objects.filter(next_attempt_at=later).exists()


@pytest.mark.parametrize("count", [10, 1000])
def test_monitor_pages_have_pinned_query_counts(erp_system, about, client, person, count,
                                                django_assert_num_queries):
    bulk_messages(erp_system, about, count)
    message = OutboundMessage.objects.order_by("id").first()
    now = timezone.now()
    DeliveryAttempt.objects.bulk_create([
        DeliveryAttempt(message=message, system=erp_system, number=n, duration_ms=5,
                        started_at=now - timedelta(seconds=n), outcome=AttemptOutcome.RETRY,
                        error_class="http-503") for n in range(count)])
    client = operator_client(client, person)
    client.get(MONITOR)  # warm: content types, permissions
    # session, user, user and group permissions, the systems' figures, their newest attempts,
    # the open attention items, the drift-checked systems (with their findings counted and their
    # last run: none here), the banner's figures and attempts
    with django_assert_num_queries(10):
        assert client.get(MONITOR).status_code == 200
    # ... the page's count and rows, the systems of the filter, banner (2)
    with django_assert_num_queries(9):
        assert len(client.get(f"{MONITOR}messages/").context["page"]) == min(count, 50)
    # ... message with system and types, attempts, events, the object it is about, banner (2)
    with django_assert_num_queries(10):
        assert client.get(f"{MONITOR}messages/{message.pk}/").status_code == 200


def test_banner_on_admin_pages_and_alert_mailed_once(erp_system, about, client, person):
    dead = write(erp_system, about)
    set_status(dead, OutboundStatus.DEAD)
    client = operator_client(client, person)
    banner = client.get("/admin/").content.decode()
    assert 'id="flow-alerts"' in banner and f"{erp_system.name}: 1 dead message needs action" in banner

    with override_settings(THREAD_ALERT_EMAILS=["ops@example.com"]):
        assert flow_alerts_notify() == 1
        assert flow_alerts_notify() == 0  # still in force: not mailed again
        assert len(mail.outbox) == 1
        assert mail.outbox[0].to == ["ops@example.com"]
        assert f"{erp_system.name}: 1 dead message needs action" in mail.outbox[0].body
        set_status(dead, OutboundStatus.CANCELLED)
        assert flow_alerts_notify() == 0  # cleared
        assert FlowAlertNotice.objects.get().cleared_at is not None
        set_status(write(erp_system, about, key="k-2"), OutboundStatus.DEAD)
        assert flow_alerts_notify() == 1  # came back: mailed again
    assert len(mail.outbox) == 2
    assert 'id="flow-alerts"' not in client.get("/admin/login/").content.decode()


def test_alert_mail_that_fails_is_sent_by_the_next_run(erp_system, about, monkeypatch):
    set_status(write(erp_system, about), OutboundStatus.DEAD)

    def refuse(**kwargs):
        raise ConnectionRefusedError("smtp down")

    with override_settings(THREAD_ALERT_EMAILS=["ops@example.com"]):
        monkeypatch.setattr("thread.flows.alerts.send_mail", refuse)
        with pytest.raises(ConnectionRefusedError):
            flow_alerts_notify()
        monkeypatch.undo()
        assert flow_alerts_notify() == 1
    assert len(mail.outbox) == 1


def test_the_alert_task_is_scheduled(db):
    call_command("setup_thread", stdout=io.StringIO())
    schedule = Schedule.objects.get(name="notify flow alerts")
    assert (schedule.func, schedule.minutes) == ("thread.flows.tasks.notify_flow_alerts", 1)


# --- /healthz -------------------------------------------------------------------------------


@pytest.fixture
def drain_schedule(db):
    call_command("setup_thread", stdout=io.StringIO())
    return Schedule.objects.get(name="drain outbox")


def test_healthz_ok_even_when_a_peer_is_down_and_messages_are_dead(client, drain_schedule,
                                                                    erp_system, about):
    set_status(write(erp_system, about), OutboundStatus.DEAD)
    with override_settings(REDIS_URL=""):  # the ORM broker, whatever the run was given
        response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert {k: v["ok"] for k, v in body["checks"].items()} == {
        "database": True, "broker": True, "cluster": True}
    assert body["checks"]["broker"]["kind"] == "orm"


def test_healthz_503_when_the_redis_broker_is_unreachable(client, drain_schedule):
    with override_settings(REDIS_URL=f"redis://:hunter2@127.0.0.1:{free_port()}/0"):
        response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["broker"] == {"ok": False,
                                        "reason": "the task broker did not answer (ConnectionError)"}
    assert "hunter2" not in response.content.decode()
    with override_settings(REDIS_URL=queues.REDIS_URL):
        assert client.get("/healthz").json()["checks"]["broker"] == {"ok": True, "kind": "redis"}


def test_healthz_503_when_no_cluster_runs_the_schedule(client, drain_schedule):
    Schedule.objects.filter(pk=drain_schedule.pk).update(
        next_run=timezone.now() - timedelta(minutes=12))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["cluster"]["reason"].startswith(
        "no task cluster has run the scheduled drain for 12 min")
    drain_schedule.delete()
    assert "setup_thread" in client.get("/healthz").json()["checks"]["cluster"]["reason"]


def test_healthz_503_when_the_database_fails_without_telling_secrets(client, drain_schedule,
                                                                      monkeypatch):
    def broken():
        raise OperationalError('connection to "db" failed: password authentication for "thread"')

    with monkeypatch.context() as patch:
        patch.setattr(connection, "cursor", broken)
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"]["reason"] == \
        "the database did not answer (OperationalError)"
    assert "password" not in response.content.decode()


# --- flow status for monitoring tools -------------------------------------------------------


def test_flow_status_for_operators_systems_and_basic_auth(erp_system, mes, about, person, client):
    set_status(write(erp_system, about), OutboundStatus.DEAD)
    write(erp_system, about, key="k-2")
    write(mes.system, about)

    everyone = person("auditor").get(STATUS)
    assert everyone.status_code == 200
    body = everyone.json()
    assert body["status"] == "alert"
    erp_row = next(row for row in body["systems"] if row["name"] == erp_system.name)
    assert (erp_row["waiting"], erp_row["dead"], erp_row["counts"]["pending"]) == (1, 1, 1)
    assert erp_row["alerts"] == ["dead"]
    assert erp_row["oldest_waiting_age_seconds"] >= 0
    assert {row["name"] for row in body["systems"]} == {erp_system.name, mes.system.name}

    own = mes.get(STATUS).json()
    assert [row["name"] for row in own["systems"]] == [mes.system.name]
    assert own["status"] == "ok"

    assert client.get(STATUS).status_code == 401
    tool = get_user_model().objects.create_user("zabbix", password="pw")
    tool.groups.add(Group.objects.get(name="auditor"))
    basic = base64.b64encode(b"zabbix:pw").decode()
    assert client.get(STATUS, HTTP_AUTHORIZATION=f"Basic {basic}").status_code == 200
    nobody = get_user_model().objects.create_user("nobody", password="pw")
    assert nobody.pk
    basic = base64.b64encode(b"nobody:pw").decode()
    assert client.get(STATUS, HTTP_AUTHORIZATION=f"Basic {basic}").status_code == 403
