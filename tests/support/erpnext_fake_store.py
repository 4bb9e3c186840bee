"""The ERPNext fake's data and rules: DocType metadata, documents, naming, validation, queries.

See erpnext_fake.py's module docstring for what was followed and where the fake simplifies.
"""

from __future__ import annotations

import copy
import fnmatch
import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime

DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
STANDARD = ("name", "owner", "creation", "modified", "modified_by", "docstatus", "idx")
CHILD_STANDARD = (*STANDARD, "parent", "parentfield", "parenttype")
OPERATIONS = ("read", "create", "write", "delete", "submit", "cancel")


class FrappeError(Exception):
    """A frappe.exceptions class raised on the server: `status` is its http_status_code. `thrown`:
    raised by frappe.throw / msgprint (the message also goes to _server_messages); otherwise raised
    bare, with `error_message` as frappe.flags.error_message when set."""

    def __init__(self, exc_type: str, message: str = "", status: int = 417, *, thrown: bool = True,
                 title: str | None = None, error_message: str | None = None) -> None:
        super().__init__(message)
        self.exc_type, self.message, self.status = exc_type, message, status
        self.thrown, self.title, self.error_message = thrown, title, error_message


def validation(message: str, exc_type: str = "ValidationError", **kw) -> FrappeError:
    return FrappeError(exc_type, message, 417, **kw)


def permission(message: str, *, thrown: bool = False) -> FrappeError:
    if thrown:
        return FrappeError("PermissionError", message, 403)
    return FrappeError("PermissionError", "", 403, thrown=False, error_message=message)


def not_found(doctype: str, name: str) -> FrappeError:
    return FrappeError("DoesNotExistError", f"{doctype} {name} not found", 404)


@dataclass
class Meta:
    """The few DocType properties the fake needs."""

    fields: dict[str, object]  # fieldname → default
    links: dict[str, str] = field(default_factory=dict)  # fieldname → linked DocType
    tables: dict[str, str] = field(default_factory=dict)  # fieldname → child DocType
    mandatory: tuple[str, ...] = ()
    submittable: bool = False
    allow_on_submit: tuple[str, ...] = ()
    autoname: str | None = None  # "field:x", "prompt", or None (the controller names it)


LABELS = {"stock_uom": "Default Unit of Measure", "uom": "UOM", "qty": "Qty", "bom_no": "BOM No",
          "item_code": "Item Code", "item_group": "Item Group", "item": "Item",
          "production_item": "Item To Manufacture", "schedule_date": "Required By",
          "transaction_date": "Date", "items": "Items", "operations": "Operations",
          "time_in_mins": "Operation Time", "is_active": "Is Active", "is_default": "Is Default",
          "quantity": "Quantity", "with_operations": "With Operations", "workstation": "Workstation"}


def label(fieldname: str) -> str:
    return LABELS.get(fieldname) or fieldname.replace("_", " ").title()


