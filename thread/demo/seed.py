"""Seed the demo through the services, so the demo exercises the same code as production.
Re-runnable: what exists is left alone."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from thread.bom.ebom import services as ebom_services
from thread.bom.mbom.generation import mbom_generate
from thread.bom.mbom.selectors import current_rule_set_version
from thread.bom.rules import services as rules_services
from thread.catalog import services as catalog
from thread.catalog.models import Part, Plant, UnitOfMeasure
from thread.catalog.selectors import revision_in_effect
from thread.core.roles import setup_roles
from thread.feedback.models import FeedbackThreshold
from thread.feedback.services import feedback_threshold_set
from thread.flows import services as flows
from thread.flows.models import ExternalSystem

from .change_orders import seed_change_orders
from .mapping_rules import RULE_SETS
from .orders import seed_orders
from .product import PARTS, structure
from .routings import seed_routings

REASON = "Demo data"
DEMO_LOGIN = ("admin", "admin")
# One person per role group, so each user's view can be tried (password = the name, demo
# only); a second analyst, because a rule set's four-eyes needs a second person.
DEMO_ROLE_USERS = {"analyst": "analyst", "analyst2": "analyst", "change-manager": "change manager",
                   "quality": "quality", "operator": "operator", "auditor": "auditor",
                   "process-engineer": "process engineering"}

UNITS = [  # code, name, dimension, factor to the dimension's base unit
    ("pcs", "pieces", "count", "1"),
    ("m", "metre", "length", "1"),
    ("cm", "centimetre", "length", "0.01"),
    ("mm", "millimetre", "length", "0.001"),
    ("kg", "kilogram", "mass", "1"),
    ("g", "gram", "mass", "0.001"),
    ("l", "litre", "volume", "1"),
    ("ml", "millilitre", "volume", "0.001"),
]
SYSTEMS = [("PLM", "plm"), ("ERP", "erp"), ("MES", "mes")]
PLANTS = [  # code, name, time zone
    ("BER", "Berlin assembly", "Europe/Berlin"),
    ("CLT", "Charlotte assembly", "America/New_York"),
]
SHIFT_START_PLANTS = ("CLT",)
# The harness cable is also booked by weight in one plant: a cross-dimension conversion.
PART_CONVERSIONS = [("CB-412", "m", "kg", "0.045")]


@dataclass
class SeedReport:
    created: dict[str, int] = field(default_factory=dict)
    new_keys: dict[str, str] = field(default_factory=dict)

    def count(self, what: str) -> None:
        self.created[what] = self.created.get(what, 0) + 1


def seed_demo() -> SeedReport:
    report = SeedReport()
    with transaction.atomic():
        setup_roles()
        admin = _admin(report)
        _role_users(report)
        units = _units(admin, report)
        systems = _systems(admin, report)
        _sandbox_delivery(admin, systems, report)
        _plants(admin, systems, report)
        _parts(admin, units, report)
        _ebom(admin, report)
        _rule_sets(admin, report)
        _mboms(admin, report)
        _make_new_products(admin, report)
        _change_orders(report)
        _routings(report)
        _orders(report)
        _feedback_thresholds(admin, report)
    return report


def _feedback_thresholds(actor, report: SeedReport) -> None:
    """Berlin wants to hear at once of a yield under 95 % or a run 25 % over standard
    (docs/feedback.md): the sandbox MES's report with scrap crosses the first."""
    berlin = Plant.objects.get(code="BER")
    if not FeedbackThreshold.objects.filter(plant=berlin, part__isnull=True).exists():
        feedback_threshold_set(plant=berlin, part=None, actor=actor, reason=REASON,
                               min_first_pass_yield=Decimal("0.95"),
                               max_run_vs_standard=Decimal("1.25"), window_days=7)
        report.count("feedback thresholds")


def _admin(report: SeedReport):
    user_model = get_user_model()
    admin = user_model.objects.filter(username=DEMO_LOGIN[0]).first()
    if admin is None:
        admin = user_model.objects.create_superuser(DEMO_LOGIN[0], "admin@example.com",
                                                    DEMO_LOGIN[1])
        report.count("users")
    return admin


