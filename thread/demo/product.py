"""The demo product: a city e-bike of a few hundred parts, as a PLM would describe it.

`PARTS` is the part master, `STRUCTURE` the engineering BOM in the API's nested form (the same
body a PLM would POST to /api/v1/bom/eboms/). Both are plain data so the demo, the tests and the
benchmarks share one realistic product.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PartSpec:
    number: str
    name: str
    category: str
    base_unit: str
    make_or_buy: str = "buy"


PARTS: dict[str, PartSpec] = {}


def _part(number: str, name: str, category: str, unit: str = "pcs", make: bool = False) -> str:
    PARTS[number] = PartSpec(number, name, category, unit, "make" if make else "buy")
    return number


def _line(find: int, number: str, qty: str, unit: str = "pcs", item_type: str = "component",
          lines: list | None = None, **extra) -> dict:
    line = {"find_number": find, "part": number, "name": PARTS[number].name, "quantity": qty,
            "unit": unit, "item_type": item_type, **extra}
    if lines is not None:
        line["lines"] = lines
    return line


# --- Fasteners: the long tail every real BOM has ------------------------------------------------
SCREW_SIZES = [(d, length) for d in (3, 4, 5, 6, 8, 10)
               for length in (6, 8, 10, 12, 16, 20, 25, 30, 35, 40, 50)]
for d, length in SCREW_SIZES:
    _part(f"SC-M{d}x{length}", f"Socket head screw M{d}x{length} ISO 4762 A2", "fastener")
for d in (3, 4, 5, 6, 8, 10):
    _part(f"NU-M{d}", f"Hex nut M{d} ISO 4032 A2", "fastener")
    _part(f"WA-M{d}", f"Washer M{d} ISO 7089 A2", "fastener")
    _part(f"NL-M{d}", f"Lock nut M{d} ISO 10511", "fastener")


BUTTON_HEAD_SIZES = [(d, length) for d in (3, 4, 5, 6) for length in (6, 8, 10, 12, 16, 20, 25)]
for d, length in BUTTON_HEAD_SIZES:
    _part(f"BH-M{d}x{length}", f"Button head screw M{d}x{length} ISO 7380 A2", "fastener")
for size in ("6x1", "8x1.5", "10x1.5", "12x2", "16x2", "20x2", "25x2.5", "30x3"):
    _part(f"OR-{size}", f"O-ring {size} NBR 70", "seal")
for width, length in ((2.5, 100), (2.5, 160), (3.6, 200), (4.8, 200), (4.8, 300), (7.6, 370)):
    _part(f"CT-{width}x{length}", f"Cable tie {width}x{length} PA66 black", "consumable")
for d, length in ((3.2, 8), (4, 10), (4.8, 12), (4.8, 16)):
    _part(f"RV-{d}x{length}", f"Blind rivet {d}x{length} AL", "fastener")
for number, name in [("PK-100", "Shipping box e-bike"), ("PK-110", "Foam insert set"),
                     ("PK-120", "Frame protection sleeve"), ("PK-130", "Polybag 300x400"),
                     ("PK-140", "Accessory box"), ("PK-150", "Pallet label")]:
    _part(number, name, "packaging")


def screws(find: int, d: int, length: int, qty: int) -> dict:
    return _line(find, f"SC-M{d}x{length}", str(qty))


# --- Raw materials and bulk ------------------------------------------------------------------
_part("TB-310", "Tube AL6061 38x1.8", "raw material", "m")
_part("TB-311", "Tube AL6061 32x1.6", "raw material", "m")
_part("TB-312", "Tube AL6061 22x1.4", "raw material", "m")
_part("TB-313", "Tube AL6061 19x1.2", "raw material", "m")
_part("PL-320", "Dropout plate AL7075 6 mm", "raw material", "kg")
_part("PW-330", "Powder coat RAL 7016", "consumable", "kg")
_part("WI-340", "Welding wire ER4043 1.2 mm", "consumable", "kg")
_part("CB-410", "Cable 2x0.75 mm² LiYY", "cable", "m")
_part("CB-411", "Cable 5x0.25 mm² LiYCY", "cable", "m")
_part("CB-412", "Cable 2x2.5 mm² silicone", "cable", "m")
_part("HS-420", "Heat shrink 6.4 mm", "consumable", "m")
_part("HY-430", "Brake hose 5 mm", "hydraulics", "m")
_part("OL-440", "Mineral brake oil", "consumable", "kg")
_part("GR-450", "Bearing grease", "consumable", "kg")
_part("TP-460", "Handlebar tape", "consumable", "m")

# --- Frame ------------------------------------------------------------------------------------
FRAME = [
    _part("FR-200", "Frame assembly", "frame", make=True),
    _part("FR-210", "Welded frame", "frame", make=True),
    _part("FR-220", "Head tube machined", "frame", make=True),
    _part("FR-221", "Bottom bracket shell", "frame", make=True),
    _part("FR-222", "Dropout left", "frame", make=True),
    _part("FR-223", "Dropout right", "frame", make=True),
    _part("FR-230", "Headset", "frame"),
    _part("FR-231", "Bottle cage bosses", "frame"),
    _part("FR-232", "Cable guide", "frame"),
    _part("FR-240", "Fork rigid AL", "frame"),
    _part("FR-241", "Thru axle 12x100", "frame"),
    _part("FR-242", "Thru axle 12x142", "frame"),
    _part("FR-250", "Seat post 31.6", "frame"),
    _part("FR-251", "Seat clamp 34.9", "frame"),
    _part("FR-252", "Saddle city", "frame"),
]

# --- Wheels -----------------------------------------------------------------------------------
for side, hub in (("front", "HB-610"), ("rear", "HB-611")):
    _part(hub, f"Hub {side}", "wheel")
_part("WH-600", "Wheel front assembly", "wheel", make=True)
_part("WH-601", "Wheel rear assembly", "wheel", make=True)
_part("RM-620", "Rim 28in 36h double wall", "wheel")
_part("SP-630", "Spoke 2.0 x 292 mm", "wheel")
_part("SP-631", "Spoke 2.0 x 290 mm", "wheel")
_part("NP-640", "Spoke nipple brass 14 mm", "wheel")
_part("TI-650", "Tire 28x1.75 reflective", "wheel")
_part("TU-660", "Inner tube 28in Presta", "wheel")
_part("RT-670", "Rim tape 28in", "wheel")
_part("RO-680", "Brake rotor 180 mm", "brake")
_part("RO-681", "Brake rotor 160 mm", "brake")

# --- Drive and brakes ------------------------------------------------------------------------
for number, name in [
    ("DR-700", "Chain 1/2x11/128 118 links"), ("DR-710", "Cassette 11-42 10s"),
    ("DR-720", "Crankset 170 mm 38T"), ("DR-730", "Pedals city pair"),
    ("DR-740", "Rear derailleur 10s"), ("DR-750", "Shifter 10s"),
    ("DR-760", "Shift cable and housing set"), ("DR-770", "Chain guard"),
    ("BR-800", "Brake caliper hydraulic"), ("BR-810", "Brake lever hydraulic"),
    ("BR-820", "Brake pads organic"), ("BR-830", "Caliper adapter 180"),
]:
    _part(number, name, "drive" if number.startswith("DR") else "brake")
_part("BR-850", "Brake front assembly", "brake", make=True)
_part("BR-851", "Brake rear assembly", "brake", make=True)

# --- Electric drive ---------------------------------------------------------------------------
_part("MT-500", "Drive unit assembly", "electric drive", make=True)
_part("MT-510", "Mid motor 250 W 85 Nm", "electric drive")
_part("MT-520", "Motor controller 36 V", "electronics")
_part("MT-530", "Speed sensor", "electronics")
_part("MT-540", "Display with remote", "electronics")
_part("MT-550", "Motor mounting bracket", "electric drive", make=True)
_part("HN-560", "Main wiring harness", "electronics", make=True)
_part("BT-900", "Battery pack 36 V 14 Ah", "battery", make=True)
_part("BT-910", "Li-ion cell 21700 5 Ah", "battery")
_part("BT-920", "Battery management system 10S", "electronics")
_part("BT-930", "Battery housing", "battery")
_part("BT-940", "Battery lock with keys", "battery")
_part("BT-950", "Cell holder 10x1", "battery")
_part("BT-960", "Nickel strip 0.15 mm", "battery", "m")
_part("BT-970", "Charger 42 V 4 A", "electronics")
for pin in (2, 3, 4, 5, 6, 8):
    _part(f"CN-{980 + pin}", f"Connector {pin}-pin waterproof", "electronics")
    _part(f"CT-{980 + pin}", f"Crimp contact for {pin}-pin", "electronics")

# --- Cockpit, lights, accessories -------------------------------------------------------------
for number, name in [
    ("CK-300", "Handlebar riser 680 mm"), ("CK-310", "Stem 90 mm"), ("CK-320", "Grips ergonomic"),
    ("CK-330", "Bell"), ("LT-340", "Front light 70 lux"), ("LT-350", "Rear light with stop"),
    ("AC-360", "Kickstand"), ("AC-370", "Rear rack 25 kg"), ("AC-380", "Mudguard front"),
    ("AC-381", "Mudguard rear"), ("AC-390", "Reflector set"),
]:
    _part(number, name, "cockpit" if number.startswith("CK") else "accessory")
_part("CK-399", "Cockpit kit", "cockpit", make=True)
_part("KT-900", "Fastener kit frame", "kit", make=True)
_part("KT-901", "Fastener kit accessories", "kit", make=True)
_part("LB-990", "Serial number label", "label")
_part("LB-991", "Type plate", "label")

# --- Documents and software ------------------------------------------------------------------
for i, name in enumerate(["Assembly instructions", "Frame drawing", "Wheel drawing",
                          "Wiring diagram", "Declaration of conformity", "User manual"], start=1):
    _part(f"DOC-{i}", name, "document")
_part("SW-1", "Motor controller firmware 4.2", "software")
_part("SW-2", "Display firmware 2.7", "software")

_part("BK-100", "E-bike, city", "bicycle", make=True)


def _frame() -> dict:
    welded = [
        _line(10, "TB-310", "1250", "mm", attributes={"material": "AL6061", "finish": "raw"}),
        _line(20, "TB-311", "1180", "mm", attributes={"material": "AL6061"}),
        _line(30, "TB-312", "1900", "mm", attributes={"material": "AL6061"}),
        _line(40, "TB-313", "1400", "mm", attributes={"material": "AL6061"}),
        _line(50, "FR-220", "1", lines=[_line(10, "TB-310", "160", "mm")]),
        _line(60, "FR-221", "1", lines=[_line(10, "PL-320", "0.32", "kg")]),
        _line(70, "FR-222", "1", lines=[_line(10, "PL-320", "0.09", "kg")]),
        _line(80, "FR-223", "1", lines=[_line(10, "PL-320", "0.11", "kg")]),
        _line(90, "WI-340", "0.08", "kg", item_type="bulk"),
        _line(100, "FR-231", "2"),
        _line(110, "FR-232", "4"),
    ]
    return _line(10, "FR-200", "1", revision="C", lines=[
        _line(10, "FR-210", "1", lines=welded),
        _line(20, "PW-330", "0.45", "kg", item_type="bulk", attributes={"color": "RAL 7016"}),
        _line(30, "FR-230", "1"),
        _line(40, "FR-240", "1"),
        _line(50, "FR-250", "1"),
        _line(60, "FR-251", "1"),
        _line(70, "FR-252", "1"),
        _line(80, "DOC-2", "1", item_type="document"),
        _line(90, "KT-900", "1", item_type="phantom", lines=[
            screws(10, 5, 12, 8), screws(20, 5, 16, 4), screws(30, 6, 20, 2),
            _line(40, "WA-M5", "12"), _line(50, "WA-M6", "2"), _line(60, "NL-M5", "4"),
        ]),
    ])


def _wheel(find: int, number: str, hub: str, spoke: str, rotor: str) -> dict:
    return _line(find, number, "1", lines=[
        _line(10, "RM-620", "1"), _line(20, hub, "1"), _line(30, spoke, "36"),
        _line(40, "NP-640", "36"), _line(50, "TI-650", "1"), _line(60, "TU-660", "1"),
        _line(70, "RT-670", "1"), _line(80, rotor, "1"), screws(90, 5, 10, 6),
        _line(100, "DOC-3", "1", item_type="document"),
    ])


def _brake(find: int, number: str, hose_mm: str, rotor_adapter: bool) -> dict:
    lines = [_line(10, "BR-800", "1"), _line(20, "BR-810", "1"), _line(30, "BR-820", "1"),
             _line(40, "HY-430", hose_mm, "mm"), _line(50, "OL-440", "0.02", "kg", "bulk"),
             screws(60, 6, 20, 2)]
    if rotor_adapter:
        lines.append(_line(70, "BR-830", "1"))
    return _line(find, number, "1", lines=lines)


def _harness() -> dict:
    lines = [_line(10, "CB-410", "1800", "mm"), _line(20, "CB-411", "1500", "mm"),
             _line(30, "CB-412", "600", "mm"), _line(40, "HS-420", "300", "mm", "bulk")]
    find = 50
    for pin in (2, 3, 4, 5, 6, 8):
        lines.append(_line(find, f"CN-{980 + pin}", "2"))
        lines.append(_line(find + 5, f"CT-{980 + pin}", str(2 * pin)))
        find += 10
    return _line(40, "HN-560", "1", lines=lines)


def _drive_unit() -> dict:
    return _line(40, "MT-500", "1", revision="A", lines=[
        _line(10, "MT-510", "1", attributes={"supplier": "Drivetec", "power_w": "250"}),
        _line(20, "MT-520", "1"),
        _line(30, "MT-530", "1"),
        _harness(),
        _line(50, "MT-550", "1", lines=[_line(10, "PL-320", "0.21", "kg")]),
        screws(60, 8, 16, 3), _line(70, "WA-M8", "3"),
        _line(80, "SW-1", "1", item_type="software"),
        _line(90, "DOC-4", "1", item_type="document"),
    ])


# --- Electronics: two controller boards, the long tail of reference designators ---------------
RESISTORS = ["10R", "22R", "47R", "100R", "220R", "470R", "1K", "2K2", "4K7", "10K", "22K", "47K",
             "100K", "220K", "470K", "1M"]
CAPACITORS = ["10P", "22P", "100P", "1N", "10N", "100N", "1U", "4U7", "10U", "22U"]
for value in RESISTORS:
    _part(f"R-0603-{value}", f"Resistor 0603 {value} 1 %", "electronic component")
for value in CAPACITORS:
    _part(f"C-0603-{value}", f"Capacitor 0603 {value} X7R", "electronic component")
for number, name in [
    ("IC-100", "Microcontroller 32-bit 64 kB"), ("IC-110", "LDO regulator 3.3 V"),
    ("IC-120", "CAN transceiver"), ("IC-130", "LED driver 1.5 A"), ("IC-140", "EEPROM 64 kbit"),
    ("IC-150", "Fuel gauge 10S"), ("D-200", "TVS diode 40 V"), ("D-210", "Schottky diode 3 A"),
    ("Q-220", "MOSFET N 60 V"), ("Y-230", "Crystal 8 MHz"), ("L-240", "Inductor 10 uH"),
    ("LD-250", "LED white 0603"), ("LD-260", "LED red 0603"), ("TS-270", "Tactile switch"),
    ("J-280", "Board connector 4-pin"), ("J-290", "Board connector 6-pin"),
    ("PB-300", "Bare board light controller"), ("PB-310", "Bare board charge indicator"),
    ("HS-320", "Light controller housing"), ("PT-330", "Potting compound"),
]:
    _part(number, name, "consumable" if number == "PT-330" else "electronic component",
          "kg" if number == "PT-330" else "pcs")
_part("LT-300", "Light controller unit", "electronics", make=True)
_part("PC-310", "Light controller board", "electronics", make=True)
_part("PC-320", "Charge indicator board", "electronics", make=True)
_part("LT-360", "Rear light module", "electronics", make=True)
_part("PC-315", "Rear light board", "electronics", make=True)
_part("PB-305", "Bare board rear light", "electronic component")
_part("LN-365", "Rear light lens red", "accessory")


def _designators(prefix: str, start: int, count: int) -> list[str]:
    return [f"{prefix}{n}" for n in range(start, start + count)]


def _board(find: int, number: str, bare_board: str, fitted: list[tuple[str, str, int]]) -> dict:
    """A printed circuit board: one line per component part, its quantity the number of
    reference designators it fills."""
    lines = [_line(10, bare_board, "1")]
    counters: dict[str, int] = {}
    for offset, (part, prefix, count) in enumerate(fitted, start=2):
        start = counters.get(prefix, 1)
        counters[prefix] = start + count
        lines.append(_line(offset * 10, part, str(count),
                           reference_designators=_designators(prefix, start, count)))
    return _line(find, number, "1", lines=lines)


def _light_controller() -> dict:
    fitted = [(f"R-0603-{v}", "R", 1 + i % 4) for i, v in enumerate(RESISTORS)]
    fitted += [(f"C-0603-{v}", "C", 1 + i % 3) for i, v in enumerate(CAPACITORS)]
    fitted += [("IC-100", "U", 1), ("IC-110", "U", 1), ("IC-120", "U", 1), ("IC-130", "U", 2),
               ("IC-140", "U", 1), ("D-200", "D", 2), ("D-210", "D", 1), ("Q-220", "Q", 4),
               ("Y-230", "Y", 1), ("L-240", "L", 2), ("LD-250", "LED", 2), ("J-280", "J", 2),
               ("J-290", "J", 1)]
    rear = [(f"R-0603-{v}", "R", 2) for v in RESISTORS[2:12]]
    rear += [(f"C-0603-{v}", "C", 1) for v in CAPACITORS[4:9]]
    rear += [("IC-130", "U", 1), ("D-200", "D", 1), ("Q-220", "Q", 1), ("LD-260", "LED", 12),
             ("J-280", "J", 1)]
    return _line(240, "LT-300", "1", lines=[
        _board(10, "PC-310", "PB-300", fitted),
        _line(15, "LT-360", "1", lines=[
            _board(10, "PC-315", "PB-305", rear), _line(20, "LN-365", "1"),
            _line(30, "PT-330", "0.01", "kg", "bulk"), screws(40, 3, 8, 2)]),
        _line(20, "HS-320", "1"), _line(30, "PT-330", "0.04", "kg", "bulk"),
        _line(40, "CB-411", "450", "mm"), _line(50, "CN-984", "2"), _line(55, "CT-984", "8"),
        screws(60, 3, 10, 4),
    ])


def _charge_indicator() -> dict:
    fitted = [(f"R-0603-{v}", "R", 1 + i % 2) for i, v in enumerate(RESISTORS[4:14])]
    fitted += [(f"C-0603-{v}", "C", 2) for v in CAPACITORS[3:8]]
    fitted += [("IC-100", "U", 1), ("IC-110", "U", 1), ("IC-150", "U", 1), ("LD-250", "LED", 4),
               ("LD-260", "LED", 1), ("TS-270", "S", 1), ("J-280", "J", 1)]
    return _board(90, "PC-320", "PB-310", fitted)


def _battery() -> dict:
    return _line(50, "BT-900", "1", lines=[
        _line(10, "BT-910", "40", attributes={"chemistry": "NMC", "capacity_ah": "5"}),
        _line(20, "BT-920", "1"), _line(30, "BT-930", "1"), _line(40, "BT-940", "1"),
        _line(50, "BT-950", "4"), _line(60, "BT-960", "2400", "mm"),
        _line(70, "CN-986", "1"), _line(75, "CT-986", "6"), screws(80, 3, 8, 12),
        _charge_indicator(),
    ])


def _cockpit() -> dict:
    return _line(70, "CK-399", "1", item_type="phantom", lines=[
        _line(10, "CK-300", "1"), _line(20, "CK-310", "1"), _line(30, "CK-320", "1"),
        _line(40, "CK-330", "1"), _line(50, "MT-540", "1"),
        _line(60, "SW-2", "1", item_type="software"),
        screws(70, 5, 25, 4), screws(80, 4, 12, 2),
    ])


def _accessories() -> dict:
    lines = [_line(10, "LT-340", "1"), _line(20, "LT-350", "1"), _line(30, "AC-360", "1"),
             _line(40, "AC-370", "1"), _line(50, "AC-380", "1"), _line(60, "AC-381", "1"),
             _line(70, "AC-390", "1")]
    find = 80
    for d, length in SCREW_SIZES:
        if d in (4, 5, 6) and length <= 20:
            lines.append(screws(find, d, length, 2))
            find += 10
    for d in (4, 5, 6):
        lines += [_line(find, f"NU-M{d}", "4"), _line(find + 5, f"WA-M{d}", "4")]
        find += 10
    for d, length in BUTTON_HEAD_SIZES:
        if length in (8, 10, 12):
            lines.append(_line(find, f"BH-M{d}x{length}", "2"))
            find += 10
    for number in ("CT-2.5x100", "CT-3.6x200", "CT-4.8x300"):
        lines.append(_line(find, number, "6"))
        find += 10
    return _line(80, "KT-901", "1", item_type="phantom", lines=lines)


def structure() -> dict:
    """The demo product's eBOM in the API's nested form."""
    return {
        "part": "BK-100", "revision": "B", "name": PARTS["BK-100"].name,
        "reason": "Demo: initial load of the city e-bike from the PLM",
        "lines": [
            _frame(),
            _wheel(20, "WH-600", "HB-610", "SP-630", "RO-680"),
            _wheel(30, "WH-601", "HB-611", "SP-631", "RO-681"),
            _drive_unit(),
            _battery(),
            _line(60, "BT-970", "1"),
            _cockpit(),
            _accessories(),
            _brake(90, "BR-850", "850", True),
            _brake(100, "BR-851", "1650", False),
            _line(110, "DR-700", "1"), _line(120, "DR-710", "1"), _line(130, "DR-720", "1"),
            _line(140, "DR-730", "1"), _line(150, "DR-740", "1"), _line(160, "DR-750", "1"),
            _line(170, "DR-760", "1"), _line(180, "DR-770", "1"),
            _line(190, "LB-990", "1"), _line(200, "LB-991", "1"),
            _line(210, "DOC-1", "1", item_type="document"),
            _line(220, "DOC-5", "1", item_type="document"),
            _line(230, "DOC-6", "1", item_type="document"),
            _light_controller(),
        ],
    }
