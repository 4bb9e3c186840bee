"""Reads of work centers and routings, each owning its joins."""

from __future__ import annotations

from datetime import date

from django.db.models import Prefetch, QuerySet

from ..choices import RoutingStatus
from ..models import Routing, RoutingOperation, RoutingVersion, WorkCenter


def work_centers_list() -> QuerySet[WorkCenter]:
    return WorkCenter.objects.select_related("plant")


def latest_released_version(*, routing: Routing) -> RoutingVersion | None:
    return (RoutingVersion.objects.filter(routing=routing, status=RoutingStatus.RELEASED)
            .order_by("-number").first())


def routing_version_in_effect(*, part_id: int, plant_id: int, as_of: date) -> RoutingVersion | None:
    """The released version that applies on the plant-local date `as_of`: the newest released
    version effective on or before it."""
    return (RoutingVersion.objects.filter(
        routing__part_id=part_id, routing__plant_id=plant_id, status=RoutingStatus.RELEASED,
        effective_from__lte=as_of).order_by("-effective_from", "-number")
        .select_related("routing__part", "routing__plant").first())


def routing_operations(version: RoutingVersion) -> list[RoutingOperation]:
    return list(version.operations.select_related("work_center__plant").order_by("sequence"))


def routing_versions_list() -> QuerySet[RoutingVersion]:
    operations = RoutingOperation.objects.select_related("work_center").order_by("sequence")
    return (RoutingVersion.objects.select_related("routing__part", "routing__plant",
                                                  "released_by")
            .prefetch_related(Prefetch("operations", queryset=operations)))
