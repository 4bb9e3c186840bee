"""A local HTTP server that answers as Odoo 17/18's external JSON-RPC API (POST /jsonrpc) does.

Followed: Odoo 17.0's odoo/http.py (JsonRPCDispatcher.dispatch / handle_error, serialize_exception:
HTTP 200 and error code 200 "Odoo Server Error", data {name: module.Class, debug, message, arguments,
context}; a body that is not JSON is HTTP 400 "Invalid JSON data", JSON that is not an object 400
"Invalid JSON-RPC data"), odoo/addons/base/controllers/rpc.py (/jsonrpc → dispatch_rpc: an unknown
service is a KeyError), odoo/service/common.py (version, login, authenticate: False on a bad login;
an unknown method "Method not found: …"), odoo/service/model.py (dispatch: security.check first, so
a bad uid or key is odoo.exceptions.AccessDenied "Access Denied"; execute / execute_kw; an unknown
object method is NameError "Method not available …"; check_method_name refuses private methods;
"Object … doesn't exist" UserError; IntegrityErrors turned into ValidationErrors by
_as_validation_error, for NOT NULL, foreign keys and the models' SQL CHECK constraints), odoo/api.py
call_kw (create answers an id for a dict, ids for a list), odoo/models.py (search, search_count,
search_read, read, create, write, unlink, check_access_rights, name_search, active_test),
addons/base/models/ir_model.py (_make_access_error's wording), odoo/fields.py (Command on one2many,
Datetime.to_datetime), odoo/osv/expression.py (normalize_domain, operators, NULL semantics of the
negative operators), addons/mrp/models/mrp_bom.py (product_qty > 0 and lines >= 0 CHECKs,
_check_bom_cycle), mrp_routing.py, mrp_production.py (qty_positive), purchase_order(_line).py,
addons/uom/data/uom_data.xml and uom.uom._compute_quantity.

Where the fake simplifies:
- One database, one user (uid 2), whose only password is the API key. An unknown database answers
  psycopg2.OperationalError 'connection to server … failed: FATAL:  database "x" does not exist', as
  odoo.registry() raises it. `debug` holds a short made-up traceback.
- Only the models and fields the Odoo connector uses (odoo_fake_schema.build_models); other fields are
  absent (a read asks for them: ValueError "Invalid field"); create ignores unknown fields as Odoo
  does (it only logs them). No companies, create_uid/write_uid, translations or chatter.
- product.product and product.template share name/default_code/type/uom_id/uom_po_id through the
  template (single-variant products); a product created alone creates its template (_inherits), a
  template creates its variant; the last variant's unlink takes its template.
- mrp.bom.product_uom_id defaults to the product's unit (Odoo 17's field default is the first UoM,
  the form's onchange sets the product's); mrp.bom.line does so in create() as Odoo does.
- UoM categories: Odoo 17 refuses a cross-category unit when it converts quantities (explode, stock
  moves) with uom's UserError; the fake refuses it at once, on the BoM's and each line's unit.
- A line whose product is the BoM's own product is refused with 17.0's _check_bom_cycle message
  (the 16.0 "should not be the same as BoM product" wording for version "16.0").
- No many2many fields are modelled; one2many commands are. Python constraints run at the end of
  each call (after all its commands), then the SQL checks; every failed call is rolled back whole.
- Ordering: Python's on the raw values (many2one by display name), NULLs last ascending; no
  "priority" keys. Sequences: mrp.production "WH/MO/00001", purchase.order "P00001".
- AccessError lists no groups ("No group currently allows this operation.").
- version "18.0" changes product types (consu/service/combo, is_storable); nothing else.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

from bench.rig import LocalServer, TrackedHandler

from .odoo_fake_models import (
    DATETIME_FORMAT,
    OPERATIONS,
    X2MANY,
    OdooError,
    Store,
    missing_error,
    value_error,
)

UID = 2
RECORD_METHODS = ("read", "write", "unlink")  # call_kw: args[0] are the records' ids
WRITE_METHODS = ("create", "write", "unlink")


@dataclass
class _Rule:
    remaining: int
    status: int = 503
    seconds: float = 0.0
    name: str = ""
    message: str = ""
    method: str | None = None  # a fault only for this service or model method


class _TypeErrorAtCall(Exception):
    pass


def _call(fn, *args, **kwargs):
    """Call fn; a TypeError raised by the call itself (wrong arguments) is Odoo's builtins.TypeError."""
    try:
        return fn(*args, **kwargs)
    except TypeError as exc:
        if exc.__traceback__ is not None and exc.__traceback__.tb_next is None:
            raise OdooError("builtins.TypeError", str(exc)) from None
        raise


