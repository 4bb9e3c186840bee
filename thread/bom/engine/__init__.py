"""The mapping engine: eBOM + ordered rules + plant context -> per-plant mBOMs, as plain data.

No ORM and no I/O: callers read the eBOM, rules and catalog into the dataclasses of `types`,
call `map_ebom`, and store what comes back. Same input, same output: rule order is by
(`order`, `id`), children by (find number, part, line id), and nothing depends on dict or
list order of the input.

Structure
- An mBOM is single-level, one per made assembly per plant, as ERPs hold BOMs. Quantities are
  per one base unit of the assembly; an eBOM line's quantity is per one base unit of its parent.
- A line is flattened when its item type is phantom or a flatten rule matches it: it makes no
  mBOM line; its children move up into the enclosing made assembly's mBOM with their
  quantities multiplied by the flattened line's quantity (converted to its part's base unit).
- A line whose part has eBOM children and that is not flattened is a subassembly: bought, it
  is one mBOM line and its children are "inside a bought subassembly" (no mBOM lines); made,
  it is one mBOM line in its parent's mBOM and gets its own mBOM, built once however often the
  subassembly is used.
- Positions are 10, 20, 30, ... in the order of the lines' find-number paths (a flattened
  line's children take its place), then added items in rule order.

Which rules act on a line
- Every enabled rule whose condition holds, in (`order`, `id`) order. Conditions always test the
  eBOM line as PLM sent it and its place in the eBOM, never the result of other rules, so
  whether a rule matches never depends on the others.
- `level` is the eBOM depth below the made assembly being mapped: its direct children are
  level 1, the children of a flattened level-1 line are level 2 (flattening does not renumber),
  and the lines of a made subassembly's own mBOM start again at 1. For the top-level part this
  is the eBOM level. `parent.*` is the eBOM parent, also when that parent was flattened.
- add_item rules test the made assembly itself, as a level-0 line without parent (part,
  category, its base unit, quantity 1, item type component, its revision attributes). All
  other actions test eBOM lines.

How actions compose on one line
1. exclude: the first matching exclude rule excludes the line with everything below it; no
   other rule acts on it.
2. flatten (or phantom item type): the line dissolves into its children; the flatten rule shows
   in the lineage of every mBOM line fed through it. Other rules on the flattened line itself
   have no effect. A line without eBOM children, or whose unit cannot be converted to its part's
   base unit, cannot be flattened: it stays a component line, with a warning.
3. Every other action sets one thing, and where several matching rules set the same thing the
   last one (in rule order) wins; set_erp_fields merges key by key, the last value per key
   winning. The line's lineage lists the rules whose effect shows (the winners), in rule order.
   On the line they apply in this fixed order:
   - substitute: the part becomes `part`, quantity x `factor` (default 1), unit unchanged. Only
     on a line without eBOM children whose unit can measure the substitute; otherwise skipped
     with a warning. The line records `substitutes_for`.
   - make/buy: a set_make_buy rule, else the plant's part data, else the part's default (all
     of the substitute, if substituted).
   - convert_unit: to `unit`, or with `to_plant_unit` to the plant's unit for the part (its base
     unit if the plant has none), exactly. If impossible, skipped (conversion and rounding)
     with a warning.
   - scrap: `scrap_percent` p multiplies by (1 + p/100); `yield_percent` y divides by y/100.
     Both only increase a positive quantity. The line records the percent.
   - assign_operation and set_erp_fields annotate the line.
   - consolidate: the line may merge with others (below).
4. An action that cannot act on a line is skipped with a warning; the line stays as it was.
   A part inactive at the plant, a subassembly made in one place and bought in another, and a
   made assembly without mBOM lines are warnings too.

Last, per line and per made assembly
- rounding (from convert_unit) comes after scrap: `round_up_to_multiple` X rounds up to a
  multiple of X, `decimals` N rounds to N places "up" (default; away from zero) or "half_up"
  (to the nearest). Only half_up can lower a quantity, by at most half a unit in the last
  place. `unrounded_quantity` keeps the exact quantity.
- consolidate: lines matched by a consolidate rule merge with earlier such lines of the same
  mBOM that agree in everything an ERP holds per BOM item (`merge_key`: part, unit, item type,
  make/buy, rounding, scrap, operation, ERP fields, substitution): exact quantities add up and
  the sum is rounded, reference designators and lineages join; the merged line takes the
  first line's place. Merging again changes nothing.
- add_item: each matching add_item rule adds one line, `quantity` `unit` of `part` per
  assembly, make/buy from plant data or the part's default. No other rule acts on it.

Accountability
Every occurrence of every eBOM line (the line reached along one path from a made assembly) ends
in exactly one place: fed into an mBOM line (its path is in that line's lineage), flattened,
excluded by a named rule, or inside a bought subassembly (those three are the result's
`set_aside`). `MappingResult.dispositions()` lists them all per eBOM line id, and
`check_accountability` re-derives the occurrences from the eBOM and reports any line that is
missing, doubled or misfiled.
"""

from .accountability import AccountabilityProblem, check_accountability
from .conditions import CompiledCondition, compile_condition
from .explode import bought_by_default, explode
from .mapper import consolidate_lines, map_ebom, merge_key, round_quantity
from .rules import ACTIONS, CompiledRuleSet, compile_rules, validate_rule, validate_rules
from .serialise import result_to_dict
from .types import (
    Disposition,
    EBom,
    EBomLine,
    KnownPart,
    Lineage,
    MappingResult,
    MappingWarning,
    MBom,
    MBomLine,
    PlantContext,
    PlantPartData,
    Rounding,
    Rule,
    RuleError,
    RuleSetError,
    StructureError,
)

__all__ = [
    "ACTIONS",
    "AccountabilityProblem",
    "CompiledCondition",
    "CompiledRuleSet",
    "Disposition",
    "EBom",
    "EBomLine",
    "KnownPart",
    "Lineage",
    "MBom",
    "MBomLine",
    "MappingResult",
    "MappingWarning",
    "PlantContext",
    "PlantPartData",
    "Rounding",
    "Rule",
    "RuleError",
    "RuleSetError",
    "StructureError",
    "bought_by_default",
    "check_accountability",
    "compile_condition",
    "compile_rules",
    "consolidate_lines",
    "explode",
    "map_ebom",
    "merge_key",
    "result_to_dict",
    "round_quantity",
    "validate_rule",
    "validate_rules",
]
