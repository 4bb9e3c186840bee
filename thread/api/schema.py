"""OpenAPI details drf-spectacular cannot infer: the bearer key and the Idempotency-Key header."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter

UNSAFE_METHODS = ("POST", "PUT", "PATCH")


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "thread.flows.authentication.ApiKeyAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer",
                "description": "An external system's API key: `Authorization: Bearer <key>`."}


class ThreadAutoSchema(AutoSchema):
    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        if self.method in UNSAFE_METHODS:
            parameters.append(OpenApiParameter(
                "Idempotency-Key", str, OpenApiParameter.HEADER, required=True,
                description="Unique per request and calling system. The same key with the same "
                            "body replays the stored response; with another body: 422; while "
                            "the first request still runs: 409. (Optional for people using "
                            "their admin session.)"))
        return parameters
