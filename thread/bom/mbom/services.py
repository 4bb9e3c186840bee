"""mBOMs that follow a release by themselves, and mBOMs generated on an analyst's request
(docs/mbom.md, "When mBOMs are generated").

A revision released outside a change order — an eBOM push with `release`, the release route,
the admin — calls `mboms_after_release` (registered with the catalog's after-release hook) in
the release's transaction. It regenerates every top-level product above the released parts
(where-used, through the eBOMs and the plants' mBOMs; a released product is its own top) at
each plant that makes it, as of today at the plant, with the plant's published rules; each
changed mBOM writes its `mbom.published` message in the same transaction. A product larger than
THREAD_GENERATE_INLINE_MAX_LINES is queued as a regeneration job instead, started in the same
transaction, so a worker that dies loses nothing. Every (product, plant) outcome is stored as a
`ReleaseGeneration`, including the plants that could not generate: nothing is skipped silently.

A plant makes a product when its plant part data says so (make, active); where it has none,
when the plant already has an mBOM of the product, or makes new products by default
(`Plant.makes_new_products`). A change order's release propagates as of its effectivity
instead (`thread.changes.release`).
"""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from thread.bom.choices import JobKind, ReleaseGenerationStatus
from thread.bom.ebom.selectors import structure_edges
from thread.bom.mbom import regeneration
from thread.bom.mbom.generation import GenerationResult, mbom_generate
from thread.bom.mbom.selectors import current_rule_set_version
from thread.bom.mbom.where_used import where_used_graph
from thread.bom.models import (
    MappingRuleSetVersion,
    MBom,
    MBomVersion,
    RegenerationJob,
    ReleaseGeneration,
)
from thread.catalog.choices import MakeOrBuy, RevisionStatus
from thread.catalog.effectivity import plant_today
from thread.catalog.models import Part, PartRevision, Plant, PlantPart
from thread.catalog.selectors import revision_in_effect
from thread.errors import ErrorItem, InvalidInput, StateConflict
from thread.history import require_reason

Status = ReleaseGenerationStatus


def mboms_after_release(*, revisions: Sequence[PartRevision], actor: AbstractBaseUser | None,
                        reason: str) -> list[ReleaseGeneration]:
    """Generate (or queue) the mBOMs of the products above `revisions` at the plants that make
    them, inside the caller's transaction; returns one outcome per product and plant."""
    if not revisions:
        return []
    graph = where_used_graph(part_ids=[r.part_id for r in revisions])
    numbers = {number for r in revisions for number in graph.where_used(r.part_id).top_level}
    parts = list(Part.objects.filter(number__in=numbers).order_by("number"))
    makers = _makers(parts)
    outcomes = []
    with transaction.atomic():
        for plant in Plant.objects.select_related("erp_system").order_by("code"):
            made = [part for part in parts if makers(plant, part)]
            version = current_rule_set_version(plant=plant) if made else None
            for part in made:
                product = revision_in_effect(part=part, as_of=plant_today(plant))
                if product is None or not product.eboms.filter(is_current=True).exists():
                    # nothing of it released in effect yet (its own release will generate), or
                    # a part without a structure (a bought part): no mBOM to make
                    continue
                cause = next((r for r in revisions if r.part_id == part.pk), revisions[0])
                outcomes.append(_generate(product=product, plant=plant, version=version,
                                          cause=cause, released=revisions, actor=actor,
                                          reason=reason))
    return outcomes


