"""Drift on a real local server that answers as InvenTree's API does: the plants' mBOMs are
delivered through the outbox, then edited "by hand" in the server's state; the drift check finds
each edit with Thread's and InvenTree's value, re-push and acknowledge close what they should,
a fix made in InvenTree closes the finding as gone, an unreachable peer fails the run visibly
without findings, and a run that dies halfway is resumed from its cursor."""

from __future__ import annotations

import os
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from thread.errors import InvalidInput, StateConflict
from thread.flows import drift_check, drift_findings, outbox, tasks
from thread.flows import services as flows
from thread.flows.choices import DriftRunState, DriftStatus, DriftTrigger
from thread.flows.delivery import drain
from thread.flows.models import DriftCheckRun, DriftFinding, OutboundMessage
from thread.flows.outbox import outbound_message_write

from ..conftest import problem
from ..support.openapi import assert_documented


def deliver_all(system) -> list[OutboundMessage]:
    messages = list(OutboundMessage.objects.filter(system=system, topic="mbom.published",
                                                   status="pending"))
    drain(prefer_ids=[m.pk for m in messages], budget_seconds=30)
    for message in messages:
        message.refresh_from_db()
        assert message.status == "delivered", message.last_error
    return messages


def check(system, **kwargs):
    return drift_check.drift_check_run(system=system, trigger=DriftTrigger.COMMAND, **kwargs)


def berlin_items(fake) -> dict[str, int]:
    """The Berlin bike's BOM items by child IPN."""
    bike = next(pk for pk, p in fake.parts.items() if p["IPN"] == "BK-100")
    return {fake.parts[i["sub_part"]]["IPN"]: pk for pk, i in fake.bom_items.items()
            if i["part"] == bike}


def findings(system, **filters):
    return {(f.object, f.field): (f.thread_value, f.peer_value) for f in
            DriftFinding.objects.filter(system=system, **filters)}


@pytest.fixture
def delivered(inventree, erp):
    """Berlin's mBOMs (the bike and its two sub-assemblies: three objects) delivered to
    InvenTree; Charlotte's (the same assemblies) are not sent there."""
    for charlotte in OutboundMessage.objects.filter(system=erp.system,
                                                    ordering_key__startswith="mbom:CLT:"):
        outbox.outbound_message_cancel(message=charlotte, actor=None, reason="not this ERP")
    return deliver_all(erp.system)


def test_a_clean_peer_has_no_findings_and_a_second_run_finds_nothing_new(
        inventree, erp, delivered):
    first = check(erp.system)
    assert first.state == DriftRunState.COMPLETED, first.detail
    run = DriftCheckRun.objects.get(pk=first.run_id)
    assert (run.objects_checked, run.differences, run.sweep_done) == (3, 0, True)
    writes = inventree.writes
    second = check(erp.system)
    assert DriftCheckRun.objects.get(pk=second.run_id).sweep == 2  # the next pass
    assert inventree.writes == writes  # a check only reads
    assert not DriftFinding.objects.exists()


def test_hand_edits_are_found_field_by_field_and_once(inventree, erp, delivered):
    items = berlin_items(inventree)
    inventree.bom_items[items["FR-200"]]["quantity"] = Decimal(2)  # quantity edited by hand
    del inventree.bom_items[items["MT-500"]]  # a line deleted by hand
    extra = next(pk for pk, p in inventree.parts.items() if p["IPN"] == "TB-310")
    bike = next(pk for pk, p in inventree.parts.items() if p["IPN"] == "BK-100")
    inventree.add_bom_item(bike, extra, quantity=3)  # a line added by hand
    report = check(erp.system)
    assert report.state == DriftRunState.COMPLETED, report.detail
    assert findings(erp.system) == {
        ("BK-100|A/10", "quantity"): ("1", "2"),
        ("BK-100|A/20", ""): ("1 of MT-500|A", ""),
        ("BK-100|A/+TB-310|", ""): ("", "3 (extra line)")}
    found = DriftFinding.objects.filter(system=erp.system)
    assert {f.status for f in found} == {DriftStatus.OPEN}
    assert {f.object_key for f in found} == {"mbom:BER:BK-100"}
    first_seen = {f.pk: f.first_seen_at for f in found}
    # The same state again: nothing new, the same findings seen later.
    again = check(erp.system)
    run = DriftCheckRun.objects.get(pk=again.run_id)
    assert (run.findings_opened, run.findings_closed) == (0, 0)
    for finding in DriftFinding.objects.filter(system=erp.system):
        assert finding.first_seen_at == first_seen[finding.pk]
        assert finding.last_seen_at > finding.first_seen_at
        assert finding.history.count() == 1  # seen again is no history row


