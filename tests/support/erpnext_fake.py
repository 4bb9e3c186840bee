"""A local HTTP server that answers as ERPNext v15 / Frappe v15's REST API (/api/resource, /api/method) does.

Followed (read from the public sources, v15-era): frappe/api/v1.py (document_list: fields JSON, default
limit_page_length 20, order_by default; create_doc: frappe.new_doc(**data).insert(); update_doc:
doc.update(data) then doc.save(); delete_doc answers "ok" with HTTP 202; read_doc checks "read"),
frappe/utils/response.py (report_error: exc_type always, `exception` = the traceback's last line and
`exc` = json.dumps([traceback]) only when tracebacks are allowed for a system user and the status is
not 404; make_logs: `_server_messages` = json.dumps([json.dumps(msg), ...]), `_error_message` from
frappe.flags.error_message), frappe/app.py handle_exception (status = exception's http_status_code),
frappe/exceptions.py (ValidationError family 417, PermissionError 403, DoesNotExistError 404,
DuplicateEntryError 409, AuthenticationError 401), frappe/auth.py (validate_auth: "token key:secret"
or "Basic base64(key:secret)"; a header that does not authenticate is AuthenticationError; no header
is the Guest user), frappe/__init__.py has_permission ("No permission for {doctype}"),
frappe/model/document.py (check_docstatus_transition wordings, "Cannot edit cancelled document",
raise_no_permission_to "Insufficient Permission for {doctype} (<strong>op</strong>)", check_if_latest
TimestampMismatchError), base_document.py (_validate_links "Could not find {label}: {value}", row
form "Row #n: ...", _validate_mandatory "[DocType, name]: fields", _validate_update_after_submit "Not
allowed to change {label} after submission", tables compared by length then row by row),
frappe/model/delete_doc.py ("Submitted Record cannot be deleted", "User not allowed to delete",
LinkExistsError), frappe/client.py (submit(doc), cancel(doctype, name), POST/PUT only),
frappe/handler.py (is_whitelisted: Guest "You are not permitted to access this resource."),
erpnext/manufacturing/doctype/bom/bom.py (autoname BOM-<item>-###, validate_main_item "Quantity should be
greater than 0", validate_materials "Raw Materials cannot be blank." / "Quantity required for Item {0}
in row {1}", clear_operations, validate_operations, on_submit / on_update_after_submit / on_cancel →
manage_default_bom), naming series MFG-WO-.YYYY.- and PUR-ORD-.YYYY.-.

Where the fake simplifies:
- One user (the API key's), a system user, so error answers carry `exception` and `exc` (a one-line
  made-up traceback). Guest answers (no Authorization) carry only exc_type and messages.
- Only the DocTypes and fields in erpnext_fake_store.META; unknown body keys are ignored (Frappe keeps
  them on the object and drops them on save). No companies, currencies, costs, stock or workflows.
- Child rows keep their `name` when a PUT sends it back; other rows are new. frappe.client.submit merges
  the given doc over the stored one (Frappe saves the given doc whole).
- The rule "a BOM item's operation must be in the operations table" and the Work Order/PO checks are
  the fake's own wordings. "Not allowed to change" omits the "from {old} to {new}" tail some releases add.
- Default order is `modified desc`, ties by creation order; text compares by Python, not collation.
- msgprint entries carry message/indicator/raise_exception (and title when one is given), no
  __frappe_exc_id.
"""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, unquote, urlsplit

from bench.rig import LocalServer, TrackedHandler

from .erpnext_fake_store import DATETIME_FORMAT, DOCTYPES, OPERATIONS, FrappeError, Store, permission

WRITE_METHODS = ("POST", "PUT", "DELETE")


@dataclass
class _Rule:
    remaining: int
    status: int = 503
    seconds: float = 0.0


class _Handler(TrackedHandler):
    def do_GET(self) -> None:
        self.server.owner.handle(self)

    do_POST = do_PUT = do_DELETE = do_GET