def mboms_generate_on_demand(*, revision: PartRevision, plants: Sequence[Plant] | None,
                             actor: AbstractBaseUser | None, reason: str
                             ) -> list[RegenerationJob]:
    """An analyst's "generate now": a regeneration job per plant (with its progress) that
    applies each plant's published rules to `revision` and the made assemblies beneath it.
    Without `plants`, the plants that make the product. Inputs that did not change write no
    new version (fingerprints); the job itself records who asked and why."""
    reason = require_reason(reason)
    if revision.status == RevisionStatus.DRAFT:
        raise StateConflict(
            f"{revision} is a draft: only a released revision's mBOMs are generated; preview "
            "a draft instead.", [ErrorItem("/revision", "not_released", "Not released.")])
    if plants is None:
        makers = _makers([revision.part])
        plants = [p for p in Plant.objects.order_by("code") if makers(p, revision.part)]
        if not plants:
            raise InvalidInput(f"No plant makes {revision.part.number}; name the plants.",
                               [ErrorItem("/plants", "required", "No plant makes it.")])
    versions = {plant.pk: current_rule_set_version(plant=plant) for plant in plants}
    missing = [ErrorItem(f"/plants/{i}", "no_published_rules",
                         f"Plant {plant.code} has no published mapping rules.")
               for i, plant in enumerate(plants) if versions[plant.pk] is None]
    if missing:
        raise StateConflict("; ".join(item.detail for item in missing), missing)
    with transaction.atomic():
        return [regeneration.products_job_start(
            version=versions[plant.pk], products=[revision], kind=JobKind.ON_DEMAND,
            actor=actor, reason=f"Generate {revision} at {plant.code}: {reason}")
            for plant in plants]


def _makers(parts: Sequence[Part]):
    """`makes(plant, part)` for these parts, with their plant data and existing mBOMs read
    once."""
    plant_parts = {(pp.plant_id, pp.part_id): pp
                   for pp in PlantPart.objects.filter(part__in=[p.pk for p in parts])}
    with_mbom = set(MBom.objects.filter(revision__part__in=[p.pk for p in parts])
                    .values_list("plant_id", "revision__part_id"))

    def makes(plant: Plant, part: Part) -> bool:
        data = plant_parts.get((plant.pk, part.pk))
        if data is not None:
            return data.active and (data.make_or_buy or part.make_or_buy) == MakeOrBuy.MAKE
        return (plant.pk, part.pk) in with_mbom or plant.makes_new_products

    return makes


def _generate(*, product: PartRevision, plant: Plant, version: MappingRuleSetVersion | None,
              cause: PartRevision, released: Sequence[PartRevision],
              actor: AbstractBaseUser | None, reason: str) -> ReleaseGeneration:
    outcome = ReleaseGeneration(product=product, plant=plant, reason=reason,
                                created_by=actor if actor and actor.is_authenticated else None)
    if version is None:
        outcome.status = Status.NO_PUBLISHED_RULES
        outcome.detail = (f"Plant {plant.code} has no published mapping rules: publish a rule "
                          "set version there, and its job generates this product.")
    elif len(structure_edges(part_ids=[product.part_id])) > settings.THREAD_GENERATE_INLINE_MAX_LINES:
        # The structure's lines over all its revisions: a cheap upper bound, one query.
        outcome.status = Status.QUEUED
        outcome.job = regeneration.products_job_start(
            version=version, products=[product], kind=JobKind.RELEASE, actor=actor,
            reason=f"Released {cause}: {reason}")
        outcome.detail = f"Too large to generate in the release: job #{outcome.job.pk}."
    else:
        result = mbom_generate(revision=product, plant=plant, cause=cause, actor=actor,
                               reason=reason, rule_set_version=version,
                               correlation_id=f"release-{cause.pk}")
        outcome.mbom_version = MBomVersion.objects.filter(
            mbom__plant=plant, mbom__revision=product, is_current=True).first()
        outcome.status, outcome.detail = _verdict(result, plant)
    outcome.save()
    outcome.released.set(released)
    return outcome


def _verdict(result: GenerationResult, plant: Plant) -> tuple[str, str]:
    drafts = f" Draft sub-assemblies left out: {', '.join(result.drafts)}." if result.drafts else ""
    if plant.erp_system is None:
        return Status.NO_ERP_SYSTEM, (f"{len(result.created)} new mBOM version(s) stored; plant "
                                      f"{plant.code} has no ERP system to send them to.{drafts}")
    if result.created:
        return Status.GENERATED, (f"{len(result.created)} new mBOM version(s), "
                                  f"{len(result.messages)} message(s) to {plant.erp_system.name}."
                                  f"{drafts}")
    return Status.UNCHANGED, f"The current mBOMs already match.{drafts}"