def test_re_push_sends_thread_state_again_and_the_peer_converges(inventree, erp, delivered,
                                                                 person):
    operator = person("operator").user
    items = berlin_items(inventree)
    inventree.bom_items[items["FR-200"]]["quantity"] = Decimal(2)
    del inventree.bom_items[items["MT-500"]]
    check(erp.system)
    open_findings = list(DriftFinding.objects.filter(system=erp.system))
    assert len(open_findings) == 2
    message = drift_findings.drift_finding_re_push(finding=open_findings[0], actor=operator,
                                                   reason="ERP must match engineering")
    # One message for the object closes every finding of it; it carries the last delivery.
    assert message.cause == open_findings[0]
    source = OutboundMessage.objects.get(pk=open_findings[0].message_id)
    assert (message.payload, message.ordering_key) == (source.payload, source.ordering_key)
    assert message.idempotency_key != source.idempotency_key
    for finding in DriftFinding.objects.filter(system=erp.system):
        assert (finding.status, finding.re_push_id) == (DriftStatus.RE_PUSHED, message.pk)
        assert finding.history.first().history_change_reason == "ERP must match engineering"
        assert finding.history.first().history_user == operator
    with pytest.raises(StateConflict):  # closed: nothing to re-push
        drift_findings.drift_finding_re_push(finding=open_findings[0], actor=operator, reason="x")
    drain(prefer_ids=[message.pk], budget_seconds=30)
    message.refresh_from_db()
    assert message.status == "delivered", message.last_error
    assert inventree.bom_items[berlin_items(inventree)["FR-200"]]["quantity"] == 1
    report = check(erp.system)
    assert DriftCheckRun.objects.get(pk=report.run_id).findings_opened == 0
    assert set(DriftFinding.objects.values_list("status", flat=True)) == {DriftStatus.RE_PUSHED}


def test_a_re_push_waits_for_a_message_on_its_way(inventree, erp, delivered, person):
    operator = person("operator").user
    items = berlin_items(inventree)
    inventree.bom_items[items["FR-200"]]["quantity"] = Decimal(2)
    check(erp.system)
    finding = DriftFinding.objects.get(system=erp.system)
    source = finding.message
    with transaction.atomic():
        newer = outbound_message_write(system=erp.system, topic=source.topic,
                                       payload=source.payload, about=source.about, cause=None,
                                       ordering_key=source.ordering_key)
    with pytest.raises(StateConflict, match=f"#{newer.pk}.*on its way"):
        drift_findings.drift_finding_re_push(finding=finding, actor=operator, reason="x")
    # The check does not judge an object whose newer message is not delivered yet.
    run = DriftCheckRun.objects.get(pk=check(erp.system).run_id)
    assert run.objects_skipped == 1
    assert DriftFinding.objects.get(pk=finding.pk).status == DriftStatus.OPEN


def test_acknowledged_stays_closed_until_the_peer_changes_again(inventree, erp, delivered,
                                                                person):
    operator = person("operator").user
    items = berlin_items(inventree)
    inventree.bom_items[items["FR-200"]]["quantity"] = Decimal(2)
    check(erp.system)
    finding = DriftFinding.objects.get(system=erp.system)
    with pytest.raises(InvalidInput, match="reason"):
        drift_findings.drift_finding_acknowledge(finding=finding, actor=operator, reason=" ")
    drift_findings.drift_finding_acknowledge(finding=finding, actor=operator,
                                             reason="Berlin uses two frames on purpose")
    check(erp.system)
    finding.refresh_from_db()
    assert finding.status == DriftStatus.ACKNOWLEDGED
    inventree.bom_items[items["FR-200"]]["quantity"] = Decimal(3)  # changed again
    check(erp.system)
    finding.refresh_from_db()
    assert (finding.status, finding.peer_value) == (DriftStatus.OPEN, "3")
    assert "reopened" in finding.history.first().history_change_reason
    assert DriftFinding.objects.filter(system=erp.system).count() == 1


