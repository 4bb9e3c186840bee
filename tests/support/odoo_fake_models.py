"""Records, fields, domains, x2many commands and model rules of the Odoo fake (see odoo_fake's doc)."""

from __future__ import annotations

import copy
import re
from datetime import datetime
from functools import partial

from .odoo_fake_schema import UOM_SEED, Field, _product_uom, build_models

DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
X2MANY = ("one2many", "many2many")
TERM_OPERATORS = ("=", "!=", "<=", "<", ">", ">=", "=?", "=like", "=ilike", "like", "not like", "ilike",
                  "not ilike", "in", "not in")
NEGATIONS = {"!=": "=", "not in": "in", "not like": "like", "not ilike": "ilike"}
OPERATIONS = ("read", "write", "create", "unlink")
# ir_model.py MODEL_ACCESS_ERROR (Odoo 17), then _make_access_error's two trailing paragraphs
ACCESS_WORDS = {"read": "access", "write": "modify", "create": "create", "unlink": "delete"}


class OdooError(Exception):
    """An exception as Odoo's http.serialize_exception shows it: its dotted class name and message."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name, self.message = name, message


user_error = partial(OdooError, "odoo.exceptions.UserError")
validation_error = partial(OdooError, "odoo.exceptions.ValidationError")
value_error = partial(OdooError, "builtins.ValueError")


def access_error(description: str, model: str, operation: str) -> OdooError:
    return OdooError("odoo.exceptions.AccessError",
                     f"You are not allowed to {ACCESS_WORDS[operation]} '{description}' ({model}) records."
                     "\n\nNo group currently allows this operation."
                     "\n\nContact your administrator to request access if necessary.")


class Store:
    """The database: one table of raw rows per model, with the ORM's reading and writing rules."""

    def __init__(self, major: int, now: datetime) -> None:
        self.major, self.now = major, now
        self.models = build_models(major)
        self.tables: dict[str, dict[int, dict]] = {name: {} for name in self.models}
        self.next_ids = dict.fromkeys(self.models, 1)
        self.refs: dict[str, int] = {}
        self.sequences: dict[str, int] = {}
        self.denied: set[tuple[str, str]] = set()
        self.touched: set[tuple[str, int]] = set()
        for ref, name, category, factor, uom_type in UOM_SEED:
            categories = {r["name"]: i for i, r in self.tables["uom.category"].items()}
            category_id = categories.get(category) or self.create("uom.category", {"name": category})
            self.refs[ref] = self.create("uom.uom", {"name": name, "category_id": category_id,
                                                     "factor": factor, "uom_type": uom_type})

    # --- state ---------------------------------------------------------------------------------
    def now_str(self) -> str:
        return self.now.strftime(DATETIME_FORMAT)

    def snapshot(self) -> tuple:
        return copy.deepcopy((self.tables, self.next_ids, self.sequences))

    def restore(self, snap: tuple) -> None:  # a failed call is rolled back whole, as its transaction is
        self.tables, self.next_ids, self.sequences = snap

    def check_access(self, model: str, operation: str, raise_exception: bool = True) -> bool:
        if (model, operation) not in self.denied:
            return True
        if raise_exception:
            raise access_error(self.models[model].description, model, operation)
        return False

    def children(self, model: str, inverse: str, parent: int) -> list[int]:
        rows = self.tables[model]
        found = [i for i, r in rows.items() if r.get(inverse) == parent and r.get("active") is not False]
        return self.order(model, found)

    def display(self, model: str, rid: int | None) -> str:
        return self.models[model].display(self, self.tables[model][rid]) if rid else ""

    # --- values --------------------------------------------------------------------------------
    def raw(self, model: str, rec: dict, fname: str):
        """A field's value as stored: an id (or None) for a many2one, an id list for an x2many."""
        f = self.models[model].fields[fname]
        if fname == "display_name":
            return self.models[model].display(self, rec)
        if f.related:
            head, _, rest = f.related.partition(".")
            target = rec.get(head)
            relation = self.models[model].fields[head].relation
            return self.raw(relation, self.tables[relation][target], rest) if target else None
        if f.compute:
            return f.compute(self, rec)
        if f.type == "one2many":
            return self.children(f.relation, f.inverse, rec["id"])
        return rec.get(fname)

    def out(self, model: str, rec: dict, fname: str):
        """A field's value as read() answers it."""
        f, value = self.models[model].fields[fname], self.raw(model, rec, fname)
        if f.type == "many2one":
            return [value, self.display(f.relation, value)] if value else False
        if f.type in X2MANY:
            return list(value or [])
        if f.type == "float":
            return float(value or 0.0)
        if f.type == "integer":
            return int(value or 0)
        if f.type == "boolean":
            return bool(value)
        return value if value not in (None, "") else False

    def convert(self, model: str, fname: str, value):
        """A written value as the field's convert_to_cache takes it, or Odoo's error."""
        f = self.models[model].fields[fname]
        if f.type == "many2one":
            if value in (False, None, 0):
                return None
            if isinstance(value, bool) or not isinstance(value, int):
                raise value_error(f"Wrong value for {model}.{fname}: {value!r}")
            if value not in self.tables[f.relation]:  # the insert's foreign key refuses it
                raise self.fk_error(model, fname)
            return value
        if value is False or value is None:
            return False if f.type == "boolean" else None
        try:
            if f.type == "float":
                return float(value)
            if f.type == "integer":
                return int(value)
        except (TypeError, ValueError):
            raise value_error(f"could not convert string to float: {value!r}") from None
        if f.type == "boolean":
            return bool(value)
        if f.type == "selection" and value not in f.selection:
            raise value_error(f"Wrong value for {model}.{fname}: {value!r}")
        if f.type == "datetime":  # fields.Datetime.to_datetime: a date alone is midnight
            text = str(value)[:19]
            text += " 00:00:00" if len(text) == 10 else ""
            try:
                return datetime.strptime(text, DATETIME_FORMAT).strftime(DATETIME_FORMAT)
            except ValueError as exc:
                raise value_error(str(exc)) from None
        return str(value)

    def fk_error(self, model: str, fname: str) -> OdooError:  # service/model.py _as_validation_error
        return validation_error(
            "The operation cannot be completed: another model requires the record being deleted. If "
            "possible, archive it instead.\n\n"
            f"Model: {self.models[model].description} ({model})\n"
            f"Constraint: {model.replace('.', '_')}_{fname}_fkey\n")

    def not_null_error(self, model: str, fname: str) -> OdooError:
        return validation_error(
            "The operation cannot be completed:\n- Create/update: a mandatory field is not set.\n"
            "- Delete: another model requires the record being deleted. If possible, archive it instead.\n\n"
            f"Model: {self.models[model].description} ({model})\n"
            f"Field: {self.models[model].fields[fname].string} ({fname})\n")

    # --- search --------------------------------------------------------------------------------
    def search(self, model: str, domain, active_test: bool = True) -> list[int]:
        tree = normalize(domain)
        fields = self.models[model].fields
        for leaf in tree:
            if isinstance(leaf, tuple) and leaf[0] not in (0, 1) and leaf[0].split(".")[0] not in fields:
                raise value_error(f"Invalid field {model}.{leaf[0].split('.')[0]} in leaf {leaf}")
        if active_test and "active" in fields and not any(
                isinstance(leaf, tuple) and str(leaf[0]).split(".")[0] == "active" for leaf in tree):
            tree = ["&", ("active", "=", True), *tree]
        return [i for i, r in self.tables[model].items() if self._eval(model, r, tree)]

    def _eval(self, model: str, rec: dict, tree: list) -> bool:
        stack: list[bool] = []
        for token in reversed(tree):
            if token == "!":
                stack.append(not stack.pop())
            elif token in ("&", "|"):
                a, b = stack.pop(), stack.pop()
                stack.append(a and b if token == "&" else a or b)
            else:
                stack.append(self._leaf(model, rec, token))
        return stack[0]

    def _leaf(self, model: str, rec: dict, leaf: tuple) -> bool:
        path, op, right = leaf
        if path in (0, 1):
            return path == 1
        if op in NEGATIONS:  # Odoo's negative operators also match NULL: "not any match"
            return not self._leaf(model, rec, (path, NEGATIONS[op], right))
        if op == "=?":
            return right in (None, False) or self._leaf(model, rec, (path, "=", right))
        return any(self._match(f, v, op, right) for f, v in self._values(model, rec, path))

    def _values(self, model: str, rec: dict, path: str) -> list[tuple[Field, object]]:
        """The values a dotted path reaches (an x2many fans out); an unset many2one reaches none."""
        head, _, rest = path.partition(".")
        f = self.models[model].fields[head]
        value = self.raw(model, rec, head)
        if not rest:
            if f.type in X2MANY:
                return [(f, v) for v in value] or [(f, None)]
            return [(f, value)]
        if f.type not in ("many2one", *X2MANY):
            raise value_error(f"Invalid path {path!r} on model {model!r}")
        ids = value if f.type in X2MANY else [value] if value else []
        return [pair for i in ids for pair in self._values(f.relation, self.tables[f.relation][i], rest)]

    def _match(self, f: Field, value, op: str, right) -> bool:
        if f.type == "many2one" and isinstance(right, str) and value:  # a name: matched on display_name
            value = self.display(f.relation, value)
        if op == "=":
            if right is False or right is None:
                return value in (None, False)
            return value == right or (f.type == "boolean" and bool(value) == right)
        if op == "in":
            values = list(right) if isinstance(right, (list, tuple)) else [right]
            return value in values or (value is None and False in values)
        if value is None:
            return False  # SQL NULL: no comparison holds
        if op in ("like", "ilike", "=like", "=ilike"):
            pattern = str(right) if op.startswith("=") else f"%{right}%"
            regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
            return re.fullmatch(regex, str(value), re.S | (re.I if "ilike" in op else 0)) is not None
        try:
            return {"<": value < right, "<=": value <= right, ">": value > right, ">=": value >= right}[op]
        except TypeError:
            return False

    def order(self, model: str, ids: list[int], order: str | None = None) -> list[int]:
        spec = [part.split() for part in (order or self.models[model].order).split(",") if part.strip()]
        fields = self.models[model].fields
        result = sorted(ids)
        for words in reversed(spec):  # stable sorts, last key first; NULLs last ascending as in PostgreSQL
            fname, desc = words[0], len(words) > 1 and words[1].lower() == "desc"
            if fname not in fields:
                raise value_error(f"Invalid field {fname!r} on model {model!r}")
            def key_of(i: int, fname: str = fname):
                rec = self.tables[model][i]
                if fields[fname].type == "many2one":
                    return self.display(fields[fname].relation, rec.get(fname)) or None
                return self.raw(model, rec, fname)
            present = sorted((i for i in result if key_of(i) is not None), key=key_of, reverse=desc)
            missing = [i for i in result if key_of(i) is None]
            result = missing + present if desc else present + missing
        return result

    # --- writing -------------------------------------------------------------------------------
    def create(self, model: str, vals: dict) -> int:
        spec = self.models[model]
        vals = dict(vals)
        if model == "product.product" and not vals.get("product_tmpl_id"):  # _inherits: the template first
            tmpl_vals = {k: vals.pop(k) for k in list(vals) if spec.fields.get(k) and spec.fields[k].related}
            vals["product_tmpl_id"] = self.create("product.template", {**tmpl_vals, "_no_variant": True})
        no_variant = vals.pop("_no_variant", False)
        rid = self.next_ids[model]
        self.next_ids[model] += 1
        rec: dict = {"id": rid}
        later: dict = {}
        for fname, value in vals.items():
            f = spec.fields.get(fname)
            if f is None or fname in ("id", "display_name", "create_date", "write_date") or f.compute:
                continue  # models.create drops unknown fields with a warning in the log
            if f.related or f.type in X2MANY:
                later[fname] = value
            else:
                rec[fname] = self.convert(model, fname, value)
        for fname, f in spec.fields.items():
            if fname not in rec and f.default is not None and not f.related and f.type not in X2MANY:
                default = f.default(self, {**vals, **rec}) if callable(f.default) else f.default
                rec[fname] = self.convert(model, fname, default)
        for fname, f in spec.fields.items():
            if f.required and not f.related and rec.get(fname) in (None, ""):
                raise self.not_null_error(model, fname)
        if rec.get("name") == "New" and model in ("mrp.production", "purchase.order"):  # ir.sequence
            number = self.sequences[model] = self.sequences.get(model, 0) + 1
            rec["name"] = f"WH/MO/{number:05d}" if model == "mrp.production" else f"P{number:05d}"
        rec["create_date"] = rec["write_date"] = self.now_str()
        self.tables[model][rid] = rec
        self.touched.add((model, rid))
        if later:
            self.write(model, [rid], later, stamp=False)
        if model == "product.template" and not no_variant:
            self.create("product.product", {"product_tmpl_id": rid})
        return rid

    def write(self, model: str, ids: list[int], vals: dict, stamp: bool = True) -> None:
        spec = self.models[model]
        for fname in vals:
            if fname not in spec.fields:
                raise value_error(f"Invalid field {fname!r} on model {model!r}")
        for rid in ids:
            rec = self.tables[model][rid]
            for fname, value in vals.items():
                f = spec.fields[fname]
                if f.compute or fname in ("id", "display_name", "create_date", "write_date"):
                    continue
                if f.related:
                    head, _, rest = f.related.partition(".")
                    if rec.get(head):
                        self.write(spec.fields[head].relation, [rec[head]], {rest: value})
                elif f.type in X2MANY:
                    self._commands(model, rid, fname, value)
                else:
                    rec[fname] = self.convert(model, fname, value)
                    if f.required and rec[fname] is None:
                        raise self.not_null_error(model, fname)
            if stamp:
                rec["write_date"] = self.now_str()
            self.touched.add((model, rid))

    def _commands(self, model: str, rid: int, fname: str, commands) -> None:
        """fields.py Command on a one2many: (0, 0, vals) create, (1, id, vals) update, (2, id) delete,
        (3, id) detach, (4, id) link, (5,) detach all, (6, 0, ids) replace; a plain id list is (6, 0, ids).
        Detaching a line whose back-reference is required (ondelete cascade) deletes it, as Odoo does."""
        f = self.models[model].fields[fname]
        co, inverse = f.relation, f.inverse
        if commands in (False, None):
            commands = [(5,)]
        if not isinstance(commands, (list, tuple)):
            raise value_error(f"Wrong value for {model}.{fname}: {commands!r}")
        if commands and all(isinstance(c, int) and not isinstance(c, bool) for c in commands):
            commands = [(6, 0, list(commands))]
        current = lambda: [i for i, r in self.tables[co].items() if r.get(inverse) == rid]  # noqa: E731

        def detach(ids: list[int]) -> None:
            if self.models[co].fields[inverse].required:
                self.check_access(co, "unlink")
                self.unlink(co, ids)
            else:
                self.check_access(co, "write")
                self.write(co, ids, {inverse: False})

        for command in commands:
            if not isinstance(command, (list, tuple)) or not command or command[0] not in range(7):
                raise value_error(f"Wrong value for {model}.{fname}: {command!r}")
            op, target = command[0], command[1] if len(command) > 1 else 0
            if op in (1, 2, 3, 4) and target not in self.tables[co]:
                raise missing_error(co, [target])
            if op == 0:
                self.check_access(co, "create")
                self.create(co, {**(command[2] or {}), inverse: rid})
            elif op == 1:
                self.check_access(co, "write")
                self.write(co, [target], command[2] or {})
            elif op == 2:
                self.check_access(co, "unlink")
                self.unlink(co, [target])
            elif op == 3:
                detach([target] if self.tables[co][target].get(inverse) == rid else [])
            elif op == 4:
                self.check_access(co, "write")
                self.write(co, [target], {inverse: rid})
            elif op == 5:
                detach(current())
            else:
                keep = [i for i in command[2] or []]
                for i in keep:
                    if i not in self.tables[co]:
                        raise missing_error(co, [i])
                detach([i for i in current() if i not in keep])
                self.check_access(co, "write")
                self.write(co, [i for i in keep if self.tables[co][i].get(inverse) != rid], {inverse: rid})

    def unlink(self, model: str, ids: list[int]) -> None:
        ids = [i for i in ids if i in self.tables[model]]
        if not ids:
            return
        if model == "mrp.bom" and any(r.get("bom_id") in ids and r["state"] not in ("done", "cancel")
                                      for r in self.tables["mrp.production"].values()):
            raise user_error("You can not delete a Bill of Material with running manufacturing orders.\n"
                             "Please close or cancel it first.")
        templates = ({self.tables[model][i]["product_tmpl_id"] for i in ids}
                     if model == "product.product" else set())
        for i in ids:
            del self.tables[model][i]
        for other, spec in self.models.items():  # the foreign keys pointing here: cascade, restrict, set null
            for fname, f in spec.fields.items():
                if f.type != "many2one" or f.relation != model or f.related or f.compute:
                    continue
                refs = [i for i, r in self.tables[other].items() if r.get(fname) in ids]
                if not refs:
                    continue
                if f.ondelete == "cascade":
                    self.unlink(other, refs)
                elif f.required:
                    raise self.fk_error(other, fname)
                else:
                    for i in refs:
                        self.tables[other][i][fname] = None
        for tmpl in templates:  # product.product.unlink: a template left without variants goes too
            if not any(r["product_tmpl_id"] == tmpl for r in self.tables["product.product"].values()):
                self.unlink("product.template", [tmpl])

    # --- model rules ---------------------------------------------------------------------------
    def check_rules(self) -> None:
        """Python constraints of what the call touched, then the SQL checks (at flush, as in Odoo)."""
        touched, self.touched = self.touched, set()
        boms = {i for m, i in touched if m == "mrp.bom"} | {
            self.tables["mrp.bom.line"][i]["bom_id"] for m, i in touched if m == "mrp.bom.line"
            if i in self.tables["mrp.bom.line"]}
        boms &= set(self.tables["mrp.bom"])
        for bom_id in sorted(boms):
            bom = self.tables["mrp.bom"][bom_id]
            self._check_uom(bom["product_uom_id"],
                            _product_uom(self, "product.template", bom["product_tmpl_id"]))
            for line_id in self.children("mrp.bom.line", "bom_id", bom_id):
                line = self.tables["mrp.bom.line"][line_id]
                self._check_uom(line["product_uom_id"],
                                _product_uom(self, "product.product", line["product_id"]))
            if bom.get("active", True):
                self._check_cycle(bom)
        checks = {"mrp.bom": (lambda q: q > 0, "The quantity to produce must be positive!"),
                  "mrp.production": (lambda q: q > 0, "The quantity to produce must be positive!"),
                  "mrp.bom.line": (lambda q: q >= 0, "All product quantities must be greater or equal to 0.\n"
                                   "Lines with 0 quantities can be used as optional lines. \nYou should "
                                   "install the mrp_byproduct module if you want to manage extra products on "
                                   "BoMs!")}
        for model, rid in sorted(touched):
            if model in checks and rid in self.tables[model]:
                ok, message = checks[model]
                if not ok(self.tables[model][rid].get("product_qty") or 0.0):
                    raise validation_error(f"The operation cannot be completed: {message}")

    def _check_uom(self, uom: int | None, product_uom: int | None) -> None:
        """uom.uom._compute_quantity's refusal to convert across categories (see the module doc)."""
        uoms = self.tables["uom.uom"]
        if uom and product_uom and uoms[uom]["category_id"] != uoms[product_uom]["category_id"]:
            raise user_error(
                f"The unit of measure {uoms[uom]['name']} defined on the order line doesn't belong to the "
                f"same category as the unit of measure {uoms[product_uom]['name']} defined on the product. "
                "Please correct the unit of measure defined on the order line or on the product, they "
                "should belong to the same category.")

    def _check_cycle(self, bom: dict) -> None:
        """mrp.bom._check_bom_cycle (17.0): a component that is, down its own BoMs, a finished product."""
        def finished_of(b: dict) -> list[int]:
            return [b["product_id"]] if b.get("product_id") else self.children(
                "product.product", "product_tmpl_id", b["product_tmpl_id"])

        def bom_of(product: int) -> dict | None:
            tmpl = self.tables["product.product"][product]["product_tmpl_id"]
            found = [b for b in self.tables["mrp.bom"].values() if b.get("active", True) and (
                b.get("product_id") == product or (not b.get("product_id") and b["product_tmpl_id"] == tmpl))]
            return min(found, key=lambda b: (b.get("sequence") or 0, b.get("product_id") is None, b["id"]),
                       default=None)

        def walk(components: list[int], finished: list[int], depth: int = 0) -> None:
            for component in components:
                if component in finished:
                    if self.major < 17:
                        raise validation_error(f"BoM line product {self.display('mrp.bom', bom['id'])} "
                                               "should not be the same as BoM product.")
                    names = ", ".join(self.display("product.product", p) for p in finished)
                    raise validation_error("The current configuration is incorrect because it would create a "
                                           f"cycle between these products: {names}.")
            for component in components:
                sub = bom_of(component)
                if sub and depth < 50:
                    lines = self.children("mrp.bom.line", "bom_id", sub["id"])
                    walk([self.tables["mrp.bom.line"][i]["product_id"] for i in lines],
                         [*finished, component], depth + 1)

        lines = self.children("mrp.bom.line", "bom_id", bom["id"])
        walk([self.tables["mrp.bom.line"][i]["product_id"] for i in lines], finished_of(bom))


