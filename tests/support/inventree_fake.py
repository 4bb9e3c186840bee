"""A local HTTP server that answers as InvenTree's REST API does, for testing a connector.

Followed: InvenTree master at 4a7970b61f6894a037457fd137bf4032d2223062 (2026-08-05, "1.5.0 dev",
INVENTREE_API_VERSION 530), read whole from a fork mirroring upstream master (the upstream
repository itself is too large to copy here), and master at 770f7a29 (2025-11-16, API 425) for
the older behaviour; DRF 3.17 / django-filter 26 / Django 5.2 as pinned there. Files, under
src/backend/InvenTree/: InvenTree/{api.py (InfoView, NotFoundView), api_version.py, settings.py
(REST_FRAMEWORK: LimitOffsetPagination with no PAGE_SIZE, ApiTokenAuthentication first),
exceptions.py, serializers.py (InvenTreeModelSerializer runs the model's full_clean(),
OptionalField, InvenTreeDecimalField), filters.py (InvenTreeOrderingFilter appends pk),
tasks.py (offload_task)}, users/{api.py (MeUserDetail), serializers.py, authentication.py},
part/{api.py (PartFilter, PartList, PartValidateBOM, CategoryFilter, BomFilter, BomList,
BomItemSubstituteList), serializers.py, models.py (Part.validate_unique / validate_revision /
check_add_to_bom / get_bom_hash / validate_bom, BomItem.recalculate_quantity / clean / save /
delete / get_item_hash, BomItemSubstitute), tasks.py}, build/{api.py (BuildFilter, BuildList),
serializers.py, models.py, status_codes.py}, common/{serializers.py (TaskDetailSerializer),
api.py (BackgroundTaskDetail), setting/system.py}, generic/states/fields.py.

`api_version` (default 530) selects the behaviour that changed since InvenTree 1.0 (API 391):
v432 drops Part "suppliers"; v433 BOM "substitutes" and v434 "tags" only on request, and write
answers carry every optional field; v456 drops Part "default_supplier"; v464 bom-validate
answers a background task; v469 rewords/relaxes revisions; v479 a new BOM line, or a changed
part/sub_part, re-checks the BOM; v485 BomItem "raw_amount"; v486 Part "maximum_stock"; v489
invalidating a BOM leaves its lines; v516 Part "consumable"; v519 /user/me/?roles=true.

Where the fake simplifies:
- One user, one token ("Token" auth only; "Basic" is refused as bad credentials). A read-only
  token gets DRF's 403 on every write.
- No stock, pricing, suppliers, parameters, images, projects, owners or plugins: those fields
  are answered with their empty values (0.0, null, []), as for a fresh database.
- Endpoints and methods beyond the brief (POST /api/build/, DELETE /api/part/<pk>/, category
  writes, ...) answer 501 {"detail": "Not modelled by the InvenTree fake"}; methods InvenTree
  does not allow answer its 405.
- Text ordering is Python's, not the database collation; ties go by pk (as since v460).
- Validation covers DRF's field parsing, the InvenTree rules named above and Django's decimal
  validators, not URL syntax, part units (pint) or plugins. BOM amounts take a number, with an
  optional unit that is the sub-part's own or an SI prefix of it ("200 mm" for "m").
- Background tasks (BOM validation, BOM re-checks) run at once; with `worker_running` the
  bom-validate answer still shows its task as pending, as InvenTree's first answer does.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from http.server import BaseHTTPRequestHandler
from typing import NamedTuple
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from bench.rig import LocalServer, TrackedHandler

from .inventree_fake_api import InvenTreeApi
from .inventree_fake_fields import ApiError, not_found

API_VERSION = 530
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


class Request(NamedTuple):
    method: str
    path: str
    query: dict[str, str]
    body: object  # the decoded JSON (or form) body, None when there was none


@dataclass
class _Rule:
    prefix: str
    remaining: int
    status: int = 503
    seconds: float = 0.0
    retry_after: int | None = None
    body: object = None


class _Listing(NamedTuple):  # a list answer, paginated by the server as DRF does
    rows: list
    serialize: Callable[[dict], dict]


def _positive_int(value, strict: bool = False) -> int | None:  # DRF pagination._positive_int
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return None if number < 0 or (number == 0 and strict) else number


def _with_param(url: str, key: str, value=None) -> str:  # DRF replace/remove_query_param
    scheme, netloc, path, query, fragment = urlsplit(url)
    params = parse_qs(query, keep_blank_values=True)
    params.pop(key, None)
    if value is not None:
        params[key] = [str(value)]
    return urlunsplit((scheme, netloc, path, urlencode(sorted(params.items()), doseq=True),
                       fragment))


def _paginate(listing: _Listing, q: dict, url: str):
    """LimitOffsetPagination with no PAGE_SIZE: without a valid positive limit, a plain list."""
    limit = _positive_int(q.get("limit"), strict=True)
    if limit is None:
        return [listing.serialize(r) for r in listing.rows]
    offset, count = _positive_int(q.get("offset")) or 0, len(listing.rows)
    page = [] if count == 0 or offset > count else listing.rows[offset:offset + limit]
    url = _with_param(url, "limit", limit)
    previous = None
    if offset > 0:
        previous = _with_param(url, "offset", None if offset - limit <= 0 else offset - limit)
    return {"count": count,
            "next": None if offset + limit >= count else _with_param(url, "offset", offset + limit),
            "previous": previous, "results": [listing.serialize(r) for r in page]}


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, {"detail": message}, {"WWW-Authenticate": "Token"})


class _Handler(TrackedHandler):
    def do_GET(self) -> None:
        self.server.owner.handle(self)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET


class InvenTreeFake(LocalServer):
    """InvenTree's API on a local port, with its state open to the test (see the module doc)."""

    def __init__(self, token: str = "inv-fake-token", *, read_only: bool = False,
                 api_version: int = API_VERSION, version: str = "1.5.0 dev",
                 instance: str = "InvenTree", username: str = "connector", staff: bool = False,
                 worker_running: bool = True, settings: dict | None = None,
                 today: Callable[[], date] = date.today, port: int | None = None) -> None:
        super().__init__(port)
        self.token, self.read_only, self.version, self.instance = token, read_only, version, instance
        self.api = InvenTreeApi(
            user={"pk": 1, "username": username, "first_name": "", "last_name": "", "email": "",
                  "is_staff": staff, "is_superuser": False},
            settings=settings or {}, api_version=api_version, today=today,
            worker_running=worker_running)
        self.requests: list[Request] = []
        self.statuses: list[int | None] = []  # the answer to each request; None: dropped
        self.writes = 0
        self._failures: list[_Rule] = []
        self._delays: list[_Rule] = []
        self._cut: int | None = None
        self._routes = self._route_table()

    handler = _Handler

    def __enter__(self) -> InvenTreeFake:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- state and test hooks ------------------------------------------------------------------
    categories = property(lambda self: self.api.categories)
    parts = property(lambda self: self.api.parts)
    bom_items = property(lambda self: self.api.bom_items)
    substitutes = property(lambda self: self.api.substitutes)
    builds = property(lambda self: self.api.builds)

    def add_category(self, name: str, parent: int | None = None, **fields) -> int:
        with self.lock:
            return self.api.add_category(name, parent, **fields)

    def add_part(self, name: str, **fields) -> int:
        with self.lock:
            return self.api.add_part(name, **fields)

    def add_bom_item(self, part: int, sub_part: int, quantity=1, **fields) -> int:
        with self.lock:
            return self.api.add_bom_item(part, sub_part, quantity, **fields)

    def add_build(self, part: int, quantity=1, **fields) -> int:
        with self.lock:
            return self.api.add_build(part, quantity, **_dates(fields))

    def update_build(self, pk: int, **changes) -> None:
        """Change a build as InvenTree would; completing (40) or cancelling (30) it sets its
        completion_date to today unless one is given."""
        with self.lock:
            changes = _dates(changes)
            if changes.get("status") in (30, 40) and "completion_date" not in changes:
                changes["completion_date"] = self.api.today()
            self.api.builds[pk].update(changes)

    def fail_next(self, status: int = 503, count: int = 1, paths: str = "/api/", *,
                  retry_after: int | None = None, body=None) -> None:
        """The next `count` requests under `paths` get `status` (nothing applied); `body` is
        sent as JSON, else the reason phrase as text."""
        with self.lock:
            self._failures.append(_Rule(paths, count, status, retry_after=retry_after, body=body))

    def delay_next(self, seconds: float, count: int = 1, paths: str = "/api/") -> None:
        with self.lock:
            self._delays.append(_Rule(paths, count, seconds=seconds))

    def cut_after_writes(self, n: int) -> None:
        """After `n` more successful writes, apply the next one and drop its connection."""
        with self.lock:
            self._cut = n

    # --- HTTP --------------------------------------------------------------------------------
    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        method, split = handler.command, urlsplit(handler.path)
        q = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        raw = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        body, body_error = _decode(raw, handler.headers.get("Content-Type", ""))
        with self.lock:
            self.requests.append(Request(method, split.path, q, body))
            delay, failure = _take(self._delays, split.path), _take(self._failures, split.path)
        if delay:
            time.sleep(delay.seconds)
        if failure:
            with self.lock:
                self.statuses.append(failure.status)
            return _send_failure(handler, failure)
        host = handler.headers.get("Host") or f"127.0.0.1:{self.port}"
        drop, headers = False, {}
        with self.lock:
            try:
                status, payload = self._answer(method, split.path, q, body, body_error,
                                               handler.headers.get("Authorization"),
                                               f"http://{host}{handler.path}")
                if isinstance(payload, _Listing):
                    payload = _paginate(payload, q, f"http://{host}{handler.path}")
            except ApiError as exc:
                status, payload, headers = exc.status, exc.body, exc.headers
            except Exception as exc:  # a fake's bug: answered as InvenTree's handler does
                status, payload = 500, {"error": type(exc).__name__,
                                        "error_class": str(type(exc)),
                                        "detail": "Error details can be found in the admin panel",
                                        "path": split.path, "status_code": 500}
            if method in WRITE_METHODS and 200 <= status < 300:
                self.writes += 1
                if self._cut is not None:
                    drop, self._cut = self._cut == 0, None if self._cut == 0 else self._cut - 1
            self.statuses.append(None if drop else status)
        if drop:
            handler.close_connection = True
            with contextlib.suppress(OSError):
                handler.connection.shutdown(socket.SHUT_RDWR)
            return
        compact = split.path != "/api/"  # InfoView answers with Django's JsonResponse
        data = b"" if status == 204 else json.dumps(
            payload, separators=(",", ":") if compact else None, ensure_ascii=False).encode()
        _send(handler, status, data, {"Content-Type": "application/json", **headers})

    def _answer(self, method: str, path: str, q: dict, body, body_error: ApiError | None,
                authorization: str | None, absolute: str) -> tuple[int, object]:
        """DRF's order: authenticate, resolve, permissions, method, parse the body, handle."""
        user = self._authenticate(authorization)
        if path == "/api/":
            return 200, self._info(staff=user and self.api.user["is_staff"])
        route = next(((found, methods, unmodelled) for pattern, methods, unmodelled in self._routes
                      if (found := pattern.fullmatch(path))), None)
        if route is None:  # NotFoundView
            return 404, {"detail": "API endpoint not found", "url": absolute}
        match, methods, unmodelled = route
        if not user:
            raise _unauthorized("Authentication credentials were not provided.")
        if self.read_only and method in WRITE_METHODS:
            raise ApiError(403, {"detail": "You do not have permission to perform this action."})
        if method not in methods:
            if method in unmodelled:
                raise ApiError(501, {"detail": "Not modelled by the InvenTree fake"})
            raise ApiError(405, {"detail": f'Method "{method}" not allowed.'})
        if body_error and method in WRITE_METHODS:
            raise body_error
        key = match.group(1) if match.groups() else None
        return methods[method](key, q, {} if body is None else body, method)

    def _authenticate(self, header: str | None) -> bool:
        words = (header or "").split()
        if not words or words[0].lower() not in ("token", "basic"):
            return False
        if words[0].lower() == "basic":
            raise _unauthorized("Invalid username/password.")
        if len(words) == 1:
            raise _unauthorized("Invalid token header. No credentials provided.")
        if len(words) > 2:
            raise _unauthorized("Invalid token header. Token string should not contain spaces.")
        if words[1] != self.token:
            raise _unauthorized("Invalid token.")
        return True

    def _info(self, staff: bool) -> dict:  # InvenTree/api.py InfoView
        return {"server": "InvenTree", "id": None, "version": self.version,
                "instance": self.instance, "apiVersion": self.api.api_version,
                "worker_running": self.api.worker_running, "worker_count": 1,
                "worker_pending_tasks": 0,
                "plugins_enabled": False, "plugins_install_disabled": False,
                "email_configured": False, "debug_mode": False, "docker_mode": True,
                "default_locale": "en-us",
                "customize": {"logo": "/static/img/inventree.png",
                              "splash": "/static/img/inventree_splash.jpg",
                              "login_message": None, "navbar_message": None,
                              **({"disable_theme_storage": False}
                                 if self.api.since(444) else {})},
                "active_plugins": [], "system_health": True if staff else None,
                "database": "postgresql" if staff else None,
                "platform": "Linux" if staff else None, "installer": None,
                "target": None, "django_admin": "/admin/" if staff else None,
                "settings": {"sso_registration": False, "registration_enabled": False,
                             "password_forgotten_enabled": False}}

    def _route_table(self) -> list[tuple[re.Pattern, dict[str, Callable], tuple[str, ...]]]:
        api = self.api

        def listing(rows: Callable, serialize: Callable) -> Callable:
            return lambda key, q, data, method: (200, _Listing(rows(q), lambda r: serialize(r, q)))

        def detail(table: str, model: str, serialize: Callable) -> Callable:
            return lambda key, q, data, method: (200, serialize(api.get(table, key, model), q))

        def write(action: Callable, serialize: Callable, status: int = 200) -> Callable:
            return lambda key, q, data, method: (status, serialize(action(key, data, method), q))

        def delete(action: Callable) -> Callable:
            return lambda key, q, data, method: (action(key), (204, None))[1]

        def part_out(r, q, write=False):
            return api.part_json(r, q, listing=False, write=write)

        bom_write = write(lambda k, d, m: api.update_bom_item(k, d, m == "PATCH"),
                          lambda r, q: api.bom_json(r, q, write=True))
        validate = lambda key, q, data, method: api.bom_validate(  # noqa: E731
            key, data, method == "PATCH")
        table = [
            (r"/api/user/me/", {"GET": lambda k, q, d, m: (200, api.me_json(q, self.read_only))},
             ("PUT", "PATCH")),
            (r"/api/part/category/", {"GET": listing(api.list_categories, api.category_json)},
             ("POST", "PUT", "PATCH", "DELETE")),
            (r"/api/part/category/(\d+)/",
             {"GET": detail("categories", "PartCategory", api.category_json)},
             ("PUT", "PATCH", "DELETE")),
            (r"/api/part/", {
                "GET": listing(api.list_parts, lambda r, q: api.part_json(r, q, listing=True)),
                "POST": write(lambda k, d, m: api.create_part(d), lambda r, q: api.part_json(
                    r, q, listing=True, annotated=False, write=True), 201)},
             ("PUT", "PATCH")),
            (r"/api/part/(\d+)/", {
                "GET": detail("parts", "Part", part_out),
                "PUT": write(lambda k, d, m: api.update_part(k, d, False),
                             lambda r, q: part_out(r, q, True)),
                "PATCH": write(lambda k, d, m: api.update_part(k, d, True),
                               lambda r, q: part_out(r, q, True))},
             ("DELETE",)),
            (r"/api/part/(\d+)/bom-validate/", {
                "GET": detail("parts", "Part", lambda r, q: api.bom_validation_json(r)),
                "PUT": validate, "PATCH": validate}, ()),
            (r"/api/bom/", {
                "GET": listing(api.list_bom, api.bom_json),
                "POST": write(lambda k, d, m: api.create_bom_item(d),
                              lambda r, q: api.bom_json(r, q, annotated=False, write=True), 201)},
             ("PUT", "PATCH", "DELETE")),
            (r"/api/bom/substitute/", {
                "GET": listing(api.list_substitutes, lambda r, q: api.substitute_json(r)),
                "POST": write(lambda k, d, m: api.create_substitute(d),
                              lambda r, q: api.substitute_json(r), 201)}, ()),
            (r"/api/bom/substitute/(\d+)/", {
                "GET": detail("substitutes", "BomItemSubstitute",
                              lambda r, q: api.substitute_json(r)),
                "DELETE": delete(api.delete_substitute)}, ("PUT", "PATCH")),
            (r"/api/bom/(\d+)/", {
                "GET": detail("bom_items", "BomItem", api.bom_json), "PUT": bom_write,
                "PATCH": bom_write, "DELETE": delete(api.delete_bom_item)}, ()),
            (r"/api/build/", {"GET": listing(api.list_builds,
                                             lambda r, q: api.build_json(r, q, listing=True))},
             ("POST", "DELETE")),
            (r"/api/build/(\d+)/", {"GET": detail(
                "builds", "Build", lambda r, q: api.build_json(r, q, listing=False))},
             ("PUT", "PATCH", "DELETE")),
        ]
        if api.since(464):
            table.append((r"/api/background-task/([^/]+)/",
                          {"GET": lambda key, q, data, method: api.task_json(key)}, ()))
        return [(re.compile(p), methods, unmodelled) for p, methods, unmodelled in table]