def _role_users(report: SeedReport) -> None:
    user_model = get_user_model()
    existing = set(user_model.objects.filter(username__in=DEMO_ROLE_USERS)
                   .values_list("username", flat=True))
    for username, role in DEMO_ROLE_USERS.items():
        if username in existing:
            continue
        user = user_model.objects.create_user(username, f"{username}@example.com", username,
                                              is_staff=True)
        user.groups.add(Group.objects.get(name=role))
        report.count("users")


def _units(actor, report: SeedReport) -> dict[str, UnitOfMeasure]:
    existing = {u.code: u for u in UnitOfMeasure.objects.all()}
    for code, name, dimension, factor in UNITS:
        if code not in existing:
            existing[code] = catalog.unit_create(code=code, name=name, dimension=dimension,
                                                 factor=Decimal(factor), actor=actor,
                                                 reason=REASON)
            report.count("units")
    return existing


def _systems(actor, report: SeedReport) -> dict[str, ExternalSystem]:
    systems = {}
    for name, kind in SYSTEMS:
        system = ExternalSystem.objects.filter(name=name).first()
        if system is None:
            system = flows.system_create(name=name, kind=kind, actor=actor, reason=REASON,
                                         description=f"Demo {name}")
            issued = flows.api_key_issue(system=system, actor=actor, reason=REASON,
                                         label="demo key")
            report.new_keys[name] = issued.raw_key
            report.count("systems")
        systems[kind] = system
    return systems


def sandbox_delivery_settings(kind: str) -> dict:
    """How a demo system reaches its sandbox peer (thread.sandbox) on the demo server: the REST
    connector, one path per topic, short timeouts and backoff so a fault and its recovery show
    within seconds."""
    return {
        "connector": "rest",
        "base_url": f"{settings.THREAD_SANDBOX_BASE_URL.rstrip('/')}/{kind}/",
        # The sandbox ERP stores a BOM with the date it becomes valid, so a change order's
        # mBOMs reach it at release; for an ERP without BOM effectivity (Odoo, ERPNext) Thread
        # holds them in the outbox until the first effective day (thread/changes/release.py).
        "connector_options": {"paths": {"*": "{topic}"},
                              **({"holds_future_effectivity": True} if kind == "erp" else {})},
        "connect_timeout_seconds": 2.0, "read_timeout_seconds": 5.0,
        "max_attempts": 20, "backoff_base_seconds": 2.0, "backoff_cap_seconds": 30.0,
    }


def _sandbox_delivery(actor, systems, report: SeedReport) -> None:
    """With the sandbox on (`./run demo`), point the demo systems at it; a system already
    configured so is left alone."""
    if not settings.THREAD_SANDBOX:
        return
    for kind, system in systems.items():
        wanted = sandbox_delivery_settings(kind)
        if all(getattr(system, name) == value for name, value in wanted.items()):
            continue
        systems[kind] = flows.system_delivery_configure(
            system=system, actor=actor, reason="Demo: deliver to the built-in sandbox peer",
            **wanted)
        report.count("systems pointed at the sandbox")


def _plants(actor, systems, report: SeedReport) -> None:
    for code, name, time_zone in PLANTS:
        if not Plant.objects.filter(code=code).exists():
            plant = catalog.plant_create(code=code, name=name, time_zone=time_zone, actor=actor,
                                         reason=REASON, erp_system=systems["erp"],
                                         mes_system=systems["mes"])
            if code in SHIFT_START_PLANTS:
                # Charlotte's MES takes its work orders at shift start, several in one document
                # (docs/work-orders.md, "Timing"); Berlin's on release.
                catalog.plant_update(plant=plant, actor=actor, reason=REASON,
                                     work_order_timing="shift_start", mes_takes_batches=True)
            report.count("plants")