META: dict[str, Meta] = {
    "UOM": Meta({"uom_name": None, "enabled": 1, "must_be_whole_number": 0},
                mandatory=("uom_name",), autoname="field:uom_name"),
    "Item Group": Meta({"item_group_name": None, "parent_item_group": None, "is_group": 0},
                       links={"parent_item_group": "Item Group"}, mandatory=("item_group_name",),
                       autoname="field:item_group_name"),
    "Workstation": Meta({"workstation_name": None, "description": None},
                        mandatory=("workstation_name",), autoname="field:workstation_name"),
    "Operation": Meta({"description": None, "workstation": None},
                      links={"workstation": "Workstation"}, autoname="prompt"),
    "Item": Meta({"item_code": None, "item_name": None, "description": None, "item_group": None,
                  "stock_uom": None, "is_stock_item": 1, "disabled": 0, "default_bom": None},
                 links={"item_group": "Item Group", "stock_uom": "UOM", "default_bom": "BOM"},
                 mandatory=("item_code", "item_group", "stock_uom"), autoname="field:item_code"),
    "BOM Item": Meta({"item_code": None, "item_name": None, "qty": 1.0, "uom": None,
                      "stock_qty": None, "stock_uom": None, "conversion_factor": 1.0,
                      "operation": None, "bom_no": None},
                     links={"item_code": "Item", "uom": "UOM", "stock_uom": "UOM",
                            "operation": "Operation", "bom_no": "BOM"},
                     mandatory=("item_code", "qty", "uom")),
    "BOM Operation": Meta({"operation": None, "workstation": None, "time_in_mins": 0.0,
                           "description": None, "batch_size": 1},
                          links={"operation": "Operation", "workstation": "Workstation"},
                          mandatory=("operation", "time_in_mins")),
    "BOM": Meta({"item": None, "item_name": None, "uom": None, "quantity": 1.0, "is_active": 1,
                 "is_default": 1, "with_operations": 0, "currency": "EUR", "company": None},
                links={"item": "Item", "uom": "UOM"},
                tables={"items": "BOM Item", "operations": "BOM Operation"},
                mandatory=("item", "quantity"), submittable=True,
                allow_on_submit=("is_active", "is_default")),
    "Work Order": Meta({"production_item": None, "item_name": None, "bom_no": None, "qty": 1.0,
                        "produced_qty": 0.0, "planned_start_date": None, "planned_end_date": None,
                        "expected_delivery_date": None,
                        "status": "Draft", "stock_uom": None, "company": None},
                       links={"production_item": "Item", "bom_no": "BOM", "stock_uom": "UOM"},
                       mandatory=("production_item", "bom_no", "qty", "planned_start_date"),
                       submittable=True, allow_on_submit=("expected_delivery_date",)),
    "Supplier": Meta({"supplier_name": None, "supplier_group": None, "disabled": 0},
                     mandatory=("supplier_name",), autoname="field:supplier_name"),
    "Purchase Order Item": Meta({"item_code": None, "item_name": None, "qty": 1.0,
                                 "received_qty": 0.0, "uom": None, "stock_uom": None,
                                 "conversion_factor": 1.0, "schedule_date": None},
                                links={"item_code": "Item", "uom": "UOM", "stock_uom": "UOM"},
                                mandatory=("item_code", "qty", "schedule_date"),
                                allow_on_submit=("schedule_date",)),
    "Purchase Order": Meta({"supplier": None, "transaction_date": None, "schedule_date": None,
                            "status": "Draft", "per_received": 0.0, "company": None},
                           links={"supplier": "Supplier"}, tables={"items": "Purchase Order Item"},
                           mandatory=("supplier", "transaction_date", "schedule_date"),
                           submittable=True, allow_on_submit=("schedule_date", "status")),
}
DOCTYPES = tuple(d for d in META if d not in ("BOM Item", "BOM Operation", "Purchase Order Item"))
SERIES = {"Work Order": "MFG-WO-{year}-", "Purchase Order": "PUR-ORD-{year}-"}


