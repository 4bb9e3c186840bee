"""The analyst's side of the browser scenario: products with released eBOMs, a published rule
set for the plant, and "publish a rule change" — the real publish, whose regeneration job (run by
the test's qcluster) writes an `mbom.published` message for each changed mBOM."""

from __future__ import annotations

from django.db import transaction

from thread.bom.ebom import services as ebom_services
from thread.bom.mbom.generation import mbom_generate
from thread.bom.models import MappingRule, MappingRuleSet
from thread.bom.rules import services as rules_services
from thread.catalog.models import Part, Plant
from thread.catalog.selectors import revision_in_effect

REASON = "browser test"


def scrap_rule(order: int, tube: str, percent: str) -> rules_services.RuleInput:
    return rules_services.RuleInput(order=order, name=f"Saw scrap on {tube}", action="scrap",
                         condition={"field": "part", "op": "eq", "value": tube},
                         params={"scrap_percent": percent})


def released_products(*, plant: Plant, tubes_by_product: dict[str, str]) -> None:
    """Each product (a bike) released with one tube line, its rule set v1 published (saw scrap
    3 % on each tube), and its mBOM generated. Call while the plant has no ERP yet: nothing is
    sent for this starting point."""
    for number, tube in tubes_by_product.items():
        ebom_services.ebom_push(payload={
            "part": number, "revision": "A", "name": f"Bike {number}", "release": True,
            "lines": [{"find_number": 10, "part": tube, "name": f"Tube {tube}",
                       "quantity": "1250", "unit": "mm", "item_type": "component"}]},
            actor=None, reason=REASON)
    rule_set = rules_services.rule_set_create(plant=plant, name="BER rules", actor=None, reason=REASON)
    draft = rule_set.versions.get()
    tubes = sorted(set(tubes_by_product.values()))
    rules_services.rule_set_draft_edit(version=draft, lock_version=draft.lock_version, actor=None,
                            reason=REASON,
                            add=[scrap_rule(10 * i, tube, "3") for i, tube in enumerate(tubes, 1)])
    published = rules_services.rule_set_version_publish(version=draft, actor=None, reason=REASON)
    for number in tubes_by_product:
        revision = revision_in_effect(part=Part.objects.get(number=number))
        mbom_generate(revision=revision, plant=plant, cause=published, actor=None, reason=REASON)


def publish_scrap_change(*, plant: Plant, tube: str, percent: str, analyst) -> None:
    """The analyst raises the saw scrap on one tube and publishes: every product using that tube
    gets a new mBOM, sent to the plant's ERP by the regeneration job."""
    rule_set = MappingRuleSet.objects.get(plant=plant)
    with transaction.atomic():
        draft = rules_services.rule_set_draft_start(rule_set=rule_set, actor=analyst,
                                         reason="Saw blades wear faster than planned")
        rule = MappingRule.objects.get(version=draft, params__scrap_percent__isnull=False,
                                       condition__value=tube)
        rules_services.rule_set_draft_edit(version=draft, lock_version=draft.lock_version, actor=analyst,
                                reason="Saw blades wear faster than planned",
                                change={rule.pk: scrap_rule(rule.order, tube, percent)})
        rules_services.rule_set_version_publish(version=draft, actor=analyst,
                                     reason=f"Saw scrap on {tube} now {percent} %")