class BaseModel:
    """The ORM methods open to RPC on one model; named as Odoo's class so that a wrong call's
    TypeError reads as Odoo's does ("BaseModel.search() got an unexpected keyword argument …")."""

    def __init__(self, store: Store, model: str, active_test: bool = True) -> None:
        self.store, self.model, self.active_test = store, model, active_test

    def _ids(self, ids) -> list[int]:
        ids = [ids] if isinstance(ids, int) and not isinstance(ids, bool) else list(ids or [])
        if not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise value_error(f"Invalid ids {ids!r}")
        return list(dict.fromkeys(ids))

    def _existing(self, ids) -> list[int]:
        ids = self._ids(ids)
        missing = [i for i in ids if i not in self.store.tables[self.model]]
        if missing:
            raise missing_error(self.model, missing, UID)
        return ids

    def _fields(self, fields) -> list[str]:
        known = self.store.models[self.model].fields
        if not fields:
            return list(known)
        for name in fields:
            if name not in known:
                raise value_error(f"Invalid field {name!r} on model {self.model!r}")
        return ["id", *[f for f in fields if f != "id"]]

    def _read(self, ids: list[int], fields) -> list[dict]:
        names = self._fields(fields)
        rows = self.store.tables[self.model]
        return [{name: self.store.out(self.model, rows[i], name) for name in names} for i in ids]

    def search(self, domain, offset=0, limit=None, order=None, count=False):
        self.store.check_access(self.model, "read")
        ids = self.store.order(self.model, self.store.search(self.model, domain, self.active_test), order)
        ids = ids[offset or 0:][:limit] if limit else ids[offset or 0:]
        return len(ids) if count else ids

    def search_count(self, domain, limit=None):
        return len(self.search(domain, limit=limit))

    def search_read(self, domain=None, fields=None, offset=0, limit=None, order=None, **read_kwargs):
        ids = self.search(domain or [], offset=offset, limit=limit, order=order)
        return self._read(ids, fields)

    def read(self, ids, fields=None, load="_classic_read"):
        self.store.check_access(self.model, "read")
        return self._read(self._existing(ids), fields)

    def create(self, vals_list):
        self.store.check_access(self.model, "create")
        single = isinstance(vals_list, dict)
        if not single and not (isinstance(vals_list, list) and all(isinstance(v, dict) for v in vals_list)):
            raise value_error(f"Invalid create values {vals_list!r}")
        ids = [self.store.create(self.model, vals) for vals in ([vals_list] if single else vals_list)]
        self.store.check_rules()
        return ids[0] if single else ids

    def write(self, ids, vals):
        self.store.check_access(self.model, "write")
        if not isinstance(vals, dict):
            raise value_error(f"Invalid write values {vals!r}")
        self.store.write(self.model, self._existing(ids), vals)
        self.store.check_rules()
        return True

    def unlink(self, ids):
        self.store.check_access(self.model, "unlink")
        self.store.unlink(self.model, self._existing(ids))
        return True

    def check_access_rights(self, operation, raise_exception=True):
        if operation not in OPERATIONS:
            raise value_error(f"Invalid access mode: {operation}")
        return self.store.check_access(self.model, operation, raise_exception)

    def name_search(self, name="", args=None, operator="ilike", limit=100):
        domain = [*(args or []), *([("display_name", operator, name)] if name or operator != "ilike" else [])]
        ids = self.search(domain, limit=limit)
        return [[i, self.store.display(self.model, i)] for i in ids]


class _Handler(TrackedHandler):
    def do_POST(self) -> None:
        self.server.owner.handle(self)

    do_GET = do_PUT = do_DELETE = do_POST