def missing_error(model: str, ids: list[int], uid: int = 2) -> OdooError:  # models.py _read / check_access
    return OdooError("odoo.exceptions.MissingError",
                     "Record does not exist or has been deleted.\n"
                     f"(Record: {model}({', '.join(map(str, ids))},), User: {uid})")


def normalize(domain) -> list:
    """expression.normalize_domain: an implicit '&' between consecutive terms; leaves as tuples."""
    if domain in (None, False) or domain == []:
        return [(1, "=", 1)]
    if not isinstance(domain, (list, tuple)):
        raise value_error(f"Invalid domain {domain!r}")
    result: list = []
    expected = 1
    for token in domain:
        if expected == 0:
            result.insert(0, "&")
            expected = 1
        if isinstance(token, (list, tuple)):
            leaf = tuple(token)
            if len(leaf) != 3 or (leaf[1] not in TERM_OPERATORS) or not isinstance(leaf[0], (str, int)):
                raise value_error(f"Invalid leaf {leaf}")
            if isinstance(leaf[2], list):
                leaf = (leaf[0], leaf[1], tuple(leaf[2]))
            result.append(leaf)
            expected -= 1
        elif token in ("&", "|", "!"):
            result.append(token)
            expected += 0 if token == "!" else 1
        else:
            raise value_error(f"Invalid leaf {token!r}")
    if expected != 0:
        raise value_error(f"Domain {list(domain)} is syntactically not correct.")
    return result
