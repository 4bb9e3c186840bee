"""Benchmark of the mapping engine: `map_ebom` against a bare walk of the same eBOM.

Run: `.venv/bin/python bench/engine.py` (pure Python, no database). For 1k, 10k and 50k eBOM
lines it generates a seeded, realistic structure (8 levels; made, phantom and bought
subassemblies; shared kits; repeated fasteners; cables in mm of a part measured in m; sheet
metal in g of a part in kg; documents and software) and maps it with a 30-rule set. The bare
walk visits every line occurrence and multiplies quantities, nothing else: the floor any
mapping pays. Rates are eBOM lines per second, the fastest of REPEATS interleaved rounds; every
mapping is checked with check_accountability first. `--profile` prints a cProfile of the
largest size instead.
"""

from __future__ import annotations

import cProfile
import pstats
import random
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

# Run as a script from anywhere: make the project importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from thread.bom.engine import (
    EBom,
    EBomLine,
    KnownPart,
    PlantContext,
    PlantPartData,
    Rule,
    check_accountability,
    compile_rules,
    map_ebom,
)
from thread.catalog.units import PartConversion, Unit

SIZES = (1_000, 10_000, 50_000)
LEVELS = 8
SEED = 20261125
REPEATS = 9

UNITS = {
    "pcs": Unit("pcs", "count", Decimal(1)),
    "mm": Unit("mm", "length", Decimal("0.001")),
    "m": Unit("m", "length", Decimal(1)),
    "g": Unit("g", "mass", Decimal("0.001")),
    "kg": Unit("kg", "mass", Decimal(1)),
}

# Leaf families: category, base unit, line unit, quantity range (in the line unit), item type,
# weight (how many of the part pool are of this family).
LEAF_FAMILIES = (
    ("fastener", "pcs", "pcs", (1, 12), "component", 30),
    ("electronic", "pcs", "pcs", (1, 4), "component", 20),
    ("cable", "m", "mm", (150, 2500), "component", 10),
    ("sheet", "kg", "g", (50, 3000), "component", 8),
    ("adhesive", "kg", "g", (1, 40), "bulk", 4),
    ("plastic", "pcs", "pcs", (1, 3), "component", 12),
    ("drawing", "pcs", "pcs", (1, 1), "document", 6),
    ("firmware", "pcs", "pcs", (1, 1), "software", 3),
)