class OdooFake(LocalServer):
    """Odoo's JSON-RPC API on a local port, with its state open to the test (see the module doc)."""

    handler = _Handler

    def __init__(self, database: str = "thread", login: str = "thread@example.com",
                 api_key: str = "odoo-test-key", version: str = "17.0", *,
                 now: datetime | None = None, port: int | None = None) -> None:
        super().__init__(port)
        self.database, self.login, self.api_key, self.version = database, login, api_key, version
        found = re.search(r"(\d+)\.(\d+)", version)
        self.version_info = [int(found[1]), int(found[2]), 0, "final", 0, "e" if "+e" in version else ""]
        start = (now or datetime(2024, 1, 15, 9, 0, 0)).replace(microsecond=0)
        self.store = Store(self.version_info[0], start)
        self.calls: list[tuple[str, str, str | None, str | None]] = []
        self.writes = 0
        self._failures: list[_Rule] = []
        self._faults: list[_Rule] = []
        self._delays: list[_Rule] = []
        self._cut: int | None = None

    def __enter__(self) -> OdooFake:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- state and test hooks ------------------------------------------------------------------
    @property
    def now(self) -> datetime:
        """The server's clock (UTC, naive): create_date / write_date and the date defaults."""
        return self.store.now

    @now.setter
    def now(self, value: datetime) -> None:
        with self.lock:
            self.store.now = value.replace(microsecond=0)

    def advance(self, seconds: float = 1.0) -> datetime:
        self.now = self.store.now + timedelta(seconds=seconds)
        return self.store.now

    def set_write_date(self, model: str, rid: int, when: datetime | str) -> None:
        with self.lock:
            text = when if isinstance(when, str) else when.strftime(DATETIME_FORMAT)
            self.store.tables[model][rid]["write_date"] = text

    def records(self, model: str) -> dict[int, dict]:
        """Every record of `model` (archived too), each as read() would answer it."""
        with self.lock:
            rows = self.store.tables[model]
            api = BaseModel(self.store, model)
            return {i: api._read([i], None)[0] for i in sorted(rows)}

    def uom(self, name: str) -> int:
        with self.lock:
            return next(i for i, r in self.store.tables["uom.uom"].items() if r["name"] == name)

    def template_of(self, product_id: int) -> int:
        with self.lock:
            return self.store.tables["product.product"][product_id]["product_tmpl_id"]

    def _add(self, model: str, vals: dict) -> int:
        with self.lock:
            rid = self.store.create(model, vals)
            self.store.check_rules()
            return rid

    def add_product(self, default_code: str | None, name: str, uom: str = "Units", type: str = "consu",
                    **fields) -> int:
        """A product (and its template); answers the product.product id."""
        return self._add("product.product", {"default_code": default_code or False, "name": name,
                                             "uom_id": self.uom(uom), "uom_po_id": self.uom(uom),
                                             "type": type, **fields})

    def add_workcenter(self, name: str, code: str | None = None, **fields) -> int:
        return self._add("mrp.workcenter", {"name": name, "code": code or False, **fields})

    def add_partner(self, name: str, **fields) -> int:
        return self._add("res.partner", {"name": name, **fields})

    def add_bom(self, product_id: int, lines: list[tuple[int, float]] = (), **fields) -> int:
        """A BoM for a product.product's template, with (component product id, quantity) lines."""
        return self._add("mrp.bom", {"product_tmpl_id": self.template_of(product_id),
                                     "bom_line_ids": [(0, 0, {"product_id": p, "product_qty": q})
                                                      for p, q in lines], **fields})

    def add_production(self, product_id: int, product_qty: float = 1.0, state: str = "draft",
                       **fields) -> int:
        return self._add("mrp.production", {"product_id": product_id, "product_qty": product_qty,
                                            "state": state, **fields})

    def add_purchase(self, partner_id: int, lines: list[tuple[int, float]] = (), state: str = "draft",
                     **fields) -> int:
        """A purchase order with (product id, quantity) lines (or dicts of line values)."""
        line_vals = [line if isinstance(line, dict) else {"product_id": line[0], "product_qty": line[1]}
                     for line in lines]
        return self._add("purchase.order", {"partner_id": partner_id, "state": state,
                                            "order_line": [(0, 0, v) for v in line_vals], **fields})

    def update(self, model: str, rid: int, **vals) -> None:
        """Change a record behind the connector's back (write_date moves, as Odoo's would)."""
        with self.lock:
            self.store.write(model, [rid], vals)
            self.store.check_rules()

    def deny(self, model: str, *operations: str) -> None:
        """The user loses `operations` (all four when none given) on `model`: Odoo's AccessError."""
        with self.lock:
            self.store.denied |= {(model, op) for op in operations or OPERATIONS}

    def allow(self, model: str, *operations: str) -> None:
        with self.lock:
            self.store.denied -= {(model, op) for op in operations or OPERATIONS}

    def fail_next(self, status: int = 503, count: int = 1) -> None:
        """The next `count` requests get a bare HTTP `status` (text body), nothing applied."""
        with self.lock:
            self._failures.append(_Rule(count, status=status))

    def fault_next(self, name: str = "odoo.exceptions.UserError", message: str = "Injected fault",
                   count: int = 1, method: str | None = None) -> None:
        """The next `count` calls (of `method`, a service or model method, when given) answer a
        JSON-RPC error of exception `name`, nothing applied."""
        with self.lock:
            self._faults.append(_Rule(count, name=name, message=message, method=method))

    def delay_next(self, seconds: float, count: int = 1) -> None:
        with self.lock:
            self._delays.append(_Rule(count, seconds=seconds))

    def cut_after_writes(self, n: int) -> None:
        """After `n` more applied writes (create/write/unlink calls), apply the next one and close its
        connection without an answer."""
        with self.lock:
            self._cut = n

    # --- HTTP --------------------------------------------------------------------------------
    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        raw = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        path = urlsplit(handler.path).path
        with self.lock:
            delay, failure = _take(self._delays), _take(self._failures)
        if delay:
            time.sleep(delay.seconds)
        if failure:
            return _send(handler, failure.status, _reason(handler, failure.status), "text/plain")
        if path != "/jsonrpc":
            return _send(handler, 404, b"<h1>Not Found</h1>", "text/html; charset=utf-8")
        mimetype = (handler.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if mimetype not in ("application/json", "application/json-rpc"):  # the route is type='json'
            return _send(handler, 400, b"<h1>Bad Request</h1><p>Request inferred type is compatible with "
                         b"['http'] but 'json' was received.</p>", "text/html; charset=utf-8")
        try:
            body = json.loads(raw)
        except ValueError:
            return _send(handler, 400, b"Invalid JSON data", "text/html; charset=utf-8")
        if not isinstance(body, dict):
            return _send(handler, 400, b"Invalid JSON-RPC data", "text/html; charset=utf-8")
        params = body.get("params") if isinstance(body.get("params"), dict) else {}
        answer, drop = self._answer(params), False
        with self.lock:
            if "result" in answer and self._is_write(params):
                self.writes += 1
                if self._cut is not None:
                    drop, self._cut = self._cut == 0, None if self._cut == 0 else self._cut - 1
        if drop:
            handler.close_connection = True
            with contextlib.suppress(OSError):
                handler.connection.shutdown(socket.SHUT_RDWR)
            return None
        data = json.dumps({"jsonrpc": "2.0", "id": body.get("id"), **answer}).encode()
        return _send(handler, 200, data, "application/json")

    @staticmethod
    def _names(params: dict) -> tuple[str, str, str | None, str | None]:
        service, method, args = params.get("service"), params.get("method"), params.get("args")
        model = model_method = None
        if service == "object" and method in ("execute", "execute_kw") and isinstance(args, list):
            model = args[3] if len(args) > 3 and isinstance(args[3], str) else None
            model_method = args[4] if len(args) > 4 and isinstance(args[4], str) else None
        return str(service), str(method), model, model_method

    def _is_write(self, params: dict) -> bool:
        return self._names(params)[3] in WRITE_METHODS

    def _answer(self, params: dict) -> dict:
        _service, method, _model, model_method = names = self._names(params)
        with self.lock:
            self.calls.append(names)
            fault = _take(self._faults, (method, model_method))
            if fault:
                return _error(OdooError(fault.name, fault.message))
            snap = self.store.snapshot()
            try:
                missing = [k for k in ("service", "method", "args") if k not in params]
                if missing:
                    raise OdooError("builtins.TypeError", f"RPC.jsonrpc() missing {len(missing)} required "
                                    f"positional argument{'s' if len(missing) > 1 else ''}: "
                                    + " and ".join(repr(k) for k in missing))
                args = params["args"] if isinstance(params["args"], list) else [params["args"]]
                return {"result": self._dispatch(params["service"], params["method"], args)}
            except OdooError as exc:
                self.store.restore(snap)
                return _error(exc)
            except Exception as exc:  # a fake's bug, or an input it did not foresee: as Odoo shows one
                self.store.restore(snap)
                return _error(OdooError(f"builtins.{type(exc).__name__}", str(exc)))
            finally:
                self.store.touched = set()

    def _dispatch(self, service, method, args: list):
        if service == "common":
            functions = {"version": self._exp_version, "login": self._exp_login,
                         "authenticate": self._exp_authenticate}
            if method not in functions:
                raise OdooError("builtins.Exception", f"Method not found: {method}")
            return _call(functions[method], *args)
        if service == "db" and method in ("list", "server_version"):
            return [self.database] if method == "list" else self.version
        if service != "object":
            raise OdooError("builtins.KeyError", repr(service))
        db, uid, password = args[0], int(args[1]), args[2]
        self._check(db, uid, password)
        if method == "execute":
            return _call(self._execute, *args[3:])
        if method == "execute_kw":
            return _call(self._execute_kw, *args[3:])
        raise OdooError("builtins.NameError", f"Method not available {method}")

    def _exp_version(self) -> dict:
        return {"server_version": self.version, "server_version_info": self.version_info,
                "server_serie": f"{self.version_info[0]}.{self.version_info[1]}", "protocol_version": 1}

    def _exp_login(self, db, login, password):
        return self._exp_authenticate(db, login, password, None)

    def _exp_authenticate(self, db, login, password, user_agent_env):
        self._registry(db)
        return UID if login == self.login and password == self.api_key else False

    def _registry(self, db) -> None:
        if db != self.database:  # odoo.registry(db) cannot connect
            raise OdooError("psycopg2.OperationalError",
                            'connection to server at "localhost" (127.0.0.1), port 5432 failed: FATAL:  '
                            f'database "{db}" does not exist\n')

    def _check(self, db, uid: int, password) -> None:  # service/security.py check → res.users.check
        self._registry(db)
        if uid != UID or password != self.api_key:
            raise OdooError("odoo.exceptions.AccessDenied", "Access Denied")

    def _execute_kw(self, obj, method, args, kw=None):
        return self._execute(obj, method, *args, **(kw or {}))

    def _execute(self, obj, method, *args, **kw):
        if not isinstance(method, str) or method.startswith("_"):  # models.check_method_name
            raise OdooError("odoo.exceptions.AccessError",
                            f"Private methods (such as {method}) cannot be called remotely.")
        if obj not in self.store.models:
            raise OdooError("odoo.exceptions.UserError", f"Object {obj} doesn't exist")
        context = kw.pop("context", None) or {}
        api = BaseModel(self.store, obj, active_test=context.get("active_test", True))
        fn = getattr(api, method, None) if method in _API else None
        if fn is None:
            raise OdooError("builtins.AttributeError", f"The method '{method}' does not exist on the model "
                            f"'{obj}'")
        if method in RECORD_METHODS:
            if not args:
                raise OdooError("builtins.IndexError", "tuple index out of range")
            return _call(fn, args[0], *args[1:], **kw)
        return _call(fn, *args, **kw)


_API = ("search", "search_count", "search_read", "read", "create", "write", "unlink", "check_access_rights",
        "name_search")


def _error(exc: OdooError) -> dict:
    """JsonRPCDispatcher.handle_error with http.serialize_exception's data."""
    debug = ("Traceback (most recent call last):\n"
             '  File "/usr/lib/python3/dist-packages/odoo/http.py", line 1770, in _serve_db\n'
             "    return service_model.retrying(self._serve_ir_http, self.env)\n"
             f"{exc.name}: {exc.message}\n")
    arguments = [exc.message[1:-1]] if exc.name == "builtins.KeyError" else [exc.message]
    return {"error": {"code": 200, "message": "Odoo Server Error",
                      "data": {"name": exc.name, "debug": debug, "message": exc.message,
                               "arguments": arguments, "context": {}}}}


def _take(rules: list[_Rule], methods: tuple = ()) -> _Rule | None:
    for rule in rules:
        if rule.remaining > 0 and (rule.method is None or rule.method in methods):
            rule.remaining -= 1
            return rule
    return None


def _reason(handler: BaseHTTPRequestHandler, status: int) -> bytes:
    return handler.responses.get(status, ("Error",))[0].encode()


def _send(handler: BaseHTTPRequestHandler, status: int, data: bytes, content_type: str) -> None:
    try:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
    except OSError:
        pass  # the client gave up: as a real server would see it


__all__ = ["UID", "X2MANY", "OdooError", "OdooFake"]
