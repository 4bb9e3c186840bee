"""The Odoo fake's schema: the modelled fields of each model, as Odoo 17 and 18 define them, and
the units of a fresh database (see odoo_fake's doc)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .odoo_fake_models import Store

PURCHASE_STATES = ("draft", "sent", "to approve", "purchase", "done", "cancel")

@dataclass(frozen=True)
class Field:
    type: str
    string: str
    relation: str = ""
    inverse: str = ""  # one2many: the comodel's many2one pointing back
    required: bool = False
    default: object = None  # a value, or a callable (store, vals) -> value
    selection: tuple[str, ...] = ()
    related: str = ""  # "product_tmpl_id.name": read and written through that record, not stored here
    compute: Callable | None = None  # read-only, not stored: (store, record) -> raw value
    ondelete: str = "set null"  # many2one; a required one is "restrict" as Odoo makes it


def m2o(relation: str, string: str, **kw) -> Field:
    return Field("many2one", string, relation=relation, **kw)


def o2m(relation: str, inverse: str, string: str) -> Field:
    return Field("one2many", string, relation=relation, inverse=inverse)


@dataclass
class Model:
    name: str
    description: str  # _description: AccessError and NotNull messages name the model by it
    fields: dict[str, Field]
    order: str = "id"
    display: Callable[[Store, dict], str] = lambda store, rec: rec.get("name") or ""


def _code_name(code: str | None, name: str | None) -> str:  # product's _compute_display_name
    return f"[{code}] {name}" if code else name or ""


def _tmpl(store: Store, product: dict) -> dict:
    return store.tables["product.template"][product["product_tmpl_id"]]


def _default_uom(source: str) -> Callable[[Store, dict], int | None]:
    """product_uom_id defaults to the product's own unit (the form's onchange, see the module doc)."""
    def default(store: Store, vals: dict) -> int | None:
        model = _RELATED_MODEL[source]
        product = vals.get(source)
        return _product_uom(store, model, product) if product in store.tables[model] else store.refs[
            "uom_units"]
    return default


_RELATED_MODEL = {"product_id": "product.product", "product_tmpl_id": "product.template"}


def build_models(major: int) -> dict[str, Model]:
    """The modelled subset of each model's fields, as Odoo `major` (17 or 18) defines them."""
    now = lambda store, vals: store.now_str()  # noqa: E731
    tmpl_of_product = m2o("product.template", "Product Template", related="product_id.product_tmpl_id")
    product_types = ("consu", "service", "product") if major < 18 else ("consu", "service", "combo")
    shared = {k: Field(f.type, f.string, relation=f.relation, selection=f.selection,
                       related=f"product_tmpl_id.{k}")
              for k, f in {"name": Field("char", "Name"), "default_code": Field("char", "Internal Reference"),
                           "type": Field("selection", "Product Type", selection=product_types),
                           "uom_id": m2o("uom.uom", "Unit of Measure"),
                           "uom_po_id": m2o("uom.uom", "Purchase Unit of Measure")}.items()}
    models = [
        Model("uom.category", "Product UoM Categories", {"name": Field("char", "Unit of Measure Category",
                                                                        required=True)}),
        Model("uom.uom", "Product Unit of Measure", {
            "name": Field("char", "Unit of Measure", required=True),
            "category_id": m2o("uom.category", "Category", required=True, ondelete="cascade"),
            "factor": Field("float", "Ratio", default=1.0),
            "uom_type": Field("selection", "Type", selection=("bigger", "reference", "smaller"),
                              default="reference"),
            "active": Field("boolean", "Active", default=True)}, order="factor desc, id"),
        Model("product.template", "Product", {
            "name": Field("char", "Name", required=True),
            "default_code": Field("char", "Internal Reference"),
            "type": Field("selection", "Product Type", selection=product_types, required=True,
                          default="consu"),
            "uom_id": m2o("uom.uom", "Unit of Measure", required=True,
                          default=lambda store, vals: store.refs["uom_units"]),
            "uom_po_id": m2o("uom.uom", "Purchase Unit of Measure", required=True,
                             default=lambda store, vals: vals.get("uom_id") or store.refs["uom_units"]),
            "active": Field("boolean", "Active", default=True),
            "product_variant_ids": o2m("product.product", "product_tmpl_id", "Products"),
            "product_variant_id": m2o("product.product", "Product", compute=lambda store, rec: next(
                iter(store.children("product.product", "product_tmpl_id", rec["id"])), None)),
            "product_variant_count": Field("integer", "# Product Variants", compute=lambda store, rec: len(
                store.children("product.product", "product_tmpl_id", rec["id"]))),
            **({"is_storable": Field("boolean", "Track Inventory", default=False)} if major >= 18 else {}),
        }, order="name, id", display=lambda store, rec: _code_name(rec.get("default_code"), rec.get("name"))),
        Model("product.product", "Product Variant", {
            "product_tmpl_id": m2o("product.template", "Product Template", required=True, ondelete="cascade"),
            "active": Field("boolean", "Active", default=True), **shared,
        }, order="default_code, name, id", display=lambda store, rec: _code_name(
            _tmpl(store, rec).get("default_code"), _tmpl(store, rec).get("name"))),
        Model("mrp.workcenter", "Work Center", {
            "name": Field("char", "Work Center", required=True), "code": Field("char", "Code"),
            "active": Field("boolean", "Active", default=True)}),
        Model("mrp.bom", "Bill of Material", {
            "product_tmpl_id": m2o("product.template", "Product", required=True),
            "product_id": m2o("product.product", "Product Variant"),
            "product_qty": Field("float", "Quantity", required=True, default=1.0),
            "product_uom_id": m2o("uom.uom", "Unit of Measure", required=True,
                                  default=_default_uom("product_tmpl_id")),
            "type": Field("selection", "BoM Type", selection=("normal", "phantom"), required=True,
                          default="normal"),
            "code": Field("char", "Reference"), "active": Field("boolean", "Active", default=True),
            "sequence": Field("integer", "Sequence"),
            "bom_line_ids": o2m("mrp.bom.line", "bom_id", "BoM Lines"),
            "operation_ids": o2m("mrp.routing.workcenter", "bom_id", "Operations"),
        }, order="sequence, id", display=lambda store, rec: (f"{rec['code']}: " if rec.get("code") else "")
            + store.display("product.template", rec["product_tmpl_id"])),
        Model("mrp.bom.line", "Bill of Material Line", {
            "bom_id": m2o("mrp.bom", "Parent BoM", required=True, ondelete="cascade"),
            "product_id": m2o("product.product", "Component", required=True),
            "product_tmpl_id": tmpl_of_product,
            "product_qty": Field("float", "Quantity", required=True, default=1.0),
            "product_uom_id": m2o("uom.uom", "Product Unit of Measure", required=True,
                                  default=_default_uom("product_id")),
            "operation_id": m2o("mrp.routing.workcenter", "Consumed in Operation"),
            "sequence": Field("integer", "Sequence", default=1),
        }, order="sequence, id",
            display=lambda store, rec: store.display("product.product", rec["product_id"])),
        Model("mrp.routing.workcenter", "Work Center Usage", {
            "bom_id": m2o("mrp.bom", "Bill of Material", required=True, ondelete="cascade"),
            "name": Field("char", "Operation", required=True),
            "workcenter_id": m2o("mrp.workcenter", "Work Center", required=True),
            "time_mode": Field("selection", "Duration Computation", selection=("auto", "manual"),
                               default="manual"),
            "time_cycle_manual": Field("float", "Manual Duration", default=60.0),
            "time_cycle": Field("float", "Duration", compute=lambda store, rec: rec["time_cycle_manual"]),
            "sequence": Field("integer", "Sequence", default=100),
            "active": Field("boolean", "Active", default=True),
        }, order="bom_id, sequence, id"),
        Model("mrp.production", "Production Order", {
            "name": Field("char", "Reference", required=True, default="New"),
            "state": Field("selection", "State", default="draft",
                           selection=("draft", "confirmed", "progress", "to_close", "done", "cancel")),
            "product_id": m2o("product.product", "Product", required=True),
            "product_tmpl_id": tmpl_of_product,
            "product_qty": Field("float", "Quantity To Produce", required=True, default=1.0),
            "product_uom_id": m2o("uom.uom", "Product Unit of Measure", required=True,
                                  default=_default_uom("product_id")),
            "bom_id": m2o("mrp.bom", "Bill of Material"),
            "date_start": Field("datetime", "Start", required=True, default=now),
            "date_finished": Field("datetime", "End"),
            "origin": Field("char", "Source"),
        }, order="date_start, id"),
        Model("res.partner", "Contact", {"name": Field("char", "Name"),
                                         "active": Field("boolean", "Active", default=True)},
              order="name, id"),
        Model("purchase.order", "Purchase Order", {
            "name": Field("char", "Order Reference", required=True, default="New"),
            "state": Field("selection", "Status", default="draft", selection=PURCHASE_STATES),
            "partner_id": m2o("res.partner", "Vendor", required=True),
            "date_order": Field("datetime", "Order Deadline", required=True, default=now),
            "order_line": o2m("purchase.order.line", "order_id", "Order Lines"),
            "origin": Field("char", "Source Document"),
        }, order="id desc"),
        Model("purchase.order.line", "Purchase Order Line", {
            "order_id": m2o("purchase.order", "Order Reference", required=True, ondelete="cascade"),
            "product_id": m2o("product.product", "Product"),
            "name": Field("char", "Description", required=True, default=lambda store, vals: store.display(
                "product.product", vals.get("product_id")) if vals.get("product_id") else None),
            "product_qty": Field("float", "Quantity", required=True, default=1.0),
            "qty_received": Field("float", "Received Qty"),
            "product_uom": m2o("uom.uom", "Unit of Measure", default=lambda store, vals: _tmpl(
                store, store.tables["product.product"][vals["product_id"]])["uom_po_id"]
                if vals.get("product_id") in store.tables["product.product"] else None),
            "price_unit": Field("float", "Unit Price"),
            "date_planned": Field("datetime", "Expected Arrival", default=now),
            "state": Field("selection", "Status", related="order_id.state", selection=PURCHASE_STATES),
            "partner_id": m2o("res.partner", "Partner", related="order_id.partner_id"),
            "sequence": Field("integer", "Sequence", default=10),
        }, order="order_id, sequence, id"),
    ]
    for model in models:  # the magic fields every record has
        model.fields = {"id": Field("integer", "ID"), "display_name": Field("char", "Display Name"),
                        **model.fields, "create_date": Field("datetime", "Created on"),
                        "write_date": Field("datetime", "Last Updated on")}
    return {model.name: model for model in models}


UOM_SEED = [  # uom/data/uom_data.xml: (ref, name, category, factor, type)
    ("uom_units", "Units", "Unit", 1.0, "reference"), ("uom_dozen", "Dozens", "Unit", 1 / 12, "bigger"),
    ("uom_kg", "kg", "Weight", 1.0, "reference"), ("uom_gram", "g", "Weight", 1000.0, "smaller"),
    ("uom_meter", "m", "Length", 1.0, "reference"), ("uom_cm", "cm", "Length", 100.0, "smaller"),
    ("uom_litre", "L", "Volume", 1.0, "reference"),
]


def _product_uom(store: Store, model: str, rid: int | None) -> int | None:
    if not rid:
        return None
    rec = store.tables[model][rid]
    return (rec if model == "product.template" else _tmpl(store, rec))["uom_id"]
