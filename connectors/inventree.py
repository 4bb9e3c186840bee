"""InvenTree as a plant's ERP (docs/connectors.md, "InvenTree"): parts and BOMs out, by
converging; build orders in, as plain data for the orders app's poll.

An `mbom.published` message makes the assembly's BOM in InvenTree equal to Thread's mBOM:
1. the parts: each part the mBOM names is found by IPN (Thread's part number) and revision —
   from the id an earlier delivery learnt, else by `GET /api/part/?IPN=…&revision=…` — and
   created when missing (`POST /api/part/`, in the system's default category; a new revision is
   linked to the part it revises with `revision_of`);
2. the BOM items of the assembly (`GET /api/bom/?part=…`) are compared with the mBOM's lines:
   missing ones are created, differing ones patched, extra ones deleted; substitutes likewise
   (`/api/bom/substitute/`);
3. the BOM is validated (`PUT /api/part/{pk}/bom-validate/`), so "require a valid BOM" lets
   builds through.
Nothing is written that already holds, so a repeated, replayed or resumed delivery converges.

Options (ExternalSystem.connector_options):
    {"category": 12,                       # required: the InvenTree category new parts go to
     "min_api_version": 391}               # refuse older servers (default MIN_API_VERSION)
The credential is the InvenTree API token (`Authorization: Token …`). Units: the ERP system's
unit codes in Thread's catalog (sent in the message); pieces have no unit in InvenTree.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

from .base import (
    MappingError,
    OutboundEnvelope,
    PeerConfig,
    ProbeReport,
    answer_problem,
    header_secrets,
    join_url,
    read_credential,
)
from .converging import ConvergingConnector, Conversation, Difference

TOPIC = "mbom.published"
# InvenTree 1.0's API version: the oldest Thread is tested against (and the newest, 530);
# older servers are refused with the reason.
MIN_API_VERSION = 391
DEFAULT_UNITS = {"pcs": ""}  # InvenTree counts pieces with no unit, unless the system maps it


# InvenTree's build statuses (build/status_codes.py) and what they are in Thread's mirror.
BUILD_STATUSES = {10: "planned", 20: "released", 25: "planned", 30: "cancelled",
                  40: "completed"}
# A first poll reads the open build orders and those closed in this many days.
FIRST_POLL_DAYS = 30


@dataclass(frozen=True)
class BuildOrder:
    """An InvenTree build order as plain data: the plant's production order."""

    pk: int
    reference: str
    part: str  # the part's IPN: Thread's part number
    revision: str
    quantity: Decimal
    completed: Decimal
    status: int
    status_text: str
    created: date | None
    start: date | None
    target: date | None
    completed_on: date | None


def part_key(number: str, revision: str) -> str:
    return f"{number}|{revision}"


