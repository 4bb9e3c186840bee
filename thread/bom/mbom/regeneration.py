"""Regenerating a plant's mBOMs: a chunked, resumable background job.

Every path to a published rule-set version starts one over all the plant's products
(`regeneration_job_start`, called by the rules' `_publish` in the publishing transaction); a
release too large to generate in its own transaction, and an analyst's "generate now", start one
over named products (`products_job_start`). The task is enqueued after commit. A task
works through the plant's released products in id order, a chunk per transaction: each
product's new versions and outbound messages, and the job's cursor and counters, commit
together. So a crash loses at most the chunk in flight, and redoing it writes nothing new
(fingerprints). A job whose heartbeat goes stale — its task was lost with a worker or a Redis
restart — is enqueued again by the every-minute schedule and resumes after its cursor. Two
tasks of one job never work at once: a chunk holds the job's row lock and a second task skips
a locked job.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from thread.bom.choices import ACTIVE_JOB_STATUSES, JobKind, JobStatus
from thread.bom.mbom import selectors
from thread.bom.mbom.generation import mbom_generate
from thread.bom.models import MappingRuleSetVersion, RegenerationJob
from thread.catalog.models import PartRevision
from thread.errors import DomainError

logger = logging.getLogger(__name__)

REGENERATE_TASK = "thread.bom.tasks.regenerate"
KEPT_ERRORS = 50  # the latest errors shown on the job; error_count counts them all


def regeneration_job_start(*, version: MappingRuleSetVersion, actor: AbstractBaseUser | None,
                           reason: str) -> RegenerationJob:
    """A job regenerating every released product of the version's plant with its rules, run
    after the caller's transaction commits. Unfinished jobs of the plant are superseded: the
    new one covers everything they would have done, with the newer rules."""
    plant = version.rule_set.plant
    now = timezone.now()
    RegenerationJob.objects.filter(plant=plant, status__in=ACTIVE_JOB_STATUSES).update(
        status=JobStatus.SUPERSEDED, finished_at=now)
    job = RegenerationJob.objects.create(
        plant=plant, rule_set_version=version, kind=JobKind.RULES_PUBLISHED,
        total=selectors.released_products(plant=plant).count(), created_by=_user(actor),
        reason=f"Rules {version} published: {reason}")
    _enqueue_on_commit(job)
    return job


def products_job_start(*, version: MappingRuleSetVersion, products: list[PartRevision],
                       kind: str, actor: AbstractBaseUser | None, reason: str) -> RegenerationJob:
    """A job regenerating the named products at the version's plant (a release too large to
    generate in its own transaction, or an analyst's request), run after the caller's
    transaction commits. It leaves the plant's other jobs alone; a later publish supersedes it
    (the plant-wide job covers its products with the newer rules)."""
    job = RegenerationJob.objects.create(
        plant=version.rule_set.plant, rule_set_version=version, kind=kind,
        total=len(products), created_by=_user(actor), reason=reason)
    job.products.set(products)
    _enqueue_on_commit(job)
    return job


def _enqueue_on_commit(job: RegenerationJob) -> None:
    job_id = job.pk
    transaction.on_commit(lambda: enqueue(job_id), robust=True)


def _user(actor: AbstractBaseUser | None):
    return actor if actor is not None and actor.is_authenticated else None


def enqueue(job_id: int) -> None:
    """Ask a worker to go on with the job. If the broker is unreachable the job waits for the
    resume schedule."""
    from django_q.tasks import async_task

    async_task(REGENERATE_TASK, job_id)


def regeneration_chunk(*, job_id: int, size: int | None = None) -> bool:
    """Regenerate the next `size` products of the job in one transaction; True if more remain.
    False also when the job is finished, superseded, or held by another task."""
    size = size or settings.THREAD_REGENERATION_CHUNK
    with transaction.atomic():
        job = (RegenerationJob.objects.select_for_update(skip_locked=True, of=("self",))
               .select_related("plant__erp_system", "rule_set_version__rule_set__plant",
                               "created_by")
               .filter(pk=job_id, status__in=ACTIVE_JOB_STATUSES).first())
        if job is None:
            return False
        now = timezone.now()
        if job.status == JobStatus.QUEUED:
            job.status, job.started_at = JobStatus.RUNNING, now
        products = list(_products(job).filter(pk__gt=job.cursor).select_related("part")[:size])
        for product in products:
            _regenerate_one(job, product)
            job.cursor = product.pk
            job.done += 1
        job.heartbeat_at = timezone.now()
        if len(products) < size:
            job.status, job.finished_at = JobStatus.DONE, job.heartbeat_at
            job.total = max(job.total, job.done)  # products released while it ran
        job.save()
        return job.status == JobStatus.RUNNING


def _products(job: RegenerationJob) -> QuerySet[PartRevision]:
    """What the job covers, in id order (its cursor): the named products, or after a publish
    every released product of the plant."""
    if job.kind == JobKind.RULES_PUBLISHED:
        return selectors.released_products(plant=job.plant)
    return job.products.order_by("id")


def _regenerate_one(job: RegenerationJob, product) -> None:
    """One product; a failure is recorded on the job and the job goes on with the next."""
    # A publish is its own job's cause; a release's or an analyst's job names its reason.
    cause = job.rule_set_version if job.kind == JobKind.RULES_PUBLISHED else job
    try:
        result = mbom_generate(
            revision=product, plant=job.plant, cause=cause,
            rule_set_version=job.rule_set_version, actor=job.created_by, reason=job.reason,
            correlation_id=f"regeneration-{job.pk}")
    except Exception as error:  # one product's failure must not stop the job
        if not isinstance(error, DomainError):
            logger.exception("regeneration job %s: %s failed", job.pk, product)
        job.error_count += 1
        job.errors = [*job.errors, {"revision_id": product.pk, "product": str(product),
                                    "message": str(error)[:1000],
                                    "at": timezone.now().isoformat()}][-KEPT_ERRORS:]
        return
    job.changed += len(result.created)
    job.sent += len(result.messages)


def regeneration_run(*, job_id: int, budget_seconds: float | None = None) -> None:
    """Work on the job chunk by chunk for at most `budget_seconds` (below the task timeout),
    then hand the rest to a new task."""
    budget = budget_seconds if budget_seconds is not None else \
        settings.THREAD_REGENERATION_TASK_SECONDS
    deadline = time.monotonic() + budget
    while regeneration_chunk(job_id=job_id):
        if time.monotonic() > deadline:
            enqueue(job_id)
            return


def regeneration_resume_stale(*, now: datetime | None = None) -> list[int]:
    """Enqueue every unfinished job that no task has advanced for
    THREAD_REGENERATION_STALE_SECONDS (its task died or was lost); returns their ids."""
    stale = (now or timezone.now()) - timedelta(
        seconds=settings.THREAD_REGENERATION_STALE_SECONDS)
    ids = list(RegenerationJob.objects.filter(status__in=ACTIVE_JOB_STATUSES).filter(
        Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True, created_at__lt=stale))
        .values_list("pk", flat=True))
    for job_id in ids:
        enqueue(job_id)
    return ids