def _decode(raw: bytes, content_type: str) -> tuple[object, ApiError | None]:
    """DRF's parsers: JSON, or a urlencoded form; an empty body is no data."""
    if not raw:
        return None, None
    media = content_type.split(";")[0].strip().lower()
    if media == "application/x-www-form-urlencoded":
        return {k: v[-1] for k, v in parse_qs(raw.decode(), keep_blank_values=True).items()}, None
    if media != "application/json":
        return None, ApiError(415, {"detail": f'Unsupported media type "{content_type}" in request.'})
    try:
        return json.loads(raw), None
    except ValueError as exc:
        return None, ApiError(400, {"detail": f"JSON parse error - {exc}"})


def _dates(fields: dict) -> dict:
    return {k: date.fromisoformat(v) if k.endswith("date") and isinstance(v, str) else v
            for k, v in fields.items()}


def _take(rules: list[_Rule], path: str) -> _Rule | None:
    for rule in rules:
        if rule.remaining > 0 and path.startswith(rule.prefix):
            rule.remaining -= 1
            return rule
    return None


def _send(handler: BaseHTTPRequestHandler, status: int, data: bytes, headers: dict) -> None:
    try:
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
    except OSError:
        pass  # the client gave up: as a real server would see it


def _send_failure(handler: BaseHTTPRequestHandler, rule: _Rule) -> None:
    headers = {} if rule.retry_after is None else {"Retry-After": str(rule.retry_after)}
    if rule.body is not None:
        data, headers["Content-Type"] = json.dumps(rule.body).encode(), "application/json"
    else:
        data = handler.responses.get(rule.status, ("Error",))[0].encode()
        headers["Content-Type"] = "text/plain"
    _send(handler, rule.status, data, headers)


__all__ = ["API_VERSION", "ApiError", "InvenTreeFake", "Request", "not_found"]
