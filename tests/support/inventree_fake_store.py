"""The records and write rules of the InvenTree fake: serializer fields, model validation, BOM
checksums. The HTTP side, and the InvenTree sources followed, are in inventree_fake.py; each rule
names the InvenTree code it copies. Behaviour that changed between API versions follows the
`api_version` given (`since(v)`)."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable
from datetime import date
from decimal import Decimal

from .inventree_fake_fields import (
    REQUIRED,
    SKIP,
    Invalid,
    bad_request,
    bom_quantity,
    boolean,
    char,
    decimal,
    decimal_errors,
    not_found,
    number,
    parse,
    parse_amount,
    related,
)

BUILD_STATUS = {10: "Pending", 20: "Production", 25: "On Hold", 30: "Cancelled", 40: "Complete"}
BUILD_ACTIVE = (10, 20, 25)  # build/status_codes.py BuildStatusGroups.ACTIVE_CODES
DEFAULT_SETTINGS = {"PART_ALLOW_DUPLICATE_IPN": True, "PART_REVISION_ASSEMBLY_ONLY": False,
                    "PART_ENABLE_LOCKING": True, "PART_BOM_ALLOW_ZERO_QUANTITY": False}
# BomItem.hash_fields() after part/sub_part (which count from v479 on, with their str())
HASH_FIELDS = ("quantity", "setup_quantity", "attrition", "rounding_multiple", "reference",
               "optional", "inherited", "consumable", "allow_variants")
DECIMALS = ("quantity", "setup_quantity", "attrition", "rounding_multiple")


class Store:
    """Every record the fake serves, as plain dicts keyed by the model's field names."""

    def __init__(self, *, user: dict, settings: dict, api_version: int,
                 today: Callable[[], date]) -> None:
        self.user, self.api_version, self.today = user, api_version, today
        self.settings = {**DEFAULT_SETTINGS, **settings}
        self.categories: dict[int, dict] = {}
        self.parts: dict[int, dict] = {}
        self.bom_items: dict[int, dict] = {}
        self.substitutes: dict[int, dict] = {}
        self.builds: dict[int, dict] = {}
        self._sequences = {name: itertools.count(1) for name in
                           ("categories", "parts", "bom_items", "substitutes", "builds")}

    def since(self, version: int) -> bool:
        """Whether the served API version has the behaviour introduced in `version`."""
        return self.api_version >= version

    def _insert(self, table: str, record: dict) -> dict:
        record["pk"] = next(self._sequences[table])
        getattr(self, table)[record["pk"]] = record
        return record

    def get(self, table: str, pk, model: str) -> dict:
        record = getattr(self, table).get(int(pk))
        if record is None:
            raise not_found(model)
        return record

    # --- records made by the test, without the API's validation -------------------------------
    def add_category(self, name: str, parent: int | None = None, **fields) -> int:
        return self._insert("categories", {"name": name, "parent": parent, "description": "",
                                           "structural": False, "default_keywords": None,
                                           "icon": "", **fields})["pk"]

    def add_part(self, name: str, **fields) -> int:
        return self._insert("parts", {**self._part_defaults(), "name": name,
                                      "creation_date": self.today(), **fields})["pk"]

    def add_bom_item(self, part: int, sub_part: int, quantity=1, **fields) -> int:
        quantity = Decimal(str(quantity))
        record = {**self._bom_defaults(), "part": part, "sub_part": sub_part,
                  "quantity": quantity, "raw_amount": str(quantity), **fields}
        return self._insert("bom_items", record)["pk"]

    def add_build(self, part: int, quantity=1, **fields) -> int:
        record = {"reference": None, "title": "", "part": part, "quantity": quantity,
                  "completed": 0, "status": 10, "status_custom_key": None,
                  "creation_date": self.today(), "start_date": None, "target_date": None,
                  "completion_date": None, "priority": 0, "issued_by": None, "responsible": None,
                  "parent": None, "sales_order": None, "batch": None, "destination": None,
                  "take_from": None, "external": False, "link": "", "notes": None,
                  "project_code": None, "barcode_hash": "", "tags": [], **fields}
        record = self._insert("builds", record)
        if record["reference"] is None:  # BUILDORDER_REFERENCE_PATTERN's default, BO-{ref:04d}
            record["reference"] = f"BO-{record['pk']:04d}"
        return record["pk"]

    @staticmethod
    def _part_defaults() -> dict:  # part/models.py Part fields, with the settings' defaults
        return {"description": "", "keywords": None, "category": None, "IPN": "", "revision": "",
                "revision_of": None, "variant_of": None, "units": "", "link": None,
                "notes": None, "minimum_stock": 0.0, "maximum_stock": 0.0, "is_template": False,
                "assembly": False, "component": True, "trackable": False, "testable": False,
                "purchaseable": True, "salable": False, "active": True, "locked": False,
                "virtual": False, "consumable": False, "creation_user": None,
                "bom_validated": False, "bom_checksum": "", "bom_checked_by": None,
                "bom_checked_date": None, "tags": []}

    @staticmethod
    def _bom_defaults() -> dict:
        return {"reference": "", "raw_amount": "1", "quantity": Decimal(1),
                "allow_variants": False, "inherited": False, "optional": False,
                "consumable": False, "setup_quantity": Decimal(0), "attrition": Decimal(0),
                "rounding_multiple": None, "note": "", "checksum": "", "validated": False}

    # --- part helpers (part/models.py, part/helpers.py) -------------------------------------
    def full_name(self, p: dict) -> str:  # the default PART_NAME_FORMAT
        return " | ".join(x for x in (p["IPN"], p["name"], p["revision"]) if x)

    def label(self, p: dict) -> str:  # Part.__str__
        return f"{self.full_name(p)} - {p['description']}"

    def ancestors(self, p: dict) -> list[dict]:  # the variant_of chain (the MPTT tree)
        chain = []
        while p["variant_of"] is not None:
            p = self.parts[p["variant_of"]]
            chain.append(p)
        return chain

    def variants(self, part: int) -> list[dict]:
        return [p for p in self.parts.values() if part in {a["pk"] for a in self.ancestors(p)}]

    def category_tree(self, pk: int | None) -> list[int]:
        """A category and every category below it."""
        found, todo = [], [pk]
        while todo:
            current = todo.pop()
            found.append(current)
            todo += [c["pk"] for c in self.categories.values() if c["parent"] == current]
        return found

    def category_path(self, c: dict) -> list[dict]:
        path = [c]
        while path[0]["parent"] is not None:
            path.insert(0, self.categories[path[0]["parent"]])
        return path

    # --- BOM checksums (BomItem.get_item_hash, Part.get_bom_hash / validate_bom) ---------------
    def bom_of(self, part: int, include_inherited: bool = True) -> list[dict]:
        """Part.get_bom_items(): its own lines, and inherited lines of its template parents."""
        parents = {a["pk"] for a in self.ancestors(self.parts[part])} if include_inherited else ()
        return [b for b in self.bom_items.values()
                if b["part"] == part or (b["part"] in parents and b["inherited"])]

    def item_hash(self, b: dict) -> str:
        digest = hashlib.md5(b"")
        refs = [b["part"], b["sub_part"]]
        if self.since(479):  # 'part', 'part_id', 'sub_part', 'sub_part_id'
            refs = [self.label(self.parts[b["part"]]), b["part"],
                    self.label(self.parts[b["sub_part"]]), b["sub_part"]]
        for value in refs:
            digest.update(str(value).encode())
        for field in HASH_FIELDS:
            value = b[field]
            if field in DECIMALS:  # normalized, and only when above zero
                if value is None or value <= 0:
                    continue
                value = value.normalize()
                value = value.quantize(Decimal(1)) if value == value.to_integral() else value
            digest.update(str(value).encode())
        return str(digest.digest())

    def bom_hash(self, part: int) -> str:
        digest = hashlib.md5(str(part).encode())
        for b in sorted(self.bom_of(part), key=lambda b: b["pk"]):
            digest.update(self.item_hash(b).encode())
        return str(digest.digest())

    def is_bom_valid(self, part: int) -> bool:
        p = self.parts[part]
        return bool(p["bom_checksum"] and p["bom_checked_date"]) and \
            self.bom_hash(part) == p["bom_checksum"]

    def recheck_bom(self, b: dict) -> None:
        """part/tasks.py check_bom_valid, for each of BomItem.get_assemblies()."""
        for p in [self.parts[b["part"]], *(self.variants(b["part"]) if b["inherited"] else [])]:
            p["bom_validated"] = self.is_bom_valid(p["pk"])

    def validate_bom(self, part: int, valid: bool, user: int) -> None:
        """Part.validate_bom(), as the offloaded validate_bom task runs it."""
        for b in self.bom_of(part, include_inherited=False):
            if valid or not self.since(489):  # since v489 invalidating leaves the lines be
                b["checksum"] = self.item_hash(b) if valid else ""
                b["validated"] = valid
        self.parts[part].update(bom_validated=valid,
                                bom_checksum=self.bom_hash(part) if valid else "",
                                bom_checked_by=user, bom_checked_date=self.today())

    def check_add_to_bom(self, sub: dict, parent: dict) -> None:
        """Part.check_add_to_bom(raise_error=True)."""
        root = (self.ancestors(sub) or [sub])[-1]["pk"]
        if sub["pk"] == parent["pk"] or root == (self.ancestors(parent) or [parent])[-1]["pk"]:
            raise Invalid(f"Part '{self.label(sub)}' cannot be used in BOM for "
                          f"'{self.label(parent)}' (recursive)")
        for item in self.bom_of(sub["pk"]):
            if item["sub_part"] == parent["pk"]:
                raise Invalid(f"Part '{self.label(parent)}' is  used in BOM for "
                              f"'{self.label(sub)}' (recursive)")
            self.check_add_to_bom(self.parts[item["sub_part"]], parent)

    # --- parts: PartSerializer, Part.full_clean() --------------------------------------------
    def _part_specs(self) -> list[tuple]:  # PartSerializer's writable fields, in Meta order
        specs = [("active", boolean, SKIP), ("assembly", boolean, SKIP),
                 ("category", related(self.categories, null=True), SKIP),
                 ("component", boolean, SKIP), ("description", char(250), SKIP),
                 ("IPN", char(100), ""), ("is_template", boolean, SKIP),
                 ("keywords", char(250, null=True), SKIP), ("link", char(2000, null=True), SKIP),
                 ("locked", boolean, SKIP), ("minimum_stock", number, 0.0),
                 ("maximum_stock", number, 0.0), ("name", char(100, blank=False), REQUIRED),
                 ("notes", char(50000, null=True), SKIP), ("purchaseable", boolean, SKIP),
                 ("revision", char(100, null=True), ""),
                 ("revision_of", related(self.parts, null=True), SKIP),
                 ("salable", boolean, SKIP), ("testable", boolean, SKIP),
                 ("trackable", boolean, SKIP), ("units", char(20, null=True), SKIP),
                 ("variant_of", related(self.parts, lambda x: x["is_template"], null=True), SKIP),
                 ("virtual", boolean, SKIP), ("consumable", boolean, SKIP)]
        gone = {"maximum_stock"} if not self.since(486) else set()
        gone |= {"consumable"} if not self.since(516) else set()
        return [spec for spec in specs if spec[0] not in gone]

    PART_MODEL_DEFAULTS = {"active": True, "assembly": False, "component": True,
                           "is_template": False, "purchaseable": True, "salable": False,
                           "testable": False, "trackable": False, "locked": False,
                           "virtual": False, "units": "", "minimum_stock": 0}

    def _check_part(self, values: dict, current: dict | None) -> None:
        pk = current["pk"] if current else None
        candidate = {**(current or self._part_defaults()), **values}
        others = [x for x in self.parts.values() if x["pk"] != pk]
        keys = ("name", "IPN", "revision")  # DRF UniqueTogetherValidator (UniqueConstraint)
        changed = any(k in values and (current is None or values[k] != current[k]) for k in keys)
        if changed and None not in (candidate[k] for k in keys) and any(
                all(x[k] == candidate[k] for k in keys) for x in others):
            raise bad_request({"non_field_errors": [
                "The fields name, IPN, revision must make a unique set."]})
        errors: dict[str, list[str]] = {}  # Part.full_clean(): clean(), then validate_unique()
        category = self.categories.get(candidate["category"])
        if category and category["structural"]:
            errors["category"] = ["Parts cannot be assigned to structural part categories!"]
        elif problem := self._revision_problem(candidate, pk):
            errors[problem[0]] = [problem[1]]
        ipn = candidate["IPN"]
        if ipn and not self.settings["PART_ALLOW_DUPLICATE_IPN"] and any(
                (x["IPN"] or "").lower() == ipn.lower() for x in others):
            errors.setdefault("IPN", []).append("Duplicate IPN not allowed in part settings")
        elif candidate["revision_of"] and candidate["revision"] and any(
                x["revision_of"] == candidate["revision_of"]
                and x["revision"] == candidate["revision"] for x in others):
            errors["__all__"] = ["Duplicate part revision already exists."]
        if errors:
            raise bad_request(errors)

    def _revision_problem(self, c: dict, pk: int | None) -> tuple[str, str] | None:
        """Part.validate_revision() (v469 allowed revisions of revisions, and reworded)."""
        of = self.parts.get(c["revision_of"])
        if of is None:
            return None
        if of["pk"] == pk:
            return "revision_of", "Part cannot be a revision of itself"
        if of["revision_of"] and not self.since(469):
            return "revision_of", "Cannot make a revision of a part which is already a revision"
        if not c["revision"]:
            return "revision", ("Revision code must be specified for a part marked as a revision"
                                if self.since(469) else "Revision code must be specified")
        if self.settings["PART_REVISION_ASSEMBLY_ONLY"] and not (c["assembly"] and of["assembly"]):
            return "revision_of", "Revisions are only allowed for assembly parts"
        if of["is_template"]:
            return "revision_of", "Cannot make a revision of a template part"
        if c["variant_of"] != of["variant_of"]:
            return "revision_of", "Parent part must point to the same template"
        return None

    def create_part(self, data) -> dict:
        values = parse(data, self._part_specs(), partial=False,
                       model_defaults=self.PART_MODEL_DEFAULTS)
        self._check_part(values, None)
        return self.parts[self.add_part(**{**values, "creation_user": self.user["pk"]})]

    def update_part(self, pk, data, partial: bool) -> dict:
        current = self.get("parts", pk, "Part")
        values = parse(data, self._part_specs(), partial=partial)
        self._check_part(values, current)
        current.update(values)
        return current

    # --- BOM lines: BomItemSerializer, BomItem.full_clean() / save() / delete() --------------
    def _bom_specs(self) -> list[tuple]:  # BomItemSerializer's writable fields, in Meta order
        amounts = [("raw_amount", char(10**6, blank=False), SKIP), ("quantity", decimal(), SKIP)]
        if not self.since(485):  # before raw_amount: quantity required, > 0 checked here
            amounts = [("quantity", decimal(positive=True), REQUIRED)]
        return [("part", related(self.parts, lambda x: x["assembly"]), REQUIRED),
                ("sub_part", related(self.parts, lambda x: x["component"]), REQUIRED),
                ("reference", char(5000), SKIP), *amounts,
                ("allow_variants", boolean, SKIP), ("inherited", boolean, SKIP),
                ("optional", boolean, SKIP), ("consumable", boolean, SKIP),
                ("setup_quantity", decimal(), SKIP), ("attrition", decimal(), SKIP),
                ("rounding_multiple", decimal(null=True), SKIP), ("note", char(500), SKIP)]

    BOM_MODEL_DEFAULTS = {"quantity": 1.0, "optional": False, "consumable": False,
                          "setup_quantity": 0, "attrition": 0, "rounding_multiple": None,
                          "inherited": False, "allow_variants": False}

    def _bom_values(self, data, partial: bool) -> dict:
        values = parse(data, self._bom_specs(), partial=partial,
                       model_defaults=None if partial else self.BOM_MODEL_DEFAULTS)
        if self.since(485):  # BomItemSerializer.validate(): a quantity becomes the raw amount
            quantity = values.pop("quantity", None)
            if "raw_amount" not in values and quantity is not None:
                values["raw_amount"] = str(quantity)
            if values.get("raw_amount") and parse_amount(values["raw_amount"]) is None:
                raise bad_request({"raw_amount": ["Invalid quantity format"]})
        return values

    def _check_bom(self, candidate: dict, current: dict | None) -> None:
        """BomItem.full_clean(): field validators, then clean(); then save()'s lock check."""
        errors = {}
        if self.since(485) and len(candidate["raw_amount"]) > 25:
            errors["raw_amount"] = [f"Ensure this value has at most 25 characters (it has "
                                    f"{len(candidate['raw_amount'])})."]
        for field, digits, places, maximum in (("quantity", 15, 5, None),
                                               ("setup_quantity", 15, 5, None),
                                               ("attrition", 6, 3, 100),
                                               ("rounding_multiple", 15, 5, None)):
            if found := decimal_errors(candidate[field], max_digits=digits, places=places,
                                       maximum=maximum):
                errors[field] = found
        part, sub = self.parts[candidate["part"]], self.parts[candidate["sub_part"]]
        try:
            if self.since(485):  # recalculate_quantity()
                try:
                    candidate["quantity"] = bom_quantity(
                        candidate["raw_amount"], sub["units"] or "",
                        self.settings["PART_BOM_ALLOW_ZERO_QUANTITY"])
                except Invalid as exc:
                    raise Invalid({"raw_amount": str(exc)}) from None
            self.check_add_to_bom(sub, part)
            if sub["trackable"] and candidate["quantity"] != int(candidate["quantity"]):
                raise Invalid({"quantity": "Quantity must be integer value for trackable parts"})
        except Invalid as exc:
            field, message = (next(iter(exc.args[0].items())) if isinstance(exc.args[0], dict)
                              else ("sub_part", str(exc)))
            errors.setdefault(field, []).append(message)
        if errors:
            raise bad_request(errors)
        moved_from = [current["part"]] if current and current["part"] != candidate["part"] else []
        for assembly in [candidate["part"], *moved_from]:
            self._check_lock(assembly, candidate["inherited"])

    def _check_lock(self, assembly: int, inherited: bool) -> None:  # BomItem.check_part_lock
        if not self.settings["PART_ENABLE_LOCKING"]:
            return
        if self.parts[assembly]["locked"]:
            raise bad_request({"__all__": ["BOM item cannot be modified - assembly is locked"]})
        if inherited and any(p["locked"] for p in self.variants(assembly)):
            raise bad_request({"__all__": [
                "BOM item cannot be modified - variant assembly is locked"]})

    def _saved(self, b: dict, before: dict | None) -> None:
        """BomItem.save() after validation: the line's validated flag, the trackable assembly,
        and the re-check of stored bom_validated for the assemblies concerned."""
        b["validated"] = bool(b["checksum"]) and self.item_hash(b) == b["checksum"]
        if self.parts[b["sub_part"]]["trackable"]:  # BomItem.clean() makes the assembly so
            self.parts[b["part"]]["trackable"] = True
        watched = HASH_FIELDS + (("part", "sub_part") if self.since(479) else ())
        if before is None:  # a new line re-checks its assemblies only since v479
            if self.since(479):
                self.recheck_bom(b)
        elif any(b[f] != before[f] for f in watched):
            self.recheck_bom(before)
            if self.since(479):
                self.recheck_bom(b)

    def create_bom_item(self, data) -> dict:
        values = self._bom_values(data, partial=False)
        candidate = {**self._bom_defaults(), **values}
        self._check_bom(candidate, None)
        b = self._insert("bom_items", candidate)
        self._saved(b, None)
        return b

    def update_bom_item(self, pk, data, partial: bool) -> dict:
        current = self.get("bom_items", pk, "BomItem")
        candidate = {**current, **self._bom_values(data, partial)}
        self._check_bom(candidate, current)
        before = dict(current)
        current.update(candidate)
        self._saved(current, before)
        return current

    def delete_bom_item(self, pk) -> None:
        b = self.get("bom_items", pk, "BomItem")
        self._check_lock(b["part"], b["inherited"])
        del self.bom_items[b["pk"]]
        for s in [s for s in self.substitutes.values() if s["bom_item"] == b["pk"]]:
            del self.substitutes[s["pk"]]
        self.recheck_bom(b)

    # --- substitutes: BomItemSubstituteSerializer, BomItemSubstitute.validate_unique() -------
    def create_substitute(self, data) -> dict:
        values = parse(data, [("bom_item", related(self.bom_items), REQUIRED),
                              ("part", related(self.parts, lambda x: x["component"]), REQUIRED)],
                       partial=False)
        if any(s["bom_item"] == values["bom_item"] and s["part"] == values["part"]
               for s in self.substitutes.values()):
            raise bad_request({"non_field_errors": [
                "The fields part, bom_item must make a unique set."]})
        if values["part"] == self.bom_items[values["bom_item"]]["sub_part"]:
            raise bad_request({"part": ["Substitute part cannot be the same as the master part"]})
        return self._insert("substitutes", values)

    def delete_substitute(self, pk) -> None:
        del self.substitutes[self.get("substitutes", pk, "BomItemSubstitute")["pk"]]
