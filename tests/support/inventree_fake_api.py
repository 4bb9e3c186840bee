"""The answers of the InvenTree fake: its serializers' shapes (with their optional fields) and
its list filters, on top of the Store's records and write rules. See inventree_fake.py for the
sources followed; the serializer or filter named at each method is the InvenTree class copied."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime

from .inventree_fake_fields import (
    INVALID_CHOICE,
    ApiError,
    boolean,
    flag,
    null_boolean,
    order,
    parse,
    search,
)
from .inventree_fake_store import BUILD_ACTIVE, BUILD_STATUS, Store

BLANK_THUMBNAIL = "/static/img/blank_image.thumbnail.png"
ROLES = ("admin", "part_category", "part", "bom", "stock_location", "stock", "build",
         "purchase_order", "sales_order", "return_order", "transfer_order")


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _float(value) -> float | None:
    return None if value is None else float(value)


class QueryErrors(dict):
    """django-filter's form errors: collected, then answered 400 by DjangoFilterBackend."""

    def choice(self, q: dict, name: str, table: dict) -> dict | None:
        if not q.get(name):
            return None
        try:
            return table[int(q[name])]
        except (KeyError, ValueError):
            self[name] = [INVALID_CHOICE]
            return None

    def number(self, q: dict, name: str) -> float | None:
        if not q.get(name):
            return None
        try:
            return float(q[name])
        except ValueError:
            self[name] = ["Enter a number."]
            return None

    def date(self, q: dict, name: str) -> date | None:
        if not q.get(name):
            return None
        for fmt in ("%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y"):
            try:
                return datetime.strptime(q[name].strip(), fmt).date()
            except ValueError:
                continue
        self[name] = ["Enter a valid date."]
        return None

    def check(self) -> None:
        if self:
            raise ApiError(400, dict(self))


def _keep(records: list[dict], test) -> list[dict]:
    return [r for r in records if test(r)]