class ErpNextFake(LocalServer):
    """ERPNext's REST API on a local port, with its state open to the test (see the module doc)."""

    handler = _Handler

    def __init__(self, api_key: str = "k", api_secret: str = "s", user: str = "thread@example.com", *,
                 now: datetime | None = None, port: int | None = None) -> None:
        super().__init__(port)
        self.api_key, self.api_secret, self.user = api_key, api_secret, user
        self.store = Store(user, now or datetime(2026, 1, 15, 9, 0, 0))
        self.calls: list[tuple[str, str]] = []  # (HTTP method, path) of every request
        self.writes = 0
        self._failures: list[_Rule] = []
        self._delays: list[_Rule] = []
        self._cut: int | None = None

    def __enter__(self) -> ErpNextFake:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- state and test hooks ------------------------------------------------------------------
    @property
    def now(self) -> datetime:
        """The server's clock: creation / modified and the naming series' year."""
        return self.store.now

    @now.setter
    def now(self, value: datetime) -> None:
        with self.lock:
            self.store.now = value

    def advance(self, seconds: float = 1.0) -> datetime:
        self.now = self.store.now + timedelta(seconds=seconds)
        return self.store.now

    def records(self, doctype: str) -> dict[str, dict]:
        with self.lock:
            return json.loads(json.dumps(self.store.tables[doctype]))

    def _add(self, doctype: str, data: dict) -> str:
        with self.lock:
            snap = self.store.snapshot()
            try:
                return self.store.insert(doctype, data, ignore_permissions=True)["name"]
            except FrappeError:
                self.store.restore(snap)
                raise

    def add_item(self, item_code: str, item_name: str | None = None, stock_uom: str = "Nos",
                 item_group: str = "Products", **fields) -> str:
        return self._add("Item", {"item_code": item_code, "item_name": item_name or item_code,
                                  "stock_uom": stock_uom, "item_group": item_group, **fields})

    def add_workstation(self, name: str, **fields) -> str:
        return self._add("Workstation", {"workstation_name": name, **fields})

    def add_operation(self, name: str, **fields) -> str:
        return self._add("Operation", {"name": name, **fields})

    def add_supplier(self, name: str, **fields) -> str:
        return self._add("Supplier", {"supplier_name": name, **fields})

    def add_bom(self, item: str, items: list[tuple[str, float]] = (), docstatus: int = 1, **fields) -> str:
        rows = [r if isinstance(r, dict) else {"item_code": r[0], "qty": r[1]} for r in items]
        return self._add("BOM", {"item": item, "items": rows, "docstatus": docstatus, **fields})

    def add_work_order(self, production_item: str, qty: float, planned_start_date: str,
                       status: str = "Not Started", docstatus: int = 1, **fields) -> str:
        """A Work Order; its BOM is the item's default BOM unless `bom_no` is given (stored as
        given: no BOM checks)."""
        with self.lock:
            bom_no = fields.pop("bom_no", None) or self.store.tables["Item"].get(
                production_item, {}).get("default_bom")
            name = self._bypass("Work Order", {"production_item": production_item, "qty": qty,
                                               "planned_start_date": planned_start_date,
                                               "bom_no": bom_no, "docstatus": docstatus, **fields})
            self.store.tables["Work Order"][name]["status"] = status
            return name

    def add_purchase_order(self, supplier: str, items: list[tuple[str, float]] = (),
                           schedule_date: str = "2026-02-01", docstatus: int = 1,
                           status: str = "To Receive and Bill", **fields) -> str:
        rows = [r if isinstance(r, dict) else {"item_code": r[0], "qty": r[1]} for r in items]
        with self.lock:
            name = self._add("Purchase Order", {"supplier": supplier, "schedule_date": schedule_date,
                                                "items": rows, "docstatus": docstatus, **fields})
            self.store.tables["Purchase Order"][name]["status"] = status
            return name

    def _bypass(self, doctype: str, data: dict) -> str:
        store, saved = self.store, self.store._validate
        store._validate = lambda doctype, doc: None
        try:
            return self._add(doctype, data)
        finally:
            store._validate = saved

    def update(self, doctype: str, name: str, **fields) -> None:
        """Change a document behind the connector's back: no submit rules; `modified` moves."""
        with self.lock:
            doc = self.store.get(doctype, name)
            doc.update(fields)
            doc["modified"], doc["modified_by"] = self.store.stamp(), "Administrator"

    def deny(self, doctype: str, *operations: str) -> None:
        """The user loses `operations` (all when none given) on `doctype`: Frappe's PermissionError."""
        with self.lock:
            self.store.denied |= {(doctype, op) for op in operations or OPERATIONS}

    def allow(self, doctype: str, *operations: str) -> None:
        with self.lock:
            self.store.denied -= {(doctype, op) for op in operations or OPERATIONS}

    def fail_next(self, status: int = 503, count: int = 1) -> None:
        """The next `count` requests get a bare HTTP `status` (text body), nothing applied."""
        with self.lock:
            self._failures.append(_Rule(count, status=status))

    def delay_next(self, seconds: float, count: int = 1) -> None:
        with self.lock:
            self._delays.append(_Rule(count, seconds=seconds))

    def cut_after_writes(self, n: int) -> None:
        """After `n` more applied writes, apply the next one and close its connection unanswered."""
        with self.lock:
            self._cut = n

    # --- HTTP --------------------------------------------------------------------------------
    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        method, split = handler.command, urlsplit(handler.path)
        raw = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        with self.lock:
            self.calls.append((method, split.path))
            delay, failure = _take(self._delays), _take(self._failures)
        if delay:
            time.sleep(delay.seconds)
        if failure:
            reason = handler.responses.get(failure.status, ("Error",))[0].encode()
            return _send(handler, failure.status, reason, "text/plain")
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        drop = False
        with self.lock:
            snap = self.store.snapshot()
            guest = True
            try:
                guest = self._authenticate(handler.headers.get("Authorization"))
                status, body = self._answer(method, split.path, query, raw, guest)
            except FrappeError as exc:
                self.store.restore(snap)
                status, body = exc.status, _error(exc, traceback=not guest and exc.status != 404)
            except Exception as exc:  # a fake's bug, or input it did not foresee: as Frappe's 500
                self.store.restore(snap)
                status, body = 500, _error(FrappeError(type(exc).__name__, str(exc), 500, thrown=False),
                                           traceback=True, module="builtins")
            if method in WRITE_METHODS and 200 <= status < 300 and self._is_write(method, split.path):
                self.writes += 1
                if self._cut is not None:
                    drop, self._cut = self._cut == 0, None if self._cut == 0 else self._cut - 1
        if drop:
            handler.close_connection = True
            with contextlib.suppress(OSError):
                handler.connection.shutdown(socket.SHUT_RDWR)
            return None
        data = json.dumps(body, separators=(",", ":"), default=str).encode()
        return _send(handler, status, data, "application/json")

    @staticmethod
    def _is_write(method: str, path: str) -> bool:
        return path.startswith("/api/resource/") or path.rstrip("/").endswith(
            ("frappe.client.submit", "frappe.client.cancel"))

    def _authenticate(self, header: str | None) -> bool:
        """frappe.auth.validate_auth: answers True for Guest (no header)."""
        if not header:
            return True
        words = header.split(" ")
        if len(words) == 2:
            kind, token = words
            with contextlib.suppress(ValueError, UnicodeDecodeError):
                if kind.lower() == "basic":
                    token = base64.b64decode(token, validate=True).decode()
                if kind.lower() in ("token", "basic"):
                    key, secret = token.split(":")
                    if (key, secret) == (self.api_key, self.api_secret):
                        return False
        raise FrappeError("AuthenticationError", "", 401, thrown=False)

    def _answer(self, method: str, path: str, query: dict, raw: bytes, guest: bool) -> tuple[int, dict]:
        parts = [unquote(p) for p in path.strip("/").split("/")]
        if parts[:2] == ["api", "method"] and len(parts) >= 3:
            return 200, {"message": self._method(method, parts[2], query, raw, guest)}
        if parts[:2] != ["api", "resource"] or len(parts) < 3:
            raise FrappeError("DoesNotExistError", "Page not found", 404)
        doctype, name = parts[2], "/".join(parts[3:]) or None
        if guest:
            if name is None and method == "GET":
                raise permission(f"No permission for {doctype}")
            raise permission(f"Insufficient Permission for {doctype}")
        store = self.store
        if name is None and method == "GET":
            fields = json.loads(query["fields"]) if query.get("fields") else None
            length = int(query.get("limit") or query.get("limit_page_length") or 20) \
                if (query.get("limit") or query.get("limit_page_length")) != "0" else 0
            return 200, {"data": store.query(doctype, fields, query.get("filters"), query.get("order_by"),
                                             int(query.get("limit_start") or 0), length)}
        if name is None and method == "POST":
            data = _json(raw)
            data.pop("doctype", None)
            return 200, {"data": store.insert(doctype, data)}
        if name is None:
            raise FrappeError("MethodNotAllowed", "", 405, thrown=False)
        if method == "GET":
            doc = store.get(doctype, name)
            store.check(doctype, "read", name)
            return 200, {"data": doc}
        if method == "PUT":
            data = _json(raw)
            data.pop("flags", None)
            return 200, {"data": store.save(doctype, name, data)}
        if method == "DELETE":
            store.delete(doctype, name)
            return 202, {"message": "ok"}
        raise FrappeError("MethodNotAllowed", "", 405, thrown=False)

    def _method(self, method: str, cmd: str, query: dict, raw: bytes, guest: bool):
        args = dict(query)
        if raw:
            with contextlib.suppress(ValueError):
                body = json.loads(raw)
                if isinstance(body, dict):
                    args.update(body)
            if raw and not args:
                args.update({k: v[-1] for k, v in parse_qs(raw.decode()).items()})
        if cmd == "ping":
            return "pong"
        known = {"frappe.auth.get_logged_user", "frappe.client.submit", "frappe.client.cancel",
                 "frappe.utils.change_log.get_versions", "version"}
        if cmd not in known:
            raise FrappeError("ValidationError", f"Failed to get method for command {cmd} with module "
                              f"'{cmd.rsplit('.', 1)[0]}' has no attribute '{cmd.rsplit('.', 1)[-1]}'")
        if guest:
            raise FrappeError("PermissionError", "<details><summary>You are not permitted to access this "
                              "resource.</summary>Function <strong>" + cmd + "</strong> is not whitelisted."
                              "</details>", 403, title="Method Not Allowed")
        if cmd == "frappe.auth.get_logged_user":
            return self.user
        if cmd in ("version", "frappe.utils.change_log.get_versions"):
            versions = {"frappe": {"title": "Frappe Framework", "version": "15.50.0", "branch": "version-15"},
                        "erpnext": {"title": "ERPNext", "version": "15.45.0", "branch": "version-15"}}
            return versions["frappe"]["version"] if cmd == "version" else versions
        if method not in ("POST", "PUT"):
            raise FrappeError("PermissionError", "Not permitted", 403)
        if cmd == "frappe.client.cancel":
            doc = self.store.get(args.get("doctype"), args.get("name"))
            self.store.save(doc["doctype"], doc["name"], {"docstatus": 2})
            return None
        doc = args.get("doc")
        doc = json.loads(doc) if isinstance(doc, str) else doc
        if not isinstance(doc, dict) or not doc.get("doctype"):
            raise FrappeError("TypeError", "submit() missing 1 required positional argument: 'doc'", 500,
                              thrown=False)
        doctype, name = doc["doctype"], doc.get("name")
        if not name or name not in self.store.tables.get(doctype, {}):
            self.store.meta(doctype)
            return self.store.insert(doctype, {**doc, "docstatus": 1})
        return self.store.save(doctype, name, {**doc, "docstatus": 1})