class _Generator:
    """Builds one seeded eBOM of about `size` lines in breadth-first order, so every level is
    populated before the budget runs out."""

    def __init__(self, size: int, seed: int, fanout: int) -> None:
        self.rng = random.Random(seed)
        self.size = size
        self.fanout = fanout
        self.lines: dict[str, list[EBomLine]] = {}
        self.next_id = 1
        self.count = 0
        families = [family for family in LEAF_FAMILIES for _ in range(family[5])]
        # A part pool about a tenth of the size: each leaf part recurs ~10 times.
        self.leaves = []
        for number in range(max(60, size // 10)):
            family = families[number % len(families)]
            self.leaves.append((f"{family[0][:3].upper()}-{number:06d}", family))
        self.kits: list[str] = []
        self.bought: list[str] = []

    def line(self, parent: str, find_number: int, part: str, quantity: Decimal, unit: str,
             base_unit: str, item_type: str, category: str, make_or_buy: str = "make",
             attributes: Mapping[str, Any] | None = None) -> None:
        self.lines.setdefault(parent, []).append(EBomLine(
            id=self.next_id, parent_part=parent, find_number=find_number, part=part,
            quantity=quantity, unit=unit, part_base_unit=base_unit, item_type=item_type,
            attributes=attributes or {}, part_category=category, part_make_or_buy=make_or_buy,
            reference_designators=(f"X{self.next_id}",) if category == "electronic" else ()))
        self.next_id += 1
        self.count += 1

    def leaf(self, parent: str, find_number: int) -> None:
        part, (category, base_unit, unit, (low, high), item_type, _) = self.rng.choice(
            self.leaves)
        attributes: dict[str, Any] = {}
        if self.rng.random() < 0.3:
            attributes = {"material": self.rng.choice(("steel", "alu", "pa6")),
                          "weight_g": self.rng.randint(1, 500)}
        if self.rng.random() < 0.03:
            attributes["reference_only"] = True
        if self.rng.random() < 0.05:
            attributes["fragile"] = True
        self.line(parent, find_number, part, Decimal(self.rng.randint(low, high)), unit,
                  base_unit, item_type, category, attributes=attributes)

    def build(self) -> EBom:
        frontier = [("TOP", 0)]
        serial = 0
        while frontier and self.count < self.size:
            next_frontier = []
            for parent, depth in frontier:
                for position in range(self.rng.randint(3, 2 * self.fanout - 3)):
                    if self.count >= self.size:
                        break
                    find_number = (position + 1) * 10
                    roll = self.rng.random()
                    if depth + 1 >= LEVELS or roll < 0.55:
                        self.leaf(parent, find_number)
                    elif roll < 0.65:
                        self.kit(parent, find_number)
                    elif roll < 0.70:
                        self.bought_assembly(parent, find_number)
                    else:
                        serial += 1
                        kind = self.rng.random()
                        if kind < 0.15:
                            part, category, item_type = f"PH-{serial:05d}", "module", "phantom"
                        elif kind < 0.25:
                            part, category, item_type = f"WELD-{serial:05d}", "weldment", \
                                "component"
                        else:
                            part, category, item_type = f"ASM-{serial:05d}", "assembly", \
                                "component"
                        self.line(parent, find_number, part, Decimal(self.rng.randint(1, 3)),
                                  "pcs", "pcs", item_type, category)
                        next_frontier.append((part, depth + 1))
            frontier = next_frontier
        return EBom(root_part="TOP", root_base_unit="pcs", root_category="product",
                    lines_by_parent=self.lines)

    def kit(self, parent: str, find_number: int) -> None:
        """A phantom kit of fasteners; half the time one already used elsewhere (shared)."""
        if self.kits and self.rng.random() < 0.5:
            part = self.rng.choice(self.kits)
        else:
            part = f"KIT-{len(self.kits):05d}"
            self.kits.append(part)
            for position in range(self.rng.randint(2, 4)):
                self.leaf(part, (position + 1) * 10)
        self.line(parent, find_number, part, Decimal(self.rng.randint(1, 2)), "pcs", "pcs",
                  "phantom", "kit")

    def bought_assembly(self, parent: str, find_number: int) -> None:
        """A purchased unit whose supplier structure PLM carries too (inside, not mapped)."""
        if self.bought and self.rng.random() < 0.3:
            part = self.rng.choice(self.bought)
        else:
            part = f"BUY-{len(self.bought):05d}"
            self.bought.append(part)
            for position in range(self.rng.randint(2, 3)):
                self.leaf(part, (position + 1) * 10)
        self.line(parent, find_number, part, Decimal(1), "pcs", "pcs", "component", "motor",
                  make_or_buy="buy")


def _rules(leaf_parts: Sequence[str]) -> list[Rule]:
    """30 rules of the kinds a plant's analysts keep, over the generated part numbers."""

    def eq(field: str, value: Any) -> dict[str, Any]:
        return {"field": field, "op": "eq", "value": value}

    fasteners = [p for p in leaf_parts if p.startswith("FAS")]
    electronics = [p for p in leaf_parts if p.startswith("ELE")]
    specs: list[tuple[str, Any, dict[str, Any]]] = [
        ("exclude", eq("item_type", "document"), {}),
        ("exclude", eq("item_type", "software"), {}),
        ("exclude", eq("attributes.reference_only", True), {}),
        ("exclude", eq("category", "drawing"), {}),
        ("flatten", eq("category", "kit"), {}),
        ("flatten", {"field": "part", "op": "glob", "value": "WELD-*"}, {}),
        ("set_make_buy", eq("category", "motor"), {"make_or_buy": "buy"}),
        ("set_make_buy", {"field": "part", "op": "in", "value": electronics[:5]},
         {"make_or_buy": "buy"}),
        ("set_make_buy", eq("part", fasteners[0]), {"make_or_buy": "buy"}),
        ("set_make_buy", eq("part", fasteners[1]), {"make_or_buy": "buy"}),
        ("set_make_buy", {"all": [eq("category", "plastic"), eq("level", 1)]},
         {"make_or_buy": "make"}),
        ("set_make_buy", eq("category", "fastener"), {"make_or_buy": "buy"}),
        ("substitute", eq("part", fasteners[2]), {"part": "FAS-ALT-1"}),
        ("substitute", eq("part", fasteners[3]), {"part": "FAS-ALT-2", "factor": 2}),
        ("substitute", eq("part", electronics[0]), {"part": "ELE-ALT-1"}),
        ("substitute", eq("part", electronics[1]), {"part": "ELE-ALT-2"}),
        ("convert_unit", eq("category", "cable"), {"unit": "m", "round_up_to_multiple": "0.5"}),
        ("convert_unit", eq("category", "sheet"), {"to_plant_unit": True, "decimals": 3}),
        ("convert_unit", eq("category", "adhesive"),
         {"unit": "g", "decimals": 0, "rounding": "up"}),
        ("scrap", eq("category", "cable"), {"scrap_percent": 5}),
        ("scrap", eq("category", "sheet"), {"yield_percent": 92}),
        ("scrap", eq("attributes.fragile", True), {"scrap_percent": 2}),
        ("assign_operation", eq("category", "fastener"), {"operation": "0010"}),
        ("assign_operation", eq("category", "electronic"), {"operation": "0020"}),
        ("assign_operation", {"all": [eq("category", "cable"), {"field": "level", "op": "ge",
                                                                  "value": 3}]},
         {"operation": "0030"}),
        ("set_erp_fields", eq("category", "fastener"),
         {"backflush": True, "supply_area": "PSA1"}),
        ("set_erp_fields", eq("item_type", "bulk"), {"item_category": "N", "backflush": True}),
        ("consolidate", {"field": "category", "op": "in", "value": ["fastener", "plastic"]}, {}),
        ("add_item", eq("category", "product"),
         {"part": "PKG-BOX", "quantity": 1, "unit": "pcs"}),
        ("add_item", {"field": "category", "op": "in", "value": ["assembly", "product"]},
         {"part": "LBL-ID", "quantity": 1, "unit": "pcs"}),
    ]
    return [Rule(id=index + 1, order=(index + 1) * 10, name=f"{action} {index + 1}",
                 action=action, condition=condition, params=params)
            for index, (action, condition, params) in enumerate(specs)]


def _context(leaf_parts: Sequence[str]) -> PlantContext:
    known = {part: KnownPart(base_unit="pcs") for part in (
        "FAS-ALT-1", "FAS-ALT-2", "ELE-ALT-1", "ELE-ALT-2", "PKG-BOX", "LBL-ID")}
    sheets = [part for part in leaf_parts if part.startswith("SHE")]
    plant_parts = {part: PlantPartData(unit="g") for part in sheets[::2]}
    plant_parts["PKG-BOX"] = PlantPartData(make_or_buy="buy")
    conversions = {part: (PartConversion("m", "kg", Decimal("0.045")),)
                   for part in leaf_parts if part.startswith("CAB")}
    return PlantContext(plant="P100", units=UNITS, part_conversions=conversions,
                        plant_parts=plant_parts, known_parts=known)


def _depth(ebom: EBom) -> int:
    lines_by_parent = ebom.lines_by_parent

    def depth(part: str) -> int:
        return max((1 + depth(line.part) for line in lines_by_parent.get(part, ())), default=0)

    return depth(ebom.root_part)


def bare_walk(ebom: EBom) -> int:
    """Visit every line occurrence, multiplying quantities down the tree: the floor."""
    lines_by_parent = ebom.lines_by_parent

    def walk(part: str, multiplier: Decimal) -> int:
        visited = 0
        for line in lines_by_parent.get(part, ()):
            quantity = line.quantity * multiplier
            visited += 1
            if line.part in lines_by_parent:
                visited += walk(line.part, quantity)
        return visited

    return walk(ebom.root_part, Decimal(1))


def _best(runs: Sequence[Callable[[], Any]]) -> list[float]:
    """The fastest of REPEATS rounds for each of `runs`, interleaved so that another process
    slows all of them alike. What a run returns is freed after the clock stops: freeing a
    result is not mapping."""
    best = [float("inf")] * len(runs)
    for _ in range(REPEATS):
        for index, run in enumerate(runs):
            start = time.perf_counter()
            result = run()
            best[index] = min(best[index], time.perf_counter() - start)
            del result
    return best


def _case(size: int) -> tuple[EBom, list[Rule], PlantContext]:
    """The eBOM of `size` lines with the smallest fanout that reaches all 8 levels."""
    fanout = 3
    while True:
        generator = _Generator(size, SEED + size, fanout)
        ebom = generator.build()
        if generator.count >= size and _depth(ebom) == LEVELS:
            break
        fanout += 1
    leaf_parts = [part for part, _ in generator.leaves]
    return ebom, _rules(leaf_parts), _context(leaf_parts)


def main(argv: Sequence[str]) -> int:
    if "--profile" in argv:
        ebom, rules, context = _case(SIZES[-1])
        profiler = cProfile.Profile()
        profiler.runcall(map_ebom, ebom, rules, context)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(20)
        return 0
    print("lines/s = eBOM lines / second. occurrences: lines reached along every path (a shared\n"
          "kit counts at every use). warm: rules compiled once, as for a published rule set\n"
          "version; cold: map_ebom given the rule list (compiles, fills its caches each run).")
    print(f"{'eBOM lines':>10} {'occurrences':>11} {'mBOMs':>6} {'bare walk':>11} "
          f"{'map_ebom warm':>13} {'ratio':>6} {'us/line':>7} {'map_ebom cold':>13}")
    for size in SIZES:
        ebom, rules, context = _case(size)
        lines = sum(len(items) for items in ebom.lines_by_parent.values())
        result = map_ebom(ebom, rules, context)
        problems = check_accountability(ebom, result)
        if problems:
            print(f"accountability check failed: {problems[:3]}", file=sys.stderr)
            return 1
        rule_set = compile_rules(rules)
        bare, warm, cold = _best([partial(bare_walk, ebom),
                                  partial(map_ebom, ebom, rule_set, context),
                                  partial(map_ebom, ebom, rules, context)])
        print(f"{lines:>10,} {bare_walk(ebom):>11,} {len(result.mboms):>6,} "
              f"{lines / bare:>11,.0f} {lines / warm:>13,.0f} {warm / bare:>5.1f}x "
              f"{warm / lines * 1e6:>7.2f} {lines / cold:>13,.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
