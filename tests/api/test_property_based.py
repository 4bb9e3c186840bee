"""A property-based run of the whole API, driven from Thread's own OpenAPI schema (schemathesis)
through the WSGI app with each system's key: no generated request may end in a server error, and
every response must match the schema — status code, content type and body.

The budget here keeps the suite fast; a larger run is one variable away:
`THREAD_API_EXAMPLES=200 ./run test tests/api` (README, "API conventions")."""

from __future__ import annotations

import os
import uuid
from collections import defaultdict

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ..conftest import make_system_client

EXAMPLES = int(os.environ.get("THREAD_API_EXAMPLES", "2"))

schema = schemathesis.openapi.from_dict(
    SchemaGenerator(patterns=None).get_schema(request=None, public=True))
app = get_wsgi_application()


@pytest.fixture
def wsgi_in_the_test_transaction():
    """The WSGI app closes "old" database connections at each request's start and end; the
    test's connection holds its transaction, so (as Django's own test client does) not here."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def keys(db, units, wsgi_in_the_test_transaction):
    """A key of each kind of system; the catalog's units, so that pushes can get far."""
    return [make_system_client(kind.upper(), kind).raw_key for kind in ("plm", "erp", "mes")]


# Per operation, the kinds of system it refused with 403. The rights of a kind are checked before
# the request is read, so the operation's other generated requests (dozens of boundary and
# invalid ones) would meet the same 403: they go with the kinds that get past it. The first
# request of each operation still goes with every kind.
REFUSED: dict[str, set[int]] = defaultdict(set)


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_no_request_ends_in_a_server_error_or_off_the_schema(case, keys):
    refused = REFUSED[case.operation.label]
    for kind, key in enumerate(keys):
        if kind in refused:
            continue
        response = case.call(app=app, headers={"Authorization": f"Bearer {key}",
                                                "Idempotency-Key": uuid.uuid4().hex})
        case.validate_response(response, checks=[
            not_a_server_error, status_code_conformance, content_type_conformance,
            response_schema_conformance])
        if response.status_code == 403:
            refused.add(kind)