def decimal_of(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


class InvenTreeConnector(ConvergingConnector):
    name = "inventree"
    readable_topics = frozenset({TOPIC})
    topics = frozenset({TOPIC})

    def auth_headers(self, peer: PeerConfig) -> dict[str, str]:
        if not peer.credential_name:
            raise MappingError(f"{peer.system_name}: InvenTree needs an API token: set the "
                               "credential name to the environment variable that holds it")
        return {"Authorization": f"Token {read_credential(peer.credential_name)}"}

    def probe(self, client: httpx.Client, peer: PeerConfig, *,
              deadline: float | None = None) -> ProbeReport:
        """"Test connection" for InvenTree: the server and its API version (`GET /api/`), the
        token (`GET /api/user/me/`), and the category new parts go to."""
        try:
            headers = self.auth_headers(peer)
        except MappingError as exc:
            return ProbeReport(False, f"credential missing — {exc}")
        steps: list = []
        facts = []
        category = peer.options.get("category")
        checks = [("/api/", "the server"), ("/api/user/me/", "the token")]
        if category is not None:
            checks.append((f"/api/part/category/{category}/", "the category"))
        for path, what in checks:
            url = join_url(peer.base_url, path)
            step, response, problem = self.probe_get(client, peer, url, headers=headers,
                                                     deadline=deadline)
            steps += step
            if response is None:
                return ProbeReport(False, problem, tuple(steps))
            problem = answer_problem(response, url, peer, secrets=header_secrets(headers))
            if problem:
                return ProbeReport(False, f"{what}: {problem}", tuple(steps))
            answer = response.json()
            if path == "/api/":
                version = int(answer.get("apiVersion") or 0)
                needed = int(peer.options.get("min_api_version") or MIN_API_VERSION)
                if answer.get("server") != "InvenTree" or version < needed:
                    return ProbeReport(False, f"unsupported server — {answer.get('server')!r} "
                                              f"with API version {version}; Thread needs "
                                              f"InvenTree with API {needed} or later (1.0+)",
                                       tuple(steps))
                facts.append(f"InvenTree {answer.get('version')} (API {version})")
            elif path == "/api/user/me/":
                facts.append(f"token of {answer.get('username')!r}")
            else:
                facts.append(f"category {answer.get('name')!r}")
        if category is None:
            return ProbeReport(False, "connector option 'category' is not set: new parts would "
                                      "have nowhere to go", tuple(steps))
        return ProbeReport(True, "connection OK — " + ", ".join(facts), tuple(steps))

    # --- delivery ------------------------------------------------------------------------

    def converge(self, conversation: Conversation, envelope: OutboundEnvelope,
                 peer: PeerConfig) -> str:
        if envelope.topic != TOPIC:
            raise MappingError(f"the InvenTree connector takes {TOPIC}, not {envelope.topic!r}")
        self.require_version(conversation, peer)
        payload = envelope.payload
        plan = BomPlan.of(payload, units={**DEFAULT_UNITS, **(payload.get("units") or {})})
        created = self.ensure_parts(conversation, plan, category=self.category(peer))
        assembly = conversation.known("part", plan.assembly)
        changes = self.converge_items(conversation, plan, assembly_pk=int(assembly))
        # Validated again after any change: before API 479 a new line left the flag set.
        validation = conversation.request("GET", f"/api/part/{assembly}/bom-validate/")
        if changes or not (validation or {}).get("bom_validated"):
            conversation.request("PUT", f"/api/part/{assembly}/bom-validate/",
                                 body={"valid": True})
        return (f"{plan.assembly}: {created} part{'s' if created != 1 else ''} created, "
                f"{changes} BOM change{'s' if changes != 1 else ''}, BOM validated")

    def build_orders(self, client: httpx.Client, peer: PeerConfig, *, since: date | None,
                     deadline: float | None = None) -> list[BuildOrder]:
        """The build orders that may have changed since the day `since`: InvenTree keeps no
        "modified" time on a build, so every open build is read each time, with those created
        or closed (completed, cancelled) since the day before `since` — dates are days, and
        its `_after` filters are strict. Re-reading is harmless: the poll upserts."""
        conversation = Conversation(self, client, peer, deadline=deadline or
                                    time.monotonic() + peer.connect_timeout + peer.read_timeout,
                                    known_ids={})
        self.require_version(conversation, peer)
        start = (since or date.today() - timedelta(days=FIRST_POLL_DAYS)) - timedelta(days=1)
        found: dict[int, dict[str, Any]] = {}
        for params in ({"outstanding": "true"}, {"created_after": start.isoformat()},
                       {"completed_after": start.isoformat()}):
            for build in conversation.list("/api/build/", {**params, "part_detail": "true"}):
                found[int(build["pk"])] = build
        return sorted((build_order(b) for b in found.values()), key=lambda b: b.reference)

    def require_version(self, conversation: Conversation, peer: PeerConfig) -> int:
        info = conversation.request("GET", "/api/")
        version = int((info or {}).get("apiVersion") or 0)
        needed = int(peer.options.get("min_api_version") or MIN_API_VERSION)
        if version < needed:
            raise MappingError(f"{peer.system_name}: InvenTree API version {version} is older "
                               f"than {needed}, the oldest Thread is tested against "
                               "(upgrade InvenTree to 1.0 or later)")
        return version

    def category(self, peer: PeerConfig) -> int:
        category = peer.options.get("category")
        if not isinstance(category, int) or isinstance(category, bool):
            raise MappingError(f"{peer.system_name}: connector option 'category' (the pk of the "
                               "InvenTree part category new parts go to) is not set")
        return category

    def ensure_parts(self, conversation: Conversation, plan: BomPlan, *, category: int) -> int:
        created = 0
        for key, part in plan.parts.items():
            found = self.find_part(conversation, key, part)
            if found is not None:
                # A BOM takes only assemblies and components: flags are set, never cleared.
                flags = {flag: True for flag in ("assembly", "component")
                         if getattr(part, flag) and not found.get(flag)}
                if flags:
                    conversation.request("PATCH", f"/api/part/{found['pk']}/", body=flags)
                continue
            body = {"name": part.name_for_inventree, "IPN": part.number,
                    "revision": part.revision, "category": category, "units": part.units,
                    "description": part.name, "assembly": part.assembly,
                    "component": part.component, "purchaseable": part.purchaseable,
                    "active": True}
            base = self.base_revision(conversation, part)
            if base is not None:
                body["revision_of"] = base
            answer = conversation.request("POST", "/api/part/", body=body)
            conversation.remember("part", key, answer["pk"])
            created += 1
        return created

    def find_part(self, conversation: Conversation, key: str,
                  part: PlannedPart) -> dict[str, Any] | None:
        """The InvenTree part: by the id learnt before, else by IPN (InvenTree has no revision
        filter: the revision is compared here)."""
        known = conversation.known("part", key)
        if known is not None:
            found = conversation.request("GET", f"/api/part/{known}/", missing_ok=True)
            if found is not None and found.get("IPN") == part.number and \
                    (found.get("revision") or "") == part.revision:
                return found
            conversation.forget("part", key)  # deleted or renumbered by hand: look it up
        for found in conversation.list("/api/part/", {"IPN": part.number}):
            if found.get("IPN") == part.number and (found.get("revision") or "") == part.revision:
                conversation.remember("part", key, found["pk"])
                return found
        return None

    def base_revision(self, conversation: Conversation, part: PlannedPart) -> int | None:
        """The part a new revision revises: InvenTree links every revision to the original."""
        if not part.revision:
            return None
        for found in conversation.list("/api/part/", {"IPN": part.number}):
            if found.get("IPN") == part.number and not found.get("revision_of"):
                return int(found["pk"])
        return None

    def converge_items(self, conversation: Conversation, plan: BomPlan, *,
                       assembly_pk: int) -> int:
        existing = list(conversation.list("/api/bom/", {"part": assembly_pk}))
        changes = 0
        kept: set[int] = set()
        for line, match in pair_items(plan.items, existing, conversation):
            sub_part = int(conversation.known("part", line.part_key))
            wanted = line.fields(assembly_pk, sub_part)
            if match is None:
                match = conversation.request("POST", "/api/bom/", body=wanted)
                changes += 1
            else:
                patch = {name: value for name, value in wanted.items()
                         if name not in ("part", "sub_part") and not same(match.get(name), value)}
                if patch:
                    match = conversation.request("PATCH", f"/api/bom/{match['pk']}/", body=patch)
                    changes += 1
            kept.add(int(match["pk"]))
            conversation.remember("bom_item", f"{plan.assembly}/{line.position}", match["pk"])
            changes += self.converge_substitutes(conversation, int(match["pk"]),
                                                 {int(conversation.known("part", k))
                                                  for k in line.substitutes})
        for item in existing:
            if int(item["pk"]) not in kept:
                conversation.request("DELETE", f"/api/bom/{item['pk']}/", missing_ok=True)
                changes += 1
        return changes

    def compare(self, conversation: Conversation, envelope: OutboundEnvelope,
                peer: PeerConfig) -> list[Difference]:
        """Drift: how InvenTree's parts and BOM differ from the mBOM message, read with GETs
        only, field by field for the fields Thread owns (the note is InvenTree's to edit)."""
        self.require_version(conversation, peer)
        plan = BomPlan.of(envelope.payload,
                          units={**DEFAULT_UNITS, **(envelope.payload.get("units") or {})})
        differences = [Difference(key, "", "present", "") for key, part in plan.parts.items()
                       if self.find_part(conversation, key, part) is None]
        assembly = conversation.known("part", plan.assembly)
        if assembly is None:
            return differences
        existing = list(conversation.list("/api/bom/", {"part": assembly}))
        key_of = {int(v): k for (kind, k), v in conversation.ids.items() if kind == "part"}
        kept: set[int] = set()
        for line, match in pair_items(plan.items, existing, conversation):
            where = f"{plan.assembly}/{line.position}"
            if match is None:
                differences.append(Difference(where, "", f"{line.quantity} of {line.part_key}",
                                              ""))
                continue
            kept.add(int(match["pk"]))
            wanted = line.fields(int(assembly), int(match["sub_part"]))
            differences += [Difference(where, name, text(wanted[name]), text(match.get(name)))
                            for name in COMPARED if not same(match.get(name), wanted[name])]
            theirs = {key_of.get(int(s["part"]), f"#{s['part']}") for s in conversation.list(
                "/api/bom/substitute/", {"bom_item": match["pk"]})}
            ours = set(line.substitutes)
            differences += [Difference(where, "substitute", key, "") for key in
                            sorted(ours - theirs)]
            differences += [Difference(where, "substitute", "", key) for key in
                            sorted(theirs - ours)]
        for item in existing:
            if int(item["pk"]) not in kept:
                part = key_of.get(int(item["sub_part"]), f"#{item['sub_part']}")
                differences.append(Difference(f"{plan.assembly}/+{part}", "", "",
                                              f"{text(item.get('quantity'))} (extra line)"))
        validation = conversation.request("GET", f"/api/part/{assembly}/bom-validate/")
        if not (validation or {}).get("bom_validated"):
            differences.append(Difference(plan.assembly, "bom_validated", "true", "false"))
        return differences

    def converge_substitutes(self, conversation: Conversation, bom_item: int,
                             wanted: set[int]) -> int:
        existing = {int(s["part"]): int(s["pk"]) for s in
                    conversation.list("/api/bom/substitute/", {"bom_item": bom_item})}
        changes = 0
        for part in sorted(wanted - set(existing)):
            conversation.request("POST", "/api/bom/substitute/",
                                 body={"bom_item": bom_item, "part": part})
            changes += 1
        for part in sorted(set(existing) - wanted):
            conversation.request("DELETE", f"/api/bom/substitute/{existing[part]}/",
                                 missing_ok=True)
            changes += 1
        return changes


# The BOM line fields Thread owns and compares for drift (the note is InvenTree's to edit).
COMPARED = ("quantity", "reference", "attrition", "consumable", "optional", "setup_quantity")


def pair_items(lines: list[PlannedItem], existing: list[dict[str, Any]],
               conversation: Conversation) -> list[tuple[PlannedItem, dict[str, Any] | None]]:
    """Each mBOM line with InvenTree's BOM item for it: same sub-part, the same reference
    first; None where InvenTree has none (or the sub-part itself is missing)."""
    by_sub_part: dict[int, list[dict[str, Any]]] = {}
    for item in existing:
        by_sub_part.setdefault(int(item["sub_part"]), []).append(item)
    taken: set[int] = set()
    pairs = []
    for line in lines:
        sub_part = conversation.known("part", line.part_key)
        candidates = [i for i in by_sub_part.get(int(sub_part), []) if int(i["pk"]) not in taken
                      ] if sub_part is not None else []
        match = next((i for i in candidates if (i.get("reference") or "") == line.reference),
                     candidates[0] if candidates else None)
        if match is not None:
            taken.add(int(match["pk"]))
        pairs.append((line, match))
    return pairs


def text(value: Any) -> str:
    """A field's value as a drift finding shows it (numbers by value: "2", not "2.00000")."""
    if value is None or isinstance(value, bool):
        return "" if value is None else str(value).lower()
    number = decimal_of(value)
    return f"{number.normalize():f}" if number is not None else str(value)


def same(current: Any, wanted: Any) -> bool:
    """InvenTree answers decimals as numbers or strings ("2.00000"): compare those by value."""
    if isinstance(wanted, bool) or wanted is None:
        return current == wanted
    if isinstance(wanted, str) and not isinstance(current, bool):
        ours, theirs = decimal_of(wanted), decimal_of(current)
        if ours is not None and theirs is not None:
            return ours == theirs
    return (current or "") == wanted


# --- The mBOM message as InvenTree's parts and BOM items ---------------------------------------

class PlannedPart:
    def __init__(self, number: str, revision: str, name: str, units: str, *, assembly: bool,
                 component: bool, purchaseable: bool) -> None:
        self.number, self.revision, self.name, self.units = number, revision, name, units
        self.assembly, self.component, self.purchaseable = assembly, component, purchaseable

    @property
    def name_for_inventree(self) -> str:
        # InvenTree names must be unique with IPN and revision; the number keeps them apart.
        return f"{self.number} {self.name}".strip()[:100]


class PlannedItem:
    def __init__(self, position: int, part_key: str, quantity: str, attrition: str | None,
                 consumable: bool, reference: str, note: str,
                 substitutes: tuple[str, ...]) -> None:
        self.position, self.part_key, self.quantity = position, part_key, quantity
        self.attrition, self.consumable, self.reference = attrition, consumable, reference
        self.note, self.substitutes = note, substitutes

    def fields(self, assembly_pk: int, sub_part: int) -> dict[str, Any]:
        return {"part": assembly_pk, "sub_part": sub_part, "quantity": self.quantity,
                "reference": self.reference, "optional": False, "consumable": self.consumable,
                "attrition": self.attrition or "0", "setup_quantity": "0", "note": self.note}


class BomPlan:
    """What InvenTree must hold for one mBOM message (plain data from the payload)."""

    def __init__(self, assembly: str, parts: dict[str, PlannedPart],
                 items: list[PlannedItem]) -> None:
        self.assembly, self.parts, self.items = assembly, parts, items

    @classmethod
    def of(cls, payload: Mapping[str, Any], *, units: Mapping[str, str]) -> BomPlan:
        try:
            number, revision = payload["part"], payload.get("revision") or ""
            lines = list(payload["lines"])
        except (KeyError, TypeError) as exc:
            raise MappingError(f"not an mBOM message: {exc}") from None
        described = payload.get("parts") or {}

        def planned(part: str, *, assembly: bool, component: bool) -> PlannedPart:
            info = described.get(part) or {}
            unit = info.get("base_unit") or ""
            return PlannedPart(part, revision if part == number else info.get("revision") or "",
                               info.get("name") or part, units.get(unit, unit),
                               assembly=assembly or info.get("assembly", False),
                               component=component,
                               purchaseable=info.get("make_or_buy") == "buy")

        parts = {part_key(number, revision): planned(number, assembly=True, component=False)}
        for line in lines:
            part = planned(line["part"], assembly=False, component=True)
            parts.setdefault(part_key(part.number, part.revision), part)
        keys = {p.number: key for key, p in parts.items()}
        substitutes: dict[str, list[str]] = {}
        for line in lines:
            if line.get("substitutes_for"):
                substitutes.setdefault(line["substitutes_for"], []).append(keys[line["part"]])
        sources = payload.get("sources") or {}
        lineage = (f"Thread mBOM v{payload.get('version')} of {number} rev {revision} "
                   f"(rules v{payload.get('rule_set_version')})")
        items = [PlannedItem(
            position=int(line["position"]), part_key=keys[line["part"]],
            quantity=line["quantity"], attrition=line.get("scrap_percent"),
            consumable=line.get("item_type") == "consumable",
            reference=", ".join(line.get("reference_designators") or []),
            note=(f"{lineage}, line {line['position']}"
                  + (f" ← eBOM lines {', '.join(map(str, sources[str(line['position'])]))}"
                     if sources.get(str(line["position"])) else ""))[:500],
            substitutes=tuple(substitutes.get(line["part"], ())))
            for line in lines if not line.get("substitutes_for")]
        return cls(part_key(number, revision), parts, items)


def build_order(build: Mapping[str, Any]) -> BuildOrder:
    detail = build.get("part_detail") or {}

    def day(name: str) -> date | None:
        value = build.get(name)
        return date.fromisoformat(str(value)[:10]) if value else None

    return BuildOrder(
        pk=int(build["pk"]), reference=str(build.get("reference") or ""),
        part=str(detail.get("IPN") or ""), revision=str(detail.get("revision") or ""),
        quantity=decimal_of(build.get("quantity")) or Decimal(0),
        completed=decimal_of(build.get("completed")) or Decimal(0),
        status=int(build.get("status") or 0), status_text=str(build.get("status_text") or ""),
        created=day("creation_date"), start=day("start_date"), target=day("target_date"),
        completed_on=day("completion_date"))

