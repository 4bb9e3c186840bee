"""The regeneration job a publish starts: chunks, progress, errors per product, resume after a
crash, a newer publish superseding an older job, and a real task cluster running it."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from django.utils import timezone

from bench.rig import Cluster, wait_for
from thread.bom.mbom import regeneration
from thread.bom.models import MBomVersion, RegenerationJob
from thread.errors import InvalidInput
from thread.flows.models import OutboundMessage

from .. import queues
from ..flows.outbox_support import worker_database_url
from .test_mbom_support import *  # noqa: F403 (fixtures)
from .test_mbom_support import BOX, categorise_screws, new_version, product_body, push, revision


@pytest.fixture
def products(shop):
    for n in range(1, 4):
        push(product_body(f"PR-{n}", 2))
    categorise_screws()
    return [revision(f"PR-{n}") for n in range(1, 4)]


@pytest.fixture
def enqueued(monkeypatch):
    """Job ids handed to the broker, instead of a broker."""
    calls: list[int] = []
    monkeypatch.setattr(regeneration, "enqueue", calls.append)
    return calls


def job_of(version) -> RegenerationJob:
    return RegenerationJob.objects.get(rule_set_version=version)


def test_a_publish_starts_a_job_for_every_released_product_after_commit(
        products, rules, django_capture_on_commit_callbacks, enqueued):
    job = job_of(rules)
    assert (job.status, job.total, job.done, job.plant, job.cursor) == ("queued", 3, 0,
                                                                        rules.rule_set.plant, 0)
    assert job.reason.startswith(f"Rules {rules} published")
    with django_capture_on_commit_callbacks(execute=True):
        v2 = new_version(rules, replace(BOX, order=50, name="Foam"))
    assert enqueued == [job_of(v2).pk]
    job.refresh_from_db()
    assert job.status == "superseded"  # the newer job covers everything with newer rules


def test_the_job_works_in_chunks_and_shows_its_progress(products, rules, enqueued):
    job = job_of(rules)
    assert regeneration.regeneration_chunk(job_id=job.pk, size=2) is True
    job.refresh_from_db()
    assert (job.status, job.done, job.total, job.percent, job.cursor) == (
        "running", 2, 3, 66, products[1].pk)
    assert job.started_at is not None and job.heartbeat_at is not None
    assert MBomVersion.objects.filter(root__in=products[:2]).count() == 4
    assert regeneration.regeneration_chunk(job_id=job.pk, size=2) is False
    job.refresh_from_db()
    assert (job.status, job.done, job.changed, job.sent, job.error_count) == (
        "done", 3, 6, 6, 0)
    assert OutboundMessage.objects.filter(topic="mbom.published", cause_id=str(rules.pk)).count() \
        == 6
    assert regeneration.regeneration_chunk(job_id=job.pk, size=2) is False  # nothing left


def test_a_job_resumes_after_a_crash_where_it_stopped(products, rules, enqueued, settings):
    settings.THREAD_REGENERATION_CHUNK = 1
    job = job_of(rules)
    regeneration.regeneration_chunk(job_id=job.pk)  # then the worker dies
    assert regeneration.regeneration_resume_stale() == []  # its heartbeat is fresh
    later = timezone.now() + timedelta(seconds=settings.THREAD_REGENERATION_STALE_SECONDS + 1)
    assert regeneration.regeneration_resume_stale(now=later) == [job.pk]
    assert enqueued == [job.pk]
    regeneration.regeneration_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.done, job.changed) == ("done", 3, 6)
    assert MBomVersion.objects.count() == 6  # the first chunk was not redone
    assert regeneration.regeneration_resume_stale(now=later) == []


def test_a_redone_chunk_writes_nothing_new(products, rules, enqueued):
    job = job_of(rules)
    regeneration.regeneration_chunk(job_id=job.pk, size=3)
    # A crash after the work but before the cursor was saved means the chunk runs again.
    RegenerationJob.objects.filter(pk=job.pk).update(cursor=0, done=0, changed=0,
                                                      status="running")
    regeneration.regeneration_chunk(job_id=job.pk, size=3)
    job.refresh_from_db()
    assert (job.done, job.changed, MBomVersion.objects.count(),
            OutboundMessage.objects.count()) == (3, 0, 6, 6)


def test_a_failing_product_is_recorded_and_the_job_goes_on(products, rules, enqueued,
                                                           monkeypatch):
    real = regeneration.mbom_generate

    def failing(*, revision, **kwargs):
        if revision.pk == products[1].pk:
            raise InvalidInput("PR-2 cannot be mapped")
        return real(revision=revision, **kwargs)

    monkeypatch.setattr(regeneration, "mbom_generate", failing)
    job = job_of(rules)
    regeneration.regeneration_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.done, job.error_count, job.changed) == ("done", 3, 1, 4)
    assert [(e["revision_id"], e["message"]) for e in job.errors] == [
        (products[1].pk, "PR-2 cannot be mapped")]


def test_a_superseded_job_stops(products, rules, enqueued):
    job = job_of(rules)
    new_version(rules, replace(BOX, order=50, name="Foam"))
    assert regeneration.regeneration_chunk(job_id=job.pk) is False
    assert not MBomVersion.objects.filter(rule_set_version=rules).exists()


@pytest.fixture
def orm_queue(monkeypatch):
    """This process and the cluster below on one ORM-broker queue of their own."""
    with queues.own_queue(monkeypatch, "orm") as name:
        yield name


def test_a_real_task_cluster_regenerates_after_a_publish(transactional_db, units, erp,
                                                         orm_queue, tmp_path):
    from thread.bom.rules import services
    from thread.catalog import services as catalog

    from .test_mbom_support import ALL_LINES, NO_DOCS, TUBES_IN_M

    plant = catalog.plant_create(code="BER", name="Berlin", time_zone="Europe/Berlin",
                                 actor=None, reason="t", erp_system=erp.system)
    for number, unit in (("PK-1", "pcs"), ("TB-1", "m")):
        catalog.part_create(number=number, name=number, base_unit=units[unit], actor=None,
                            reason="t", make_or_buy="buy")
    for n in range(1, 4):
        push(product_body(f"PR-{n}", 2))
    categorise_screws()
    cluster = Cluster(name=orm_queue, database_url=worker_database_url(), log_dir=tmp_path, workers=1,
                      env={"THREAD_REGENERATION_CHUNK": "1"})
    try:
        rule_set = services.rule_set_create(plant=plant, name="Berlin", actor=None, reason="t")
        draft = rule_set.versions.get()
        services.rule_set_draft_edit(version=draft, lock_version=0, actor=None, reason="t",
                                     add=[ALL_LINES, NO_DOCS, TUBES_IN_M, BOX])
        version = services.rule_set_version_publish(version=draft, actor=None, reason="Go")
        job = job_of(version)

        def finished() -> bool:
            job.refresh_from_db()
            return job.status == "done"

        wait_for(finished, timeout=60, what=f"the job to finish\n{cluster.log()}")
    finally:
        cluster.kill()
    assert (job.done, job.total, job.changed, job.error_count) == (3, 3, 6, 0)
    assert OutboundMessage.objects.filter(topic="mbom.published").count() == 6