class Store:
    """Every document, by DocType and name, with Frappe's Document rules for insert/save/delete."""

    def __init__(self, user: str, now: datetime) -> None:
        self.user, self.now = user, now
        self.tables: dict[str, dict[str, dict]] = {d: {} for d in DOCTYPES}
        self.denied: set[tuple[str, str]] = set()
        self.series: dict[str, int] = {}
        for uom in ("Nos", "Kg", "Gram", "Meter", "Litre", "Unit"):
            self.insert("UOM", {"uom_name": uom, "must_be_whole_number": int(uom in ("Nos", "Unit"))},
                        owner="Administrator")
        self.insert("Item Group", {"item_group_name": "All Item Groups", "is_group": 1},
                    owner="Administrator")
        for group in ("Products", "Raw Material", "Sub Assemblies"):
            self.insert("Item Group", {"item_group_name": group, "parent_item_group": "All Item Groups"},
                        owner="Administrator")

    # --- helpers -----------------------------------------------------------------------------
    def stamp(self) -> str:
        return self.now.strftime(DATETIME_FORMAT)

    def meta(self, doctype: str) -> Meta:
        if doctype not in DOCTYPES:
            raise FrappeError("DoesNotExistError", f"DocType {doctype} not found", 404)
        return META[doctype]

    def check(self, doctype: str, op: str, name: str | None = None) -> None:
        if (doctype, op) not in self.denied:
            return
        if op == "read" and name is None:  # frappe.has_permission(throw=True), for get_list
            raise permission(f"No permission for {doctype}")
        if op == "delete":  # delete_doc.check_permission_and_not_submitted
            raise permission(f"User not allowed to delete {doctype}: {name}", thrown=True)
        raise permission(f"Insufficient Permission for {doctype} (<strong>{op}</strong>)")

    def get(self, doctype: str, name: str) -> dict:
        self.meta(doctype)
        doc = self.tables[doctype].get(name)
        if doc is None:
            raise not_found(doctype, name)
        return doc

    def snapshot(self):
        return copy.deepcopy((self.tables, self.series))

    def restore(self, snap) -> None:
        self.tables, self.series = snap

    # --- insert / save / delete ----------------------------------------------------------------
    def insert(self, doctype: str, data: dict, *, owner: str | None = None,
               ignore_permissions: bool = False) -> dict:
        meta = self.meta(doctype)
        docstatus = int(data.get("docstatus") or 0)
        if not ignore_permissions:
            self.check(doctype, "create")
            if docstatus == 1:
                self.check(doctype, "submit")
        if docstatus not in (0, 1) or (docstatus == 1 and not meta.submittable):
            raise validation("Cannot change docstatus from 0 (Draft) to 2 (Cancelled)"
                             if docstatus == 2 else "Invalid docstatus", "DocstatusTransitionError")
        stamp, who = self.stamp(), owner or self.user
        doc = {"doctype": doctype, **{k: copy.deepcopy(v) for k, v in meta.fields.items()}}
        doc.update({k: copy.deepcopy(v) for k, v in data.items() if k in meta.fields})
        for fieldname, child in meta.tables.items():
            doc[fieldname] = [self._child(child, row, doctype, fieldname, i, who, stamp)
                              for i, row in enumerate(data.get(fieldname) or [], 1)]
        doc.update({"owner": who, "creation": stamp, "modified": stamp, "modified_by": who,
                    "docstatus": docstatus, "idx": 0})
        self._defaults(doctype, doc)
        doc["name"] = self._new_name(doctype, doc, data)
        for rows in (doc[f] for f in meta.tables):
            for row in rows:
                row["parent"] = doc["name"]
        self._validate_links(doctype, doc)
        self._validate(doctype, doc)
        self._validate_mandatory(doctype, doc)
        if doc["name"] in self.tables[doctype]:
            raise FrappeError("DuplicateEntryError",
                              f"{doctype} {doc['name']} already exists", 409)
        self.tables[doctype][doc["name"]] = doc
        if docstatus == 1:
            self._on_submit(doctype, doc)
        return doc

    def save(self, doctype: str, name: str, data: dict, *, ignore_permissions: bool = False) -> dict:
        """Document.save() of the stored document updated with `data` (PUT, frappe.client.submit)."""
        meta, old = self.meta(doctype), self.get(doctype, name)
        if "modified" in data and str(data["modified"]) != old["modified"]:
            raise validation("Error: Document has been modified after you have opened it "
                             f"({old['modified']}, {data['modified']}). "
                             "Please refresh to get the latest document.", "TimestampMismatchError")
        new = copy.deepcopy(old)
        new.update({k: copy.deepcopy(v) for k, v in data.items() if k in meta.fields})
        if "docstatus" in data:
            new["docstatus"] = int(data["docstatus"] or 0)
        before, after = old["docstatus"], new["docstatus"]
        action = self._transition(before, after, doctype, name, ignore_permissions)
        stamp = self.stamp()
        for fieldname, child in meta.tables.items():
            if fieldname in data:
                kept = {r["name"]: r for r in old[fieldname]}
                new[fieldname] = [self._child(child, row, doctype, fieldname, i, self.user, stamp,
                                              kept.get(row.get("name")) if isinstance(row, dict) else None)
                                  for i, row in enumerate(data[fieldname] or [], 1)]
                for row in new[fieldname]:
                    row["parent"] = name
        if action == "update_after_submit":
            self._defaults(doctype, new)
            self._validate_update_after_submit(doctype, old, new)
        elif action in ("save", "submit"):
            self._defaults(doctype, new)
            self._validate_links(doctype, new)
            self._validate(doctype, new)
            self._validate_mandatory(doctype, new)
        new.update({"modified": stamp, "modified_by": self.user})
        self.tables[doctype][name] = new
        if action == "submit":
            self._on_submit(doctype, new)
        elif action == "cancel":
            self._on_cancel(doctype, new)
        elif action == "update_after_submit" and doctype == "BOM":
            self._manage_default_bom(new)
        return new

    def _transition(self, before: int, after: int, doctype: str, name: str, ignore: bool) -> str:
        """Document.check_docstatus_transition (`before` is the stored docstatus)."""
        check = (lambda op: None) if ignore else (lambda op: self.check(doctype, op, name))
        if before == 0:
            if after == 0:
                check("write")
                return "save"
            if after == 1 and META[doctype].submittable:
                check("submit")
                return "submit"
            if after == 2:
                raise validation("Cannot change docstatus from 0 (Draft) to 2 (Cancelled)",
                                 "DocstatusTransitionError", thrown=False)
            raise validation("Invalid docstatus", thrown=False)
        if before == 1:
            if after == 1:
                check("submit")
                return "update_after_submit"
            if after == 2:
                check("cancel")
                return "cancel"
            raise validation("Cannot change docstatus from 1 (Submitted) to 0 (Draft)",
                             "DocstatusTransitionError", thrown=False)
        raise validation("Cannot edit cancelled document", thrown=False)

    def delete(self, doctype: str, name: str) -> None:
        doc = self.get(doctype, name)
        self.check(doctype, "delete", name)
        if doc["docstatus"] == 1:
            raise validation(
                f"{doctype} {name}: Submitted Record cannot be deleted. You must "
                "<a href='https://docs.erpnext.com//docs/user/manual/en/setting-up/articles/"
                "delete-submitted-document' target='_blank'> Cancel </a> it first.")
        for other, rows in self.tables.items():  # check_if_doc_is_linked, for the modelled links
            for row in rows.values():
                for f, target in META[other].links.items():
                    if target == doctype and row.get(f) == name and (other, row["name"]) != (doctype, name):
                        if other == "Item" and f == "default_bom":
                            continue
                        raise FrappeError(
                            "LinkExistsError", f"Cannot delete or cancel because {doctype} "
                            f'<a href="/app/{doctype.lower().replace(" ", "-")}/{name}">{name}</a> '
                            f"is linked with {other} "
                            f'<a href="/app/{other.lower().replace(" ", "-")}/{row["name"]}">'
                            f"{row['name']}</a>", 417)
        del self.tables[doctype][name]

    # --- rules -------------------------------------------------------------------------------
    def _child(self, doctype: str, row, parenttype: str, parentfield: str, idx: int, who: str,
               stamp: str, kept: dict | None = None) -> dict:
        meta = META[doctype]
        row = row if isinstance(row, dict) else {}
        out = copy.deepcopy(kept) if kept else {
            "doctype": doctype, **{k: copy.deepcopy(v) for k, v in meta.fields.items()},
            "name": secrets.token_hex(5), "owner": who, "creation": stamp}
        out.update({k: copy.deepcopy(v) for k, v in row.items() if k in meta.fields})
        out.update({"modified": stamp, "modified_by": who, "idx": idx, "parentfield": parentfield,
                    "parenttype": parenttype, "docstatus": 0})
        return out

    def _defaults(self, doctype: str, doc: dict) -> None:
        items = self.tables["Item"]
        if doctype == "Item" and not doc.get("item_name"):
            doc["item_name"] = doc.get("item_code")
        if doctype == "BOM" and doc.get("item") in items:
            item = items[doc["item"]]
            doc["item_name"], doc["uom"] = item["item_name"], doc.get("uom") or item["stock_uom"]
        if doctype == "Work Order" and doc.get("production_item") in items:
            item = items[doc["production_item"]]
            doc["item_name"], doc["stock_uom"] = item["item_name"], item["stock_uom"]
        for rows in (doc.get(f) or [] for f in META[doctype].tables):
            for row in rows:
                item = items.get(row.get("item_code"))
                if item:
                    row["item_name"] = row.get("item_name") or item["item_name"]
                    row["stock_uom"] = item["stock_uom"]
                    row["uom"] = row.get("uom") or item["stock_uom"]
                if "stock_qty" in row:
                    row["stock_qty"] = float(row.get("qty") or 0) * float(row.get("conversion_factor") or 1)
                if doctype == "Purchase Order" and not row.get("schedule_date"):
                    row["schedule_date"] = doc.get("schedule_date")
        if doctype == "Purchase Order" and not doc.get("transaction_date"):
            doc["transaction_date"] = self.now.date().isoformat()
        if doctype == "BOM" and not doc.get("with_operations"):
            doc["operations"] = []  # BOM.clear_operations

    def _new_name(self, doctype: str, doc: dict, data: dict) -> str:
        meta = META[doctype]
        if meta.autoname and meta.autoname.startswith("field:"):
            value = doc.get(meta.autoname[6:])
            if not value:
                raise validation(f"{label(meta.autoname[6:])} is required", "MandatoryError")
            return str(value).strip()
        if meta.autoname == "prompt":
            value = data.get("__newname") or data.get("name")
            if not value:
                raise validation("Please set the document name", "ValidationError")
            return str(value).strip()
        if doctype == "BOM":  # BOM.autoname: BOM-<item>-### after the item's highest index
            prefix = f"BOM-{doc.get('item')}-"
            used = [int(n[len(prefix):]) for n in self.tables["BOM"]
                    if n.startswith(prefix) and n[len(prefix):].isdigit()]
            return f"{prefix}{max(used, default=0) + 1:03d}"
        prefix = SERIES[doctype].format(year=self.now.year)
        self.series[prefix] = self.series.get(prefix, 0) + 1
        return f"{prefix}{self.series[prefix]:05d}"

    def _validate_links(self, doctype: str, doc: dict) -> None:
        missing = [f"{label(f)}: {doc[f]}" for f, target in META[doctype].links.items()
                   if doc.get(f) and doc[f] not in self.tables[target]]
        for fieldname, child in META[doctype].tables.items():
            for row in doc.get(fieldname) or []:
                missing += [f"Row #{row['idx']}: {label(f)}: {row[f]}"
                            for f, target in META[child].links.items()
                            if row.get(f) and row[f] not in self.tables[target]]
        if missing:
            raise validation(f"Could not find {', '.join(missing)}", "LinkValidationError")

    def _validate_mandatory(self, doctype: str, doc: dict) -> None:
        missing = [f for f in META[doctype].mandatory if doc.get(f) in (None, "")]
        rows = [(child, row, f) for fieldname, child in META[doctype].tables.items()
                for row in doc.get(fieldname) or [] for f in META[child].mandatory
                if row.get(f) in (None, "")]
        if missing or rows:
            fields = ", ".join(missing + [f for _c, _r, f in rows])
            raise validation(f"[{doctype}, {doc['name']}]: {fields}", "MandatoryError")

    def _validate(self, doctype: str, doc: dict) -> None:
        """The controllers' validate() for the rules named in the module doc."""
        if doctype == "BOM":
            if not float(doc.get("quantity") or 0) > 0:
                raise validation("Quantity should be greater than 0")
            if not doc["items"]:
                raise validation("Raw Materials cannot be blank.")
            for row in doc["items"]:
                if float(row.get("qty") or 0) <= 0:
                    raise validation(f"Quantity required for Item {row.get('item_code')} in row {row['idx']}")
            if doc.get("with_operations"):
                if not doc["operations"] and doc["docstatus"] == 1:
                    raise validation("Operations cannot be left blank")
                used = {op.get("operation") for op in doc["operations"]}
                for row in doc["items"]:
                    if row.get("operation") and row["operation"] not in used:
                        raise validation(f"Row #{row['idx']}: Operation {row['operation']} is not in "
                                         "the Operations table")
        if doctype in ("Work Order", "Purchase Order"):
            rows = doc.get("items", [doc])
            for row in rows:
                if float(row.get("qty") or 0) <= 0:
                    raise validation("Quantity to Manufacture must be greater than 0."
                                     if doctype == "Work Order" else
                                     f"Row #{row['idx']}: Qty must be greater than 0")
        if doctype == "Work Order" and doc.get("bom_no") in self.tables["BOM"]:
            bom = self.tables["BOM"][doc["bom_no"]]
            if bom["item"] != doc.get("production_item") or bom["docstatus"] != 1 or not bom["is_active"]:
                raise validation(f"BOM {doc['bom_no']} must be active and submitted for item "
                                 f"{doc.get('production_item')}")

    def _validate_update_after_submit(self, doctype: str, old: dict, new: dict) -> None:
        meta = META[doctype]
        for f in meta.fields:
            if f not in meta.allow_on_submit and (old.get(f) or new.get(f)) and old.get(f) != new.get(f):
                raise validation(f"Not allowed to change {label(f)} after submission",
                                 "UpdateAfterSubmitError")
        for f, child in meta.tables.items():
            if len(old[f]) != len(new[f]):
                raise validation(f"Not allowed to change {label(f)} after submission",
                                 "UpdateAfterSubmitError")
            for was, now in zip(old[f], new[f], strict=True):
                for c in META[child].fields:
                    if (c not in META[child].allow_on_submit and (was.get(c) or now.get(c))
                            and was.get(c) != now.get(c)):
                        raise validation(f"Not allowed to change {label(c)} after submission",
                                         "UpdateAfterSubmitError")

    def _on_submit(self, doctype: str, doc: dict) -> None:
        if doctype == "BOM":
            self._manage_default_bom(doc)
        elif doctype == "Work Order":
            doc["status"] = "Not Started"
        elif doctype == "Purchase Order":
            doc["status"] = "To Receive and Bill"

    def _on_cancel(self, doctype: str, doc: dict) -> None:
        if doctype != "BOM":
            doc["status"] = "Cancelled"
        else:
            doc["is_active"], doc["is_default"] = 0, 0
            self._manage_default_bom(doc)

    def _manage_default_bom(self, doc: dict) -> None:
        """erpnext BOM.manage_default_bom."""
        item = self.tables["Item"].get(doc["item"])
        others = [b for b in self.tables["BOM"].values() if b["item"] == doc["item"] and b is not doc]
        if doc["is_default"] and doc["is_active"]:
            for other in others:  # frappe.model.utils.set_default
                other["is_default"] = 0
            if item is not None:
                item["default_bom"] = doc["name"]
        elif not any(b["docstatus"] == 1 and b["is_default"] for b in others) and doc["is_active"]:
            doc["is_default"] = 1
            if item is not None:
                item["default_bom"] = doc["name"]
        else:
            doc["is_default"] = 0
            if item is not None and item.get("default_bom") == doc["name"]:
                item["default_bom"] = None

    # --- frappe.get_list -----------------------------------------------------------------------
    def query(self, doctype: str, fields, filters, order_by: str | None, start: int,
              page_length: int) -> list[dict]:
        meta = self.meta(doctype)
        self.check(doctype, "read")
        known = set(meta.fields) | set(STANDARD) | {"doctype"}
        fields = fields or ["name"]
        if isinstance(fields, str):
            fields = [fields]
        wanted = []
        for f in fields:
            f = str(f).strip().strip("`")
            f = f.split(".", 1)[1].strip("`") if f.startswith("`tab") or "." in f else f
            if f == "*":
                wanted += [k for k in (*STANDARD, *meta.fields) if k not in wanted]
            elif f not in known:
                raise FrappeError("DataError", f"Field not permitted in query: {f}", 417)
            else:
                wanted.append(f)
        rows = [r for r in self.tables[doctype].values()
                if all(_match(r, c, doctype, known) for c in _conditions(filters, doctype))]
        for part in reversed([p.strip() for p in (order_by or "modified desc").split(",") if p.strip()]):
            words = part.replace("`", "").split()
            key = words[0].split(".")[-1]
            if key not in known:
                raise FrappeError("DataError", f"Unknown column in order clause: {key}", 417)
            desc = len(words) > 1 and words[1].lower() == "desc"
            rows.sort(key=lambda r, k=key: (r.get(k) is not None, r.get(k) if r.get(k) is not None else 0),
                      reverse=desc)
        page = rows[start:start + page_length] if page_length else rows[start:]
        return [{f: r.get(f) for f in wanted} for r in page]