class InvenTreeApi(Store):
    """The Store, with InvenTree's serializers and list filters on top."""

    def __init__(self, *, worker_running: bool = True, **kwargs) -> None:
        super().__init__(**kwargs)
        self.worker_running = worker_running
        self.tasks: dict[str, dict] = {}  # background tasks run (django-q Success records)

    def optional(self, q: dict, name: str, default: bool, write: bool) -> bool:
        """FilterableSerializerMixin / OptionalField: a write answer carries every optional
        field (since v434); otherwise the query flag, else the field's default."""
        return True if write and self.since(434) else flag(q, name, default)

    # --- answer shapes -----------------------------------------------------------------------
    def user_json(self, pk: int | None) -> dict | None:  # users/serializers.py UserSerializer
        if pk is None:
            return None
        return {k: self.user[k] for k in ("pk", "username", "first_name", "last_name", "email")}

    def me_json(self, q: dict, read_only: bool) -> dict:  # MeUserSerializer
        out = {**self.user_json(self.user["pk"]), "groups": [],
               "is_staff": self.user["is_staff"], "is_superuser": self.user["is_superuser"],
               "is_active": True, "profile": {
                   "language": None, "theme": None, "widgets": None, "displayname": None,
                   "position": None, "status": None, "location": None, "active": True,
                   "contact": None, "type": "internal", "organisation": None,
                   "primary_group": None}}
        if self.since(519) and flag(q, "roles", False):  # v519: ?roles=true
            rights = ["view"] if read_only else ["view", "change", "add", "delete"]
            out["roles"] = {role: list(rights) for role in ROLES}
            out["permissions"] = {model: list(rights) for model in (
                "part", "partcategory", "bomitem", "bomitemsubstitute", "build")}
        return out

    def category_json(self, c: dict, q: dict, annotated: bool = True,
                      write: bool = False) -> dict:  # CategorySerializer
        path, below = self.category_path(c), self.category_tree(c["pk"])
        out = {"pk": c["pk"], "name": c["name"], "description": c["description"],
               "default_location": None, "default_keywords": c["default_keywords"],
               "level": len(path) - 1, "parent": c["parent"],
               "part_count": sum(p["category"] in below for p in self.parts.values()),
               "subcategories": len(below) - 1,
               "pathstring": "/".join(x["name"] for x in path)}
        if not annotated:  # nested in a part: that category queryset was not annotated
            out.update(part_count=None, subcategories=None)
        if self.optional(q, "path_detail", False, write):
            out["path"] = [{"pk": x["pk"], "name": x["name"]} for x in path]
        out.update(starred=False, structural=c["structural"], icon=c["icon"],
                   parent_default_location=None)
        if self.optional(q, "parameters", False, write):
            out["parameters"] = []
        return out

    def part_brief(self, p: dict, pricing: bool = True) -> dict:  # PartBriefSerializer
        out = {"pk": p["pk"], "IPN": p["IPN"], "barcode_hash": "", "category_default_location": None,
               "default_location": None, "default_expiry": 0, "name": p["name"],
               "revision": p["revision"], "full_name": self.full_name(p),
               "description": p["description"], "image": None, "thumbnail": BLANK_THUMBNAIL}
        out.update({k: p[k] for k in ("active", "locked", "assembly", "component")})
        out["minimum_stock"] = float(p["minimum_stock"])
        out.update({k: p[k] for k in ("is_template", "purchaseable", "salable", "testable",
                                      "trackable", "virtual")})
        if self.since(516):
            out["consumable"] = p["consumable"]
        out["units"] = p["units"]
        if pricing:
            out.update(pricing_min=None, pricing_max=None)
        return out

    def part_json(self, p: dict, q: dict, *, listing: bool, annotated: bool = True,
                  write: bool = False) -> dict:
        """PartSerializer, with its optional fields (category_detail, path_detail, ...)."""
        def opt(name: str, default: bool = False) -> bool:
            return self.optional(q, name, default, write)
        c = self.categories.get(p["category"])
        out = {"active": p["active"], "assembly": p["assembly"], "barcode_hash": "",
               "category": p["category"]}
        if opt("category_detail"):
            out["category_detail"] = self.category_json(c, {}, annotated=False) if c else None
        if opt("path_detail"):
            out["category_path"] = ([{"pk": x["pk"], "name": x["name"]}
                                     for x in self.category_path(c)] if c else None)
        if c:  # a CharField(source='category.name') is left out when there is no category
            out["category_name"] = c["name"]
        out.update(component=p["component"], creation_date=_iso(p["creation_date"]),
                   creation_user=p["creation_user"], default_expiry=0, default_location=None)
        if opt("location_detail"):
            out["default_location_detail"] = None
        if not self.since(456):
            out["default_supplier"] = None
        out.update(description=p["description"], full_name=self.full_name(p), image=None,
                   IPN=p["IPN"], is_template=p["is_template"], keywords=p["keywords"],
                   link=p["link"], locked=p["locked"], minimum_stock=float(p["minimum_stock"]))
        if self.since(486):
            out["maximum_stock"] = float(p["maximum_stock"])
        out["name"] = p["name"]
        if not listing:
            out["notes"] = p["notes"]
        if opt("parameters"):
            out["parameters"] = []
        out.update(pk=p["pk"], purchaseable=p["purchaseable"], revision=p["revision"],
                   revision_of=p["revision_of"])
        out["revision_count"] = (sum(x["revision_of"] == p["pk"] for x in self.parts.values())
                                 if annotated else None)
        out.update(salable=p["salable"], starred=False, thumbnail=BLANK_THUMBNAIL)
        out.update({k: p[k] for k in ("testable", "trackable", "units", "variant_of", "virtual")})
        if self.since(516):
            out["consumable"] = p["consumable"]
        if opt("pricing", True):
            out.update(pricing_min=None, pricing_max=None, pricing_updated=None)
        out["responsible"] = None
        if opt("price_breaks"):
            out["price_breaks"] = []
        scheduled = sum(max(int(b["quantity"]) - int(b["completed"]), 0)
                        for b in self.builds.values()
                        if b["part"] == p["pk"] and b["status"] in BUILD_ACTIVE)
        stock = {"allocated_to_build_orders": 0.0, "allocated_to_sales_orders": 0.0,
                 "building": 0.0, "scheduled_to_build": float(scheduled),
                 "category_default_location": None, "in_stock": 0.0, "ordering": 0.0,
                 "required_for_build_orders": 0, "required_for_sales_orders": 0,
                 "stock_item_count": 0}
        if not self.since(432):
            stock["suppliers"] = 0
        stock.update(total_in_stock=0.0, external_stock=0.0, unallocated_stock=0.0,
                     variant_stock=0.0)
        out.update(stock if annotated else dict.fromkeys(stock))
        if not self.since(434) or opt("tags"):  # v434: tags on request
            out["tags"] = list(p["tags"])
        return out

    def substitute_json(self, s: dict) -> dict:  # BomItemSubstituteSerializer
        return {"pk": s["pk"], "bom_item": s["bom_item"], "part": s["part"],
                "part_detail": self.part_brief(self.parts[s["part"]], pricing=False)}

    def bom_json(self, b: dict, q: dict, annotated: bool = True,
                 write: bool = False) -> dict:  # BomItemSerializer
        def opt(name: str, default: bool = False) -> bool:
            return self.optional(q, name, default, write)
        out = {k: b[k] for k in ("part", "sub_part", "reference")}
        if self.since(485):
            out["raw_amount"] = b["raw_amount"]
        out["quantity"] = float(b["quantity"])
        out.update({k: b[k] for k in ("allow_variants", "inherited", "optional", "consumable")})
        out.update(setup_quantity=float(b["setup_quantity"]), attrition=float(b["attrition"]),
                   rounding_multiple=_float(b["rounding_multiple"]), note=b["note"], pk=b["pk"])
        if opt("pricing", True):
            out.update(dict.fromkeys(("pricing_min", "pricing_max", "pricing_min_total",
                                      "pricing_max_total", "pricing_updated")))
        if opt("substitutes", not self.since(433)):  # v433: substitutes on request
            out["substitutes"] = [self.substitute_json(s) for s in self.substitutes.values()
                                  if s["bom_item"] == b["pk"]]
        out["validated"] = b["validated"]
        value = 0.0 if annotated else None
        out.update(dict.fromkeys(("available_stock", "available_substitute_stock",
                                  "available_variant_stock", "external_stock", "on_order",
                                  "building"), value))
        if opt("can_build", True):
            out["can_build"] = value
        if opt("part_detail"):
            out["part_detail"] = self.part_brief(self.parts[b["part"]])
        sub = self.parts[b["sub_part"]]
        if opt("sub_part_detail", True):
            out["sub_part_detail"] = self.part_brief(sub)
        if opt("category_detail"):
            c = self.categories.get(sub["category"])
            out["category_detail"] = self.category_json(c, {}, annotated=False) if c else None
        return out

    def build_json(self, b: dict, q: dict, *, listing: bool) -> dict:  # BuildSerializer
        part = self.parts[b["part"]]
        level, parent = 0, b["parent"]
        while parent is not None:
            level, parent = level + 1, self.builds[parent]["parent"]
        out = {"pk": b["pk"], "title": b["title"], "barcode_hash": b["barcode_hash"],
               "batch": b["batch"], "creation_date": _iso(b["creation_date"]),
               "completed": int(b["completed"]), "completion_date": _iso(b["completion_date"]),
               "destination": b["destination"], "external": b["external"], "parent": b["parent"],
               "part": b["part"], "part_name": part["name"]}
        if flag(q, "part_detail", True):
            out["part_detail"] = self.part_brief(part)
        out["project_code"] = b["project_code"]
        if flag(q, "project_code_detail", True):
            out.update(project_code_label=None, project_code_detail=None)
        target = b["target_date"]
        out.update(overdue=b["status"] in BUILD_ACTIVE and target is not None
                   and target <= self.today(),
                   reference=b["reference"], sales_order=b["sales_order"],
                   quantity=float(b["quantity"]), start_date=_iso(b["start_date"]),
                   status=b["status"], status_text=BUILD_STATUS.get(b["status"], ""),
                   status_custom_key=b["status_custom_key"] or b["status"],
                   target_date=_iso(target), take_from=b["take_from"])
        if not listing:
            out["notes"] = b["notes"]
        out.update(link=b["link"], issued_by=b["issued_by"])
        if flag(q, "user_detail", True):
            out["issued_by_detail"] = self.user_json(b["issued_by"])
        out["responsible"] = b["responsible"]
        if flag(q, "user_detail", True):
            out["responsible_detail"] = None
        if flag(q, "parameters", False):
            out["parameters"] = []
        out.update(priority=b["priority"], level=level)
        if not self.since(434) or flag(q, "tags", False):
            out["tags"] = list(b["tags"])
        return out

    def bom_validation_json(self, p: dict) -> dict:  # PartBomValidateSerializer
        return {"pk": p["pk"], "bom_validated": p["bom_validated"],
                "bom_checksum": p["bom_checksum"], "bom_checked_by": p["bom_checked_by"],
                "bom_checked_by_detail": self.user_json(p["bom_checked_by"]),
                "bom_checked_date": _iso(p["bom_checked_date"])}

    # --- the BOM validation task ------------------------------------------------------------
    def bom_validate(self, pk, data, partial: bool) -> tuple[int, dict]:
        """PartValidateBOM.update(): offloads part/tasks.py validate_bom. Before v464 it answered
        the part as loaded, before the task ran; since, the task (TaskDetailSerializer). The fake
        runs the task at once: with a worker it is still "pending" in the answer."""
        p = self.get("parts", pk, "Part")
        before = self.bom_validation_json(p)
        values = parse(data, [("valid", boolean, False)], partial=partial)
        self.validate_bom(p["pk"], values.get("valid", False), self.user["pk"])
        if not self.since(464):
            return 200, before
        if not self.worker_running:  # run synchronously: offload_task returned True
            return 200, {"task_id": "", "exists": False, "pending": False, "complete": True,
                         "success": True, "http_status": 200}
        task_id = uuid.uuid4().hex
        self.tasks[task_id] = {"func": "part.tasks.validate_bom", "part": p["pk"]}
        return 200, {"task_id": task_id, "exists": True, "pending": True, "complete": False,
                     "success": False, "http_status": 200}

    def task_json(self, task_id: str) -> tuple[int, dict]:  # BackgroundTaskDetail (v464)
        done = task_id in self.tasks
        return (200 if done else 404), {"task_id": task_id, "exists": done, "pending": False,
                                        "complete": done, "success": done,
                                        "http_status": 200 if done else 404}

    # --- lists ------------------------------------------------------------------------------
    def list_categories(self, q: dict) -> list[dict]:  # CategoryList, CategoryFilter
        errors = QueryErrors()
        parent = errors.choice(q, "parent", self.categories)
        errors.check()
        rows = list(self.categories.values())
        if q.get("name"):
            rows = _keep(rows, lambda c: c["name"] == q["name"])
        if (structural := null_boolean(q, "structural")) is not None:
            rows = _keep(rows, lambda c: c["structural"] == structural)
        cascade, top_level = flag(q, "cascade", False), null_boolean(q, "top_level")
        if parent is not None:  # filter_parent: children, or (cascade) everything below
            below = self.category_tree(parent["pk"]) if cascade else [parent["pk"]]
            rows = _keep(rows, lambda c: c["parent"] in below)
        if (top_level and not cascade) or (  # filter_top_level, filter_cascade
                null_boolean(q, "cascade") is False and (parent is None or top_level)):
            rows = _keep(rows, lambda c: c["parent"] is None)
        rows = search(rows, q.get("search"), [lambda c: c["name"], lambda c: c["description"],
                                              lambda c: "/".join(x["name"] for x in
                                                                 self.category_path(c))])
        tree = {"tree_id": [lambda c: self.category_path(c)[0]["pk"]],
                "lft": [lambda c: tuple(x["name"] for x in self.category_path(c)[1:])],
                "name": [lambda c: c["name"]], "level": [lambda c: len(self.category_path(c))],
                "pathstring": [lambda c: "/".join(x["name"] for x in self.category_path(c))]}
        return order(rows, q.get("ordering"), tree, ["tree_id", "lft", "name"])

    def list_parts(self, q: dict) -> list[dict]:  # PartList, PartFilter
        errors = QueryErrors()
        revision_of = errors.choice(q, "revision_of", self.parts)
        category = None
        if "category" in q and str(q["category"]).strip().lower() not in (
                "top", "null", "none", "empty", "false", "-1", ""):
            category = errors.number(q, "category")
        created = (errors.date(q, "created_before"), errors.date(q, "created_after"))
        errors.check()
        rows = list(self.parts.values())
        if revision_of is not None:
            rows = _keep(rows, lambda p: p["revision_of"] == revision_of["pk"])
        if q.get("IPN"):  # iexact; there is no 'revision' (nor 'name') filter
            rows = _keep(rows, lambda p: (p["IPN"] or "").lower() == q["IPN"].lower())
        for name, regex_of in (("name_regex", "name"), ("IPN_regex", "IPN")):
            if q.get(name):
                rows = _keep(rows, lambda p, f=regex_of, n=name: re.search(
                    q[n], p[f] or "", re.IGNORECASE) is not None)
        tests = {"is_revision": lambda p: p["revision_of"] is not None,
                 "has_revisions": lambda p: any(x["revision_of"] == p["pk"]
                                                for x in self.parts.values()),
                 "has_units": lambda p: bool(p["units"]), "has_ipn": lambda p: bool(p["IPN"]),
                 "is_variant": lambda p: p["variant_of"] is not None,
                 "bom_valid": lambda p: p["bom_validated"]}
        for field in ("is_template", "assembly", "component", "trackable", "testable",
                      "purchaseable", "salable", "active", "locked", "virtual", "consumable"):
            tests[field] = lambda p, f=field: p[f]
        tests["on_order"] = lambda p: False  # nothing is ever on order here
        tests["high_stock"] = lambda p: False  # nor in stock
        for name, test in tests.items():
            if (wanted := null_boolean(q, name)) is not None:
                rows = _keep(rows, lambda p, t=test, w=wanted: bool(t(p)) == w)
        if created[0]:
            rows = _keep(rows, lambda p: p["creation_date"] and p["creation_date"] < created[0])
        if created[1]:
            rows = _keep(rows, lambda p: p["creation_date"] and p["creation_date"] > created[1])
        if category is not None:
            below = (self.category_tree(int(category)) if flag(q, "cascade", True)
                     else [int(category)])
            if int(category) in self.categories or not flag(q, "cascade", True):
                rows = _keep(rows, lambda p: p["category"] in below)
        elif "category" in q and not flag(q, "cascade", True):
            rows = _keep(rows, lambda p: p["category"] is None)
        rows = search(rows, q.get("search"), [
            lambda p: p["name"], lambda p: p["description"], lambda p: p["IPN"],
            lambda p: p["revision"], lambda p: p["keywords"],
            lambda p: (self.categories.get(p["category"]) or {}).get("name")])
        fields = {f: [lambda p, f=f: p[f]] for f in ("name", "creation_date", "IPN", "category",
                                                     "units", "revision")}
        fields["id"] = [lambda p: p["pk"]]
        fields["revision_count"] = [lambda p: sum(x["revision_of"] == p["pk"]
                                                  for x in self.parts.values())]
        for constant in ("in_stock", "total_in_stock", "unallocated_stock", "default_location",
                         "pricing_min", "pricing_max", "pricing_updated", "ordering"):
            fields[constant] = [lambda p: 0]
        return order(rows, q.get("ordering"), fields, ["name"])

    def list_bom(self, q: dict) -> list[dict]:  # BomList, BomFilter (there is no sub_part filter)
        errors = QueryErrors()
        part = errors.choice(q, "part", self.parts)
        uses = errors.choice(q, "uses", self.parts)
        category = errors.choice(q, "category", self.categories)
        errors.check()
        rows = list(self.bom_items.values())
        if part is not None:
            mine = {b["pk"] for b in self.bom_of(part["pk"])}
            rows = _keep(rows, lambda b: b["pk"] in mine)
        if uses is not None:  # Part.get_used_in_bom_item_filter()
            parents = {a["pk"] for a in self.ancestors(uses)}
            subs = {s["bom_item"] for s in self.substitutes.values() if s["part"] == uses["pk"]}
            rows = _keep(rows, lambda b: b["sub_part"] == uses["pk"] or b["pk"] in subs
                         or (b["allow_variants"] and b["sub_part"] in parents))
        if category is not None:
            below = self.category_tree(category["pk"])
            rows = _keep(rows, lambda b: self.parts[b["sub_part"]]["category"] in below)
        tests = {f: (lambda b, f=f: b[f]) for f in ("optional", "consumable", "inherited",
                                                    "allow_variants", "validated")}
        for side, field in (("part", "active"), ("part", "trackable"), ("part", "testable"),
                            ("part", "locked"), ("sub_part", "active"),
                            ("sub_part", "trackable"), ("sub_part", "testable"),
                            ("sub_part", "assembly"), ("sub_part", "virtual")):
            tests[f"{side}_{field}"] = lambda b, s=side, f=field: self.parts[b[s]][f]
        for name, test in tests.items():
            if (wanted := null_boolean(q, name)) is not None:
                rows = _keep(rows, lambda b, t=test, w=wanted: bool(t(b)) == w)
        getters = [lambda b: b["reference"]]
        for side in ("part", "sub_part"):
            getters += [lambda b, s=side, f=f: self.parts[b[s]][f]
                        for f in ("name", "description", "IPN", "revision", "keywords")]
        getters.append(lambda b: (self.categories.get(self.parts[b["sub_part"]]["category"])
                                  or {}).get("name"))
        rows = search(rows, q.get("search"), getters)
        fields = {f: [lambda b, f=f: b[f]] for f in (
            "quantity", "setup_quantity", "attrition", "rounding_multiple", "allow_variants",
            "inherited", "optional", "consumable", "reference", "validated")}
        fields["sub_part"] = [lambda b: self.parts[b["sub_part"]]["name"]]
        fields["IPN"] = [lambda b: self.parts[b["sub_part"]]["IPN"]]
        fields["category"] = getters[-1:]
        for constant in ("can_build", "available_stock", "pricing_min", "pricing_max",
                         "pricing_min_total", "pricing_max_total", "pricing_updated"):
            fields[constant] = [lambda b: 0]
        return order(rows, q.get("ordering"), fields, [])

    def list_substitutes(self, q: dict) -> list[dict]:  # BomItemSubstituteList
        errors = QueryErrors()
        part = errors.choice(q, "part", self.parts)
        bom_item = errors.choice(q, "bom_item", self.bom_items)
        errors.check()
        rows = list(self.substitutes.values())
        if part is not None:
            rows = _keep(rows, lambda s: s["part"] == part["pk"])
        if bom_item is not None:
            rows = _keep(rows, lambda s: s["bom_item"] == bom_item["pk"])
        return sorted(rows, key=lambda s: s["pk"])

    def list_builds(self, q: dict) -> list[dict]:  # BuildList, BuildFilter
        errors = QueryErrors()
        status = errors.number(q, "status")
        part = errors.choice(q, "part", self.parts)
        category = errors.choice(q, "category", self.categories)
        dates = {name: errors.date(q, name) for name in (
            "created_before", "created_after", "start_date_before", "start_date_after",
            "target_date_before", "target_date_after", "completed_before", "completed_after",
            "min_date", "max_date")}
        errors.check()
        rows = list(self.builds.values())
        if null_boolean(q, "external") is not None:
            rows = _keep(rows, lambda b: b["external"] == null_boolean(q, "external"))
        if status is not None:  # status, or a custom status key
            rows = _keep(rows, lambda b: (b["status"] == status and b["status_custom_key"] is None)
                         or b["status_custom_key"] == status)
        for name in ("active", "outstanding"):
            if (wanted := null_boolean(q, name)) is not None:
                rows = _keep(rows, lambda b, w=wanted: (b["status"] in BUILD_ACTIVE) == w)
        if part is not None:
            family = {part["pk"]}
            if flag(q, "include_variants", False):
                family |= {p["pk"] for p in self.parts.values()
                           if part["pk"] in {a["pk"] for a in self.ancestors(p)}}
            rows = _keep(rows, lambda b: b["part"] in family)
        if category is not None:
            below = self.category_tree(category["pk"])
            rows = _keep(rows, lambda b: self.parts[b["part"]]["category"] in below)
        if (overdue := null_boolean(q, "overdue")) is not None:
            rows = _keep(rows, lambda b: (b["status"] in BUILD_ACTIVE and b["target_date"] is not None
                                          and b["target_date"] <= self.today()) == overdue)
        if q.get("reference"):
            rows = _keep(rows, lambda b: b["reference"].lower() == q["reference"].lower())
        for name, field in (("has_start_date", "start_date"), ("has_target_date", "target_date")):
            if (wanted := null_boolean(q, name)) is not None:
                rows = _keep(rows, lambda b, f=field, w=wanted: (b[f] is not None) == w)
        for prefix, field in (("created", "creation_date"), ("start_date", "start_date"),
                              ("target_date", "target_date"), ("completed", "completion_date")):
            if before := dates[f"{prefix}_before"]:
                rows = _keep(rows, lambda b, f=field, d=before: b[f] is not None and b[f] < d)
            if after := dates[f"{prefix}_after"]:
                rows = _keep(rows, lambda b, f=field, d=after: b[f] is not None and b[f] > d)
        for name, pick in (("min_date", lambda v, d: v >= d), ("max_date", lambda v, d: v <= d)):
            if day := dates[name]:  # BuildFilter.filter_min_date / filter_max_date
                rows = _keep(rows, lambda b, d=day, ok=pick: (
                    (b["start_date"] is None and ok(b["creation_date"], d))
                    or (b["start_date"] is not None and ok(b["start_date"], d))
                    or (b["target_date"] is not None and ok(b["target_date"], d))))
        rows = search(rows, q.get("search"), [
            lambda b: b["reference"], lambda b: b["title"], lambda b: self.parts[b["part"]]["name"],
            lambda b: self.parts[b["part"]]["IPN"], lambda b: self.parts[b["part"]]["description"],
            lambda b: b["priority"]])
        fields = {f: [lambda b, f=f: b[f]] for f in (
            "status", "creation_date", "start_date", "target_date", "completion_date", "quantity",
            "completed", "issued_by", "responsible", "priority", "external")}
        fields["reference"] = [lambda b: int(m.group()) if (m := re.search(r"\d+", b["reference"]))
                               else 0, lambda b: b["reference"]]
        fields["part__name"] = fields["part"] = [lambda b: self.parts[b["part"]]["name"]]
        fields["IPN"] = [lambda b: self.parts[b["part"]]["IPN"]]
        fields["project_code"] = [lambda b: b["project_code"]]
        fields["level"] = [lambda b: 0 if b["parent"] is None else 1]
        return order(rows, q.get("ordering"), fields, ["-reference"])
