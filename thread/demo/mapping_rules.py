"""The demo plants' mapping rules: what a business analyst at each plant would publish.

Berlin (BER) makes the frame assembly, books tubes and cables in metres (engineering states
them in millimetres), welds, paints and packs. Charlotte (CLT) buys the frame assembly ready
made, keeps millimetres (cut in 10 mm steps), flashes the firmware at the end of the line and
uses a local cable tie as the plant alternate. Each rule is (name, condition, action, params).
"""

from __future__ import annotations


def _is(field: str, value) -> dict:
    return {"field": field, "op": "in" if isinstance(value, list) else "eq", "value": value}


BIKE = _is("part", "BK-100")
FINAL_ASSEMBLY = _is("parent.part", ["BK-100", "KT-901", "CK-399"])
FASTENER = _is("category", "fastener")

BER_RULES = [
    ("Documents are not built", _is("item_type", "document"), "exclude", {}),
    ("Firmware comes flashed from the supplier", _is("item_type", "software"), "exclude", {}),
    ("Kits are picked loose", _is("category", "kit"), "flatten", {}),
    ("Tubes in metres, cut to the centimetre", {"field": "part", "op": "glob", "value": "TB-31?"},
     "convert_unit", {"to_plant_unit": True, "round_up_to_multiple": "0.01"}),
    ("Cables and hoses in metres", _is("category", ["cable", "hydraulics"]), "convert_unit",
     {"unit": "m", "decimals": 2}),
    ("Saw scrap on frame tubes", {"field": "part", "op": "regex", "value": "^TB-31[0-3]$"},
     "scrap", {"scrap_percent": "3"}),
    ("Powder coat transfer efficiency", _is("part", "PW-330"), "scrap", {"yield_percent": "65"}),
    ("Powder booked to the gram", _is("part", "PW-330"), "convert_unit",
     {"unit": "kg", "decimals": 3}),
    ("Welding cell", _is("parent.part", ["FR-210", "FR-220", "FR-221", "FR-222", "FR-223"]),
     "assign_operation", {"operation": "WELD"}),
    ("Frame assembly station", _is("parent.part", ["FR-200", "KT-900"]), "assign_operation",
     {"operation": "ASSY"}),
    ("Paint line", _is("part", "PW-330"), "assign_operation", {"operation": "PAINT"}),
    ("Final assembly", FINAL_ASSEMBLY, "assign_operation", {"operation": "ASSY"}),
    ("Labels are applied at packing", _is("category", "label"), "assign_operation",
     {"operation": "PACK"}),
    ("One line per fastener", FASTENER, "consolidate", {}),
    ("Fasteners from the Kanban rack", FASTENER, "set_erp_fields",
     {"backflush": True, "supply_area": "KANBAN-01"}),
    ("Bulk consumables are backflushed", _is("item_type", "bulk"), "set_erp_fields",
     {"backflush": True, "item_category": "BULK"}),
    ("Drivetec motors from the drive supermarket",
     _is("attributes.supplier", "Drivetec"), "set_erp_fields", {"supply_area": "DRIVE-SM"}),
    ("Shipping box", BIKE, "add_item", {"part": "PK-100", "quantity": "1", "unit": "pcs"}),
    ("Foam insert set", BIKE, "add_item", {"part": "PK-110", "quantity": "1", "unit": "pcs"}),
    ("Pallet label, one per pallet of 8", BIKE, "add_item",
     {"part": "PK-150", "quantity": "0.125", "unit": "pcs"}),
]

CLT_RULES = [
    ("Documents are not built", _is("item_type", "document"), "exclude", {}),
    ("Kits are picked loose", _is("category", "kit"), "flatten", {}),
    ("Frame assembly bought ready made", _is("part", "FR-200"), "set_make_buy",
     {"make_or_buy": "buy"}),
    ("Local cable tie (plant alternate)", _is("part", "CT-3.6x200"), "substitute",
     {"part": "CT-4.8x200"}),
    ("Final assembly", FINAL_ASSEMBLY, "assign_operation", {"operation": "0010-FINAL"}),
    ("Wheel building", _is("parent.part", ["WH-600", "WH-601"]), "assign_operation",
     {"operation": "0020-WHEEL"}),
    ("Electrics", _is("parent.part", ["MT-500", "MT-550", "HN-560", "BT-900"]),
     "assign_operation", {"operation": "0030-ELEC"}),
    ("Brake pre-assembly", {"field": "parent.part", "op": "glob", "value": "BR-85?"},
     "assign_operation", {"operation": "0040-BRAKE"}),
    ("Firmware flashed at end of line", _is("item_type", "software"), "assign_operation",
     {"operation": "0090-FLASH"}),
    ("Firmware is a non-stock item", _is("item_type", "software"), "set_erp_fields",
     {"item_category": "N"}),
    ("Cable cut loss", _is("category", "cable"), "scrap", {"scrap_percent": "2"}),
    ("Cables cut in 10 mm steps", _is("category", "cable"), "convert_unit",
     {"unit": "mm", "round_up_to_multiple": "10"}),
    ("One line per fastener", FASTENER, "consolidate", {}),
    ("Fasteners are floor stock", FASTENER, "set_erp_fields",
     {"backflush": True, "supply_area": "FLOOR"}),
    ("M8 and M10 screws are issued to the order",
     {"all": [FASTENER, {"field": "part", "op": "regex", "value": "^SC-M(8|10)x"}]},
     "set_erp_fields", {"backflush": False}),
    ("Shipping box", BIKE, "add_item", {"part": "PK-100", "quantity": "1", "unit": "pcs"}),
    ("Accessory box", BIKE, "add_item", {"part": "PK-140", "quantity": "1", "unit": "pcs"}),
]

RULE_SETS = {  # plant code: (name, description, rules)
    "BER": ("Berlin eBOM→mBOM rules", "Makes the frame; metres; weld, paint, assembly, packing.",
            BER_RULES),
    "CLT": ("Charlotte eBOM→mBOM rules", "Buys the frame; millimetres; firmware at end of line.",
            CLT_RULES),
}
