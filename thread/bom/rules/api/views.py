"""Mapping rule sets, read-only in the API: they are edited in the admin (docs/mapping-rules.md)."""

from django.db.models import Prefetch
from rest_framework import viewsets

from thread.bom.ebom.api.views import READERS
from thread.bom.mbom import selectors as mbom_selectors
from thread.bom.models import MappingRule, MappingRuleSetEvent
from thread.bom.rules import selectors
from thread.bom.rules.api import serializers as s
from thread.bom.rules.filtersets import MappingRuleSetFilterSet, MappingRuleSetVersionFilterSet


class MappingRuleSetViewSet(viewsets.ReadOnlyModelViewSet):
    """Each plant's mapping rule set with its current published version and its open draft."""

    queryset = selectors.rule_sets_list()
    serializer_class = s.MappingRuleSetSerializer
    filterset_class = MappingRuleSetFilterSet
    search_fields = ["name", "plant__code"]
    system_read_kinds = READERS


class MappingRuleSetVersionViewSet(viewsets.ReadOnlyModelViewSet):
    """Rule set versions with their rules (in run order) and their events. A published or
    superseded version never changes; `status=published` gives each plant's rules in force."""

    queryset = mbom_selectors.rule_set_versions_list()
    serializer_class = s.MappingRuleSetVersionSerializer
    filterset_class = MappingRuleSetVersionFilterSet
    search_fields = ["rule_set__name", "notes", "reason"]
    system_read_kinds = READERS

    def get_queryset(self):
        return super().get_queryset().prefetch_related(
            Prefetch("rules", queryset=MappingRule.objects.order_by("order", "id")),
            Prefetch("events", queryset=MappingRuleSetEvent.objects.select_related("actor")))
