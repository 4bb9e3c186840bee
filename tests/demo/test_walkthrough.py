"""The numbers docs/demo-walkthrough.md states, from the demo's own seed: how many mBOMs (and so
messages to the ERP) a scrap change on frame tubes at Berlin changes. If the seed or the rules
change, this test says which sentence of the walkthrough to fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from thread.bom.mbom import regeneration
from thread.bom.models import MappingRuleSet, RegenerationJob
from thread.bom.rules import services as rules
from thread.demo.seed import seed_demo
from thread.flows.models import OutboundMessage

WALKTHROUGH = Path(__file__).resolve().parents[2] / "docs" / "demo-walkthrough.md"

pytestmark = pytest.mark.django_db


def publish_scrap(percent: str) -> int:
    """Publish BER's rules with the frame tubes' saw scrap at `percent`; the messages it sends."""
    rule_set = MappingRuleSet.objects.get(plant__code="BER")
    draft = rule_set.versions.filter(status="draft").first() or rules.rule_set_draft_start(
        rule_set=rule_set, actor=None, reason="walkthrough")
    rule = draft.rules.get(name="Saw scrap on frame tubes")
    given = rules.RuleInput(order=rule.order, name=rule.name, action=rule.action,
                            condition=rule.condition, params={"scrap_percent": percent},
                            enabled=rule.enabled)
    rules.rule_set_draft_edit(version=draft, lock_version=draft.lock_version, actor=None,
                              reason="walkthrough", change={rule.pk: given})
    before = OutboundMessage.objects.count()
    version = rules.rule_set_version_publish(version=draft, actor=None, reason="walkthrough")
    regeneration.regeneration_run(job_id=RegenerationJob.objects.get(rule_set_version=version).pk)
    return OutboundMessage.objects.count() - before


def test_the_walkthroughs_numbers_are_the_seeds():
    seed_demo()
    first, second = publish_scrap("4"), publish_scrap("5")
    text = " ".join(WALKTHROUGH.read_text().split())
    assert f"{first} `mbom.published` message" in text, first
    assert f"**dead** {second}" in text, second