def test_a_finding_fixed_at_the_peer_closes_as_gone(inventree, erp, delivered):
    items = berlin_items(inventree)
    inventree.bom_items[items["FR-200"]]["quantity"] = Decimal(2)
    check(erp.system)
    inventree.bom_items[items["FR-200"]]["quantity"] = Decimal(1)  # someone fixed it there
    report = check(erp.system)
    assert DriftCheckRun.objects.get(pk=report.run_id).findings_closed == 1
    finding = DriftFinding.objects.get(system=erp.system)
    assert finding.status == DriftStatus.GONE and finding.closed_at is not None
    # The same edit later is a new finding, the gone one stays as it was.
    inventree.bom_items[items["FR-200"]]["quantity"] = Decimal(2)
    check(erp.system)
    assert list(DriftFinding.objects.filter(system=erp.system).order_by("id")
                .values_list("status", flat=True)) == [DriftStatus.GONE, DriftStatus.OPEN]


def test_an_unreachable_peer_fails_the_run_visibly_without_findings(inventree, erp, delivered):
    inventree.bom_items[berlin_items(inventree)["FR-200"]]["quantity"] = Decimal(2)
    inventree.fail_next(status=503, count=1000)
    report = check(erp.system)
    assert report.state == DriftRunState.FAILED and "503" in report.detail
    run = DriftCheckRun.objects.get(pk=report.run_id)
    assert (run.objects_checked, run.cursor, run.sweep_done) == (0, "", False)
    assert not DriftFinding.objects.exists()
    with pytest.raises(CommandError, match="Could not read"):
        call_command("check_drift", erp.system.name)
    # Back again: the next run resumes the same pass and finds the edit.
    inventree.fail_next(status=503, count=0)
    inventree._failures.clear()
    report = check(erp.system)
    assert report.state == DriftRunState.COMPLETED
    assert DriftCheckRun.objects.get(pk=report.run_id).sweep == run.sweep
    assert DriftFinding.objects.filter(system=erp.system).count() == 1


def test_a_run_that_dies_halfway_is_resumed_from_its_cursor(inventree, erp, delivered,
                                                            monkeypatch):
    # Six objects, runs of three: three more copies of Berlin's BOM, each its own key.
    source = next(m for m in delivered if m.ordering_key == "mbom:BER:BK-100")
    with transaction.atomic():
        copies = [outbound_message_write(system=erp.system, topic=source.topic,
                                         payload=source.payload, about=source.about, cause=None,
                                         ordering_key=f"mbom:copy-{n}") for n in range(3)]
    deliver_all(erp.system)
    keys = sorted({m.ordering_key for m in [*delivered, *copies]})
    flows.system_delivery_configure(system=erp.system, actor=None, reason="small runs",
                                    drift_check_batch=3)
    erp.system.refresh_from_db()
    # The worker dies while reconciling the second object.
    reconcile, calls = drift_check.drift_findings_reconcile, []

    def dies_on_second(**kwargs):
        calls.append(kwargs["message"].ordering_key)
        if len(calls) == 2:
            raise SystemExit("worker killed")
        return reconcile(**kwargs)

    monkeypatch.setattr(drift_check, "drift_findings_reconcile", dies_on_second)
    with pytest.raises(SystemExit):
        check(erp.system)
    dead = DriftCheckRun.objects.get(system=erp.system)
    assert (dead.state, dead.cursor, dead.objects_checked) == ("running", keys[0], 1)
    monkeypatch.setattr(drift_check, "drift_findings_reconcile", reconcile)
    # A live run is never doubled; one whose worker is gone is taken over at once.
    assert check(erp.system).state == "skipped"
    DriftCheckRun.objects.filter(pk=dead.pk).update(worker=f"{drift_check.delivery.HOST}:"
                                                           f"{2**22 + os.getpid()}")
    resumed = DriftCheckRun.objects.get(pk=check(erp.system).run_id)
    dead.refresh_from_db()
    assert dead.state == DriftRunState.INTERRUPTED
    assert (resumed.resumed_from, resumed.cursor, resumed.objects_checked) == \
        (keys[0], keys[3], 3)
    assert (resumed.sweep, resumed.sweep_done) == (dead.sweep, False)
    last = DriftCheckRun.objects.get(pk=check(erp.system).run_id)
    assert (last.resumed_from, last.objects_checked, last.sweep_done) == (keys[3], 2, True)