def _json(raw: bytes) -> dict:
    try:
        data = json.loads(raw or b"{}")
    except ValueError as exc:
        raise FrappeError("JSONDecodeError", str(exc), 500, thrown=False) from exc
    if isinstance(data, dict) and isinstance(data.get("data"), str):
        data = json.loads(data["data"])
    if not isinstance(data, dict):
        raise FrappeError("ValidationError", "Invalid request body")
    return data


def _error(exc: FrappeError, traceback: bool, module: str = "frappe.exceptions") -> dict:
    """app.handle_exception → response.report_error, with make_logs' keys."""
    body: dict = {}
    if traceback:
        last = f"{module}.{exc.exc_type}" + (f": {exc.message}" if exc.message else "")
        trace = ("Traceback (most recent call last):\n  File \"apps/frappe/frappe/app.py\", line 114, "
                 f"in application\n    response = frappe.api.handle(request)\n{last}\n")
        body["exception"] = last
        body["exc"] = json.dumps([trace])
    body["exc_type"] = exc.exc_type
    if exc.thrown and exc.message:
        message = {"message": exc.message, **({"title": exc.title} if exc.title else {}),
                   "indicator": "red", "raise_exception": 1}
        body["_server_messages"] = json.dumps([json.dumps(message)])
    if exc.error_message:
        body["_error_message"] = exc.error_message
    return body


def _take(rules: list[_Rule]) -> _Rule | None:
    for rule in rules:
        if rule.remaining > 0:
            rule.remaining -= 1
            return rule
    return None


def _send(handler: BaseHTTPRequestHandler, status: int, data: bytes, content_type: str) -> None:
    try:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
    except OSError:
        pass  # the client gave up: as a real server would see it


__all__ = ["DATETIME_FORMAT", "DOCTYPES", "ErpNextFake", "FrappeError"]
