"""Mapping rule sets, read-only in the API: they are edited in the admin (docs/mapping-rules.md)."""

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

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

    @extend_schema(parameters=[s.DiffQuerySerializer], responses={200: s.RuleSetDiffSerializer})
    @action(detail=True, methods=["get"])
    def diff(self, request, pk=None):
        """What this version changes against another of the same rule set (`against`; default:
        the version in force, or the one it replaced): rules added, removed, moved, changed."""
        version = self.get_object()
        query = s.DiffQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        against_id = query.validated_data.get("against")
        against = (mbom_selectors.rule_set_versions_list()
                   .filter(rule_set_id=version.rule_set_id, pk=against_id).first()
                   if against_id is not None else selectors.version_to_compare(version=version))
        if against is None:
            raise serializers.ValidationError({"against": "No version of this rule set to "
                                                          "compare with."})
        diff = selectors.version_diff(version=version, against=against)
        return Response(s.RuleSetDiffSerializer({"against": against, "diff": diff}).data)