def test_the_schedule_runs_due_systems_only_and_a_rest_system_is_never_checked(
        inventree, erp, delivered, plm):
    assert drift_check.drift_check_due(erp.system, now=drift_check.timezone.now())
    reports = drift_check.drift_checks_run()
    assert [r.system for r in reports] == [erp.system.name]
    assert drift_check.drift_checks_run() == []  # the pass is done; the next is in 60 min
    flows.system_delivery_configure(system=plm.system, actor=None, reason="rest peer",
                                    connector="rest", base_url="http://127.0.0.1:9")
    assert plm.system.name not in {s.name for s in drift_check.drift_checked_systems()}
    with pytest.raises(StateConflict, match="cannot read back"):
        check(plm.system)


FINDINGS = "/api/v1/flows/drift-findings/"


def test_the_api_lists_findings_for_people_and_operators_act_with_a_reason(
        inventree, erp, delivered, person):
    items = berlin_items(inventree)
    inventree.bom_items[items["FR-200"]]["quantity"] = Decimal(2)
    del inventree.bom_items[items["MT-500"]]
    check(erp.system)
    auditor, operator = person("auditor"), person("operator")
    for who in (auditor, operator):
        who.cookies["csrftoken"] = who.csrf_token
    listed = auditor.get(FINDINGS, {"system": erp.system.name, "status": "open",
                                    "object": "BK-100"})
    assert listed.status_code == 200
    assert_documented(listed, FINDINGS)
    rows = listed.json()["results"]
    assert {(r["object"], r["field"], r["thread_value"], r["peer_value"]) for r in rows} == {
        ("BK-100|A/10", "quantity", "1", "2"), ("BK-100|A/20", "", "1 of MT-500|A", "")}
    assert auditor.get(FINDINGS, {"object": "no-such"}).json()["results"] == []
    # Systems do not read drift; an auditor cannot act.
    assert erp.get(FINDINGS).status_code == 403
    quantity = next(r for r in rows if r["field"] == "quantity")
    acknowledge = f"{FINDINGS}{quantity['id']}/acknowledge/"
    refused = auditor.post(acknowledge, {"reason": "fine"}, format="json",
                           HTTP_IDEMPOTENCY_KEY="a-1", HTTP_X_CSRFTOKEN=auditor.csrf_token)
    assert refused.status_code == 403
    no_reason = operator.post(acknowledge, {}, format="json", HTTP_IDEMPOTENCY_KEY="o-0",
                              HTTP_X_CSRFTOKEN=operator.csrf_token)
    assert no_reason.status_code == 400
    assert problem(no_reason)["errors"][0]["pointer"] == "/reason"
    done = operator.post(acknowledge, {"reason": "two frames on purpose"}, format="json",
                         HTTP_IDEMPOTENCY_KEY="o-1", HTTP_X_CSRFTOKEN=operator.csrf_token)
    assert done.status_code == 200, done.content
    assert_documented(done, FINDINGS + "{id}/acknowledge/", "post")
    body = done.json()
    assert body["status"] == "acknowledged"
    assert body["changes"][0] | {"at": None} == {
        "at": None, "status": "acknowledged", "thread_value": "1", "peer_value": "2",
        "by": operator.user.username, "reason": "two frames on purpose"}
    again = operator.post(acknowledge, {"reason": "two frames on purpose"}, format="json",
                          HTTP_IDEMPOTENCY_KEY="o-1", HTTP_X_CSRFTOKEN=operator.csrf_token)
    assert again.json() == body  # the replay of the same key
    twice = operator.post(acknowledge, {"reason": "again"}, format="json",
                          HTTP_IDEMPOTENCY_KEY="o-2", HTTP_X_CSRFTOKEN=operator.csrf_token)
    assert twice.status_code == 409
    line = next(r for r in rows if r["field"] == "")
    pushed = operator.post(f"{FINDINGS}{line['id']}/re-push/", {"reason": "match engineering"},
                           format="json", HTTP_IDEMPOTENCY_KEY="o-3",
                           HTTP_X_CSRFTOKEN=operator.csrf_token)
    assert pushed.status_code == 200, pushed.content
    assert_documented(pushed, FINDINGS + "{id}/re-push/", "post")
    answer = pushed.json()
    assert answer["finding"]["status"] == "re_pushed"
    assert answer["message"]["status"] == "pending"
    assert answer["finding"]["re_push"] == answer["message"]["id"]
    assert answer["message"]["cause"] == {"type": "flows.driftfinding", "id": str(line["id"])}
    detail = auditor.get(f"{FINDINGS}{line['id']}/")
    assert_documented(detail, FINDINGS + "{id}/")
    # The flow status counts the open ones for monitoring tools (the acknowledged one is not).
    status = auditor.get("/api/v1/flows/status/").json()
    assert status["open_drift_findings"] == {}


