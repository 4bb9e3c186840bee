"""OpenAPI details drf-spectacular cannot infer: the bearer key, the Idempotency-Key header, and
the problem-details answers every operation may give (so a generated client gets typed
problems, not `None`)."""

from django.core.exceptions import FieldDoesNotExist
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

UNSAFE_METHODS = ("POST", "PUT", "PATCH")
# The inbox's rule for keys (thread.flows.idempotency): printable ASCII, no spaces, 1-255.
IDEMPOTENCY_KEY_SCHEMA = {"type": "string", "minLength": 1, "maxLength": 255,
                          "pattern": "^[!-~]+$", "example": "7f3c2a9e-0b1d-4c55-9a61-2f0e8d4b6c10"}

PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details; `type` is documented at /problems/.",
    "properties": {
        "type": {"type": "string", "example": "/problems/validation-error"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {"type": "array", "items": {
            "type": "object", "required": ["pointer", "code", "detail"],
            "properties": {"pointer": {"type": "string", "example": "/lines/17/quantity"},
                           "code": {"type": "string"}, "detail": {"type": "string"}}}},
    },
    "required": ["type", "title", "status", "detail"],
}
PROBLEMS = {
    "400": "Bad input: malformed body, validation, or an invalid query parameter.",
    "401": "No, unknown, revoked or expired key.",
    "403": "This caller may not do this.",
    "404": "No such resource (or no object the query names).",
    "409": "Conflicts with the current state (or the Idempotency-Key is still in use).",
    "413": "The body exceeds the endpoint's limit.",
    "415": "The body is not JSON.",
    "422": "The Idempotency-Key was used before for another body.",
}


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "thread.flows.authentication.ApiKeyAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer",
                "description": "An external system's API key: `Authorization: Bearer <key>`."}


class ThreadAutoSchema(AutoSchema):
    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if isinstance(field, serializers.SlugRelatedField) and _nullable_model_field(field):
            # a person named by username, where nobody may be named (a system's push, a field
            # not set yet): say so, and not the username's own form help
            schema = {**schema, "nullable": True, "description": "Username, if any."}
        return schema

    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        if self.method in UNSAFE_METHODS:
            parameters.append(OpenApiParameter(
                "Idempotency-Key", IDEMPOTENCY_KEY_SCHEMA, OpenApiParameter.HEADER, required=True,
                description="Unique per request and calling system. The same key with the same "
                            "body replays the stored response; with another body: 422; while "
                            "the first request still runs: 409. (Optional for people using "
                            "their admin session.)"))
        return parameters


def add_problem_responses(result, generator, request, public):
    """Postprocessing hook: every operation documents the problems it may answer with."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    problem = {"content": {"application/problem+json": {
        "schema": {"$ref": "#/components/schemas/Problem"}}}}
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if method.upper() not in ("GET", "POST", "PUT", "PATCH", "DELETE"):
                continue
            # 404 everywhere: a path's id, or an object a query names, may not exist
            codes = ["400", "401", "403", "404"]
            if method.upper() in UNSAFE_METHODS:
                codes += ["409", "413", "415", "422"]
            responses = operation.setdefault("responses", {})
            for code in codes:
                responses.setdefault(code, {"description": PROBLEMS[code], **problem})
    return result


def _nullable_model_field(field) -> bool:
    model = getattr(getattr(field.parent, "Meta", None), "model", None)
    if model is None or not field.source or "." in field.source:
        return field.allow_null
    try:
        return model._meta.get_field(field.source).null
    except FieldDoesNotExist:  # a source that is no model field (a property): as it says
        return field.allow_null