def _parts(actor, units, report: SeedReport) -> None:
    existing = set(Part.objects.values_list("number", flat=True))
    for spec in PARTS.values():
        if spec.number in existing:
            continue
        catalog.part_create(number=spec.number, name=spec.name, base_unit=units[spec.base_unit],
                            actor=actor, reason=REASON, category=spec.category,
                            make_or_buy=spec.make_or_buy)
        report.count("parts")
    for number, from_code, to_code, factor in PART_CONVERSIONS:
        part = Part.objects.get(number=number)
        if not part.unit_conversions.exists():
            catalog.unit_conversion_set(part=part, from_unit=units[from_code],
                                        to_unit=units[to_code], factor=Decimal(factor),
                                        actor=actor, reason=REASON)
            report.count("unit conversions")


def _ebom(actor, report: SeedReport) -> None:
    """The e-bike's eBOM as the PLM would push it (released as an initial load); a second run
    pushes identical lines, which the service accepts without writing anything."""
    body = {**structure(), "release": True}
    result = ebom_services.ebom_push(payload=body, actor=actor, reason=body["reason"])
    for what, items in (("eBOM snapshots", result.snapshots),
                        ("part revisions", result.created_revisions),
                        ("released revisions", result.released)):
        if items:
            report.created[what] = report.created.get(what, 0) + len(items)


def _rule_sets(actor, report: SeedReport) -> None:
    """One published rule set per plant, built as an analyst would: create, fill the draft,
    publish. A plant that has a rule set already is left alone."""
    for plant in Plant.objects.filter(code__in=RULE_SETS).exclude(mapping_rule_set__isnull=False):
        name, description, rules = RULE_SETS[plant.code]
        rule_set = rules_services.rule_set_create(plant=plant, name=name, description=description,
                                       actor=actor, reason=REASON)
        draft = rule_set.versions.get()
        rules_services.rule_set_draft_edit(
            version=draft, lock_version=draft.lock_version, actor=actor, reason=REASON,
            notes="Initial rules of the demo plant",
            add=[rules_services.RuleInput(order=10 * i, name=rule_name, condition=condition, action=action,
                               params=params)
                 for i, (rule_name, condition, action, params) in enumerate(rules, start=1)])
        rules_services.rule_set_version_publish(version=draft, actor=actor,
                                     reason="Demo: rules agreed with the plant's engineering")
        report.count("published rule sets")


def _mboms(actor, report: SeedReport) -> None:
    """The e-bike's mBOMs at both plants, generated by the rules in force (the cause), so the
    demo opens with two different mBOM sets and their messages to the ERP waiting. A second run
    finds the same inputs and writes nothing."""
    bike = revision_in_effect(part=Part.objects.get(number=structure()["part"]))
    for plant in Plant.objects.filter(code__in=RULE_SETS).select_related("erp_system"):
        version = current_rule_set_version(plant=plant)
        result = mbom_generate(revision=bike, plant=plant, cause=version, actor=actor,
                               reason=f"Demo: mBOMs of the e-bike at {plant.code}")
        if result.created:
            report.created["mBOM versions"] = (report.created.get("mBOM versions", 0)
                                               + len(result.created))


def _make_new_products(actor, report: SeedReport) -> None:
    """Both plants make every newly released product (after the seed's own release, which came
    before their rules), so a product the demo PLM pushes with `release` reaches the sandbox ERP
    by itself."""
    for plant in Plant.objects.filter(makes_new_products=False):
        catalog.plant_update(plant=plant, makes_new_products=True, actor=actor,
                             reason="Demo: the plants make every newly released product")
        report.count("plants making new products")


def _change_orders(report: SeedReport) -> None:
    """Change order types with their approval stages, and ECO-1001 in review."""
    for what, count in seed_change_orders().items():
        report.created[what] = report.created.get(what, 0) + count


def _routings(report: SeedReport) -> None:
    """Work centers at both plants and the e-bike's routings (thread.demo.routings)."""
    for what, count in seed_routings().items():
        report.created[what] = report.created.get(what, 0) + count


def _orders(report: SeedReport) -> None:
    """The ERP's open orders that ECO-1001 hits: a motor purchase order, an e-bike production
    order (thread.demo.orders)."""
    for what, count in seed_orders().items():
        report.created[what] = report.created.get(what, 0) + count