def test_the_flow_monitor_shows_drift_per_system_and_the_findings(inventree, erp, delivered,
                                                                  person):
    inventree.bom_items[berlin_items(inventree)["FR-200"]]["quantity"] = Decimal(2)
    check(erp.system)
    operator = person("operator")
    overview = operator.get("/admin/flows/monitor/")
    assert overview.status_code == 200
    row = overview.content.decode()
    assert f'data-system="{erp.system.name}"' in row and "Check now" in row
    page = operator.get("/admin/flows/monitor/drift/", {"system": erp.system.pk})
    html = page.content.decode()
    assert "BK-100|A/10" in html and 'data-col="peer">2<' in html
    assert f"Recent checks of {erp.system.name}" in html and 'data-state="completed"' in html
    auditor = person("auditor")
    seen = auditor.get("/admin/flows/monitor/drift/").content.decode()
    assert "BK-100|A/10" in seen and "value=\"Re-push\"" not in seen  # reads, cannot act


def test_check_now_queues_one_run_for_a_worker(inventree, erp, delivered, person, plm,
                                               monkeypatch):
    queued = []
    monkeypatch.setattr(drift_check, "async_task", lambda *args: queued.append(args) or "t-1")
    operator = person("operator")
    operator.cookies["csrftoken"] = operator.csrf_token
    answer = operator.post(f"/admin/flows/monitor/systems/{erp.system.pk}/check-drift/",
                           HTTP_X_CSRFTOKEN=operator.csrf_token, follow=True)
    assert "a drift check of" in answer.content.decode()
    assert queued == [("thread.flows.tasks.check_drift_of", erp.system.pk)]
    assert not DriftCheckRun.objects.exists()  # nothing read inside the request
    assert tasks.check_drift_of(*queued[0][1:])["state"] == DriftRunState.COMPLETED
    run = DriftCheckRun.objects.get(system=erp.system)
    assert run.trigger == DriftTrigger.OPERATOR
    # A system that cannot be read back has nothing to check.
    refused = operator.post(f"/admin/flows/monitor/systems/{plm.system.pk}/check-drift/",
                            HTTP_X_CSRFTOKEN=operator.csrf_token, follow=True)
    assert "has no drift check" in refused.content.decode()
    auditor = person("auditor")
    auditor.cookies["csrftoken"] = auditor.csrf_token
    assert auditor.post(f"/admin/flows/monitor/systems/{erp.system.pk}/check-drift/",
                        HTTP_X_CSRFTOKEN=auditor.csrf_token).status_code == 403


def test_the_drift_pages_cost_the_same_for_many_systems_and_findings(inventree, erp, delivered,
                                                                     person):
    inventree.bom_items[berlin_items(inventree)["FR-200"]]["quantity"] = Decimal(2)
    check(erp.system)
    operator = person("operator")
    pages = ["/admin/flows/monitor/", "/admin/flows/monitor/drift/",
             f"/admin/flows/monitor/drift/?system={erp.system.pk}"]
    for page in pages:
        operator.get(page)  # warm: content types, permissions

    def queries() -> list[int]:
        counted = []
        for page in pages:
            with CaptureQueriesContext(connection) as captured:
                assert operator.get(page).status_code == 200
            counted.append(len(captured.captured_queries))
        return counted

    before = queries()
    finding = DriftFinding.objects.get()
    now = finding.first_seen_at
    for n in range(3):  # more checked systems, each with findings and runs
        other = flows.system_create(
            name=f"InvenTree {n}", kind="erp", actor=None, reason="t", connector="inventree",
            base_url=inventree.url, credential_name="INVENTREE_TOKEN",
            connector_options={"category": 1})
        DriftCheckRun.objects.create(system=other, trigger="schedule", sweep=1,
                                     sweep_started_at=now, started_at=now, heartbeat_at=now)
        DriftFinding.objects.bulk_create([DriftFinding(
            system=other, topic=finding.topic, object_key=f"mbom:X:{k}", object=f"{k}|A/10",
            field="quantity", thread_value="1", peer_value="2", first_seen_at=now,
            last_seen_at=now) for k in range(40)])
    assert queries() == before
