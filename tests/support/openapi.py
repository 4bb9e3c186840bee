"""Check an API answer against Thread's own OpenAPI schema, as a client generated from it would
read it: the documented response of that path, method and status, its content type and body
(JSON Schema, with OpenAPI 3.0's `nullable` turned into a null type)."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import jsonschema
from drf_spectacular.generators import SchemaGenerator


@cache
def openapi() -> dict:
    schema = SchemaGenerator(patterns=None).get_schema(request=None, public=True)
    return _nullable(json.loads(json.dumps(schema, default=str)))


def _nullable(node: Any) -> Any:
    if isinstance(node, list):
        return [_nullable(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _nullable(value) for key, value in node.items()}
    if node.pop("nullable", False):
        if "type" in node and not any(k in node for k in ("allOf", "oneOf", "anyOf", "$ref")):
            node["type"] = [node["type"], "null"]
            if "enum" in node:
                node["enum"] = [*node["enum"], None]
        else:
            return {"anyOf": [node, {"type": "null"}]}
    return node


def assert_documented(response, path: str, method: str = "get") -> None:
    """The response is one the schema documents for `path` (the template, e.g.
    /api/v1/flows/drift-findings/{id}/) and `method`, and its body matches it."""
    document = openapi()
    operation = document["paths"][path][method.lower()]
    answers = operation["responses"]
    documented = answers.get(str(response.status_code)) or answers.get("default")
    assert documented is not None, (f"{method.upper()} {path} answered {response.status_code}, "
                                    f"documented: {sorted(answers)}")
    content_type = response["Content-Type"].split(";")[0]
    content = documented.get("content", {})
    if not content:
        return
    assert content_type in content, f"{content_type} not among {sorted(content)}"
    body_schema = {**content[content_type]["schema"], "components": document["components"]}
    jsonschema.validate(response.json(), body_schema)