def _conditions(filters, doctype: str) -> list[tuple[str, str, object]]:
    if filters in (None, "", [], {}):
        return []
    if isinstance(filters, str):
        filters = json.loads(filters)
    out = []
    if isinstance(filters, dict):
        for k, v in filters.items():
            out.append((k, v[0], v[1]) if isinstance(v, list) and len(v) == 2 else (k, "=", v))
        return out
    for c in filters:
        if isinstance(c, list) and len(c) == 4:
            out.append((c[1], c[2], c[3]))
        elif isinstance(c, list) and len(c) == 3:
            out.append((c[0], c[1], c[2]))
        elif isinstance(c, list) and len(c) == 2:
            out.append((c[0], "=", c[1]))
        else:
            raise validation(f"Filter must have 4 values (doctype, fieldname, operator, value): {c}")
    return out


def _number(value):
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


def _match(row: dict, cond: tuple[str, str, object], doctype: str, known: set) -> bool:
    fieldname, op, value = cond
    if fieldname not in known:
        raise FrappeError("DataError", f"Field not permitted in query: {fieldname}", 417)
    op, have = str(op).lower().strip(), row.get(fieldname)
    if op in ("in", "not in"):
        values = value if isinstance(value, list) else [v.strip() for v in str(value).split(",")]
        found = have in values or (have is not None and str(have) in [str(v) for v in values])
        return found if op == "in" else not found
    if op in ("like", "not like"):
        pattern = str(value).replace("%", "*").replace("_", "?").lower()
        found = fnmatch.fnmatchcase(str(have or "").lower(), pattern)
        return found if op == "like" else not found
    if op == "is":
        return (have not in (None, "")) == (str(value).lower() == "set")
    if op in ("=", "!="):
        same = have == value or (have is not None and _number(have) == _number(value)) \
            or (have is None and value in ("", None))
        return same if op == "=" else not same
    left, right = _number(have if have is not None else 0), _number(value)
    if isinstance(left, str) or isinstance(right, str):
        left, right = str(left), str(right)
    comparisons = {">": left > right, ">=": left >= right, "<": left < right, "<=": left <= right}
    if op not in comparisons:
        raise validation(f"Unsupported operator: {op}")
    return comparisons[op]
