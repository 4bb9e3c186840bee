"""Reads of mapping rule sets and their versions."""

from __future__ import annotations

from django.db.models import OuterRef, QuerySet, Subquery

from thread.bom.choices import OPEN_STATUSES, VersionStatus
from thread.bom.mbom.selectors import engine_rules, rule_set_versions_list
from thread.bom.models import (
    MappingRule,
    MappingRuleSet,
    MappingRuleSetVersion,
)
from thread.bom.rules.diff import RuleSetDiff, rule_set_diff


def rule_sets_list() -> QuerySet[MappingRuleSet]:
    """Rule sets with their current published version and their open (draft or pending)
    version, as annotations: one query for any number of rule sets."""
    versions = MappingRuleSetVersion.objects.filter(rule_set=OuterRef("pk"))
    published = versions.filter(status=VersionStatus.PUBLISHED)
    open_ = versions.filter(status__in=OPEN_STATUSES)
    return (MappingRuleSet.objects.select_related("plant")
            .annotate(current_number=Subquery(published.values("number")[:1]),
                      current_version_id=Subquery(published.values("pk")[:1]),
                      current_published_at=Subquery(published.values("published_at")[:1]),
                      open_version_id=Subquery(open_.values("pk")[:1]),
                      open_status=Subquery(open_.values("status")[:1])))


def version_to_compare(*, version: MappingRuleSetVersion) -> MappingRuleSetVersion | None:
    """What a version is compared with by default: an open or superseded version with the
    plant's rules in force (else the version it started from); the published one with the
    version it replaced."""
    published = (rule_set_versions_list()
                 .filter(rule_set_id=version.rule_set_id, status=VersionStatus.PUBLISHED)
                 .exclude(pk=version.pk).first())
    if version.status != VersionStatus.PUBLISHED and published is not None:
        return published
    if version.based_on_id is not None:
        return rule_set_versions_list().get(pk=version.based_on_id)
    return (rule_set_versions_list().filter(rule_set_id=version.rule_set_id,
                                            number__lt=version.number or 0)
            .order_by("-number").first())


def version_diff(*, version: MappingRuleSetVersion,
                 against: MappingRuleSetVersion) -> RuleSetDiff:
    """What `version` changes against `against` (two queries: each one's rules)."""
    return rule_set_diff(engine_rules(version=against), engine_rules(version=version))


def version_authors(*, version: MappingRuleSetVersion) -> set[int]:
    """Ids of everyone who created, edited or submitted this version: the people who may not
    approve it (four-eyes). Rule edits are read from the rules' history, draft saves from the
    version's `updated_by` over its history."""
    authors = {version.created_by_id, version.requested_by_id}
    authors.update(MappingRule.history.filter(version_id=version.pk)
                   .values_list("history_user_id", flat=True).distinct())
    authors.update(MappingRuleSetVersion.history.filter(id=version.pk)
                   .values_list("updated_by_id", flat=True).distinct())
    return {user_id for user_id in authors if user_id is not None}
