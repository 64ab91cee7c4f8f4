"""The committed OpenAPI document matches the code, and its routes match template.yaml's."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from samtranslator.yaml_helper import yaml_parse

from tools import openapi

REPO_ROOT = Path(__file__).resolve().parents[3]


def template_routes() -> set[tuple[str, str]]:
    template = yaml_parse((REPO_ROOT / "template.yaml").read_text())
    routes = set()
    for resource in template["Resources"].values():
        for event in (resource.get("Properties", {}).get("Events") or {}).values():
            if event.get("Type") == "HttpApi":
                routes.add((event["Properties"]["Method"].upper(), event["Properties"]["Path"]))
    return routes


def document_routes(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, operations in document["paths"].items() for method in operations}


def test_committed_document_matches_the_code(generated: dict[str, Any]) -> None:
    committed = json.loads(openapi.DOCUMENT.read_text())
    assert committed == generated, "docs/openapi.json is stale: run python -m tools.openapi --write"


def test_document_routes_are_the_template_routes(generated: dict[str, Any]) -> None:
    assert document_routes(generated) == template_routes()


def test_every_operation_documents_its_statuses_and_the_error_envelope(generated: dict[str, Any]) -> None:
    expected = {
        ("GET", "/api/sessions/"): {"200", "401", "422", "503"},
        ("POST", "/api/sessions/"): {"201", "400", "401", "413", "415", "422", "503"},
        ("GET", "/api/sessions/{id}"): {"200", "401", "404", "422", "503"},
        ("PATCH", "/api/sessions/{id}"): {"200", "400", "401", "404", "412", "413", "415", "422", "503"},
        ("DELETE", "/api/sessions/{id}"): {"204", "401", "404", "412", "422", "503"},
    }
    for (method, path), statuses in expected.items():
        responses = generated["paths"][path][method.lower()]["responses"]
        assert set(responses) == statuses, (method, path)
        for status, response in responses.items():
            if int(status) >= 400 and status != "401":
                assert response["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/ErrorEnvelope"
                }
    assert generated["paths"]["/api/sessions/"]["post"]["responses"]["201"]["headers"].keys() == {"Location", "ETag"}


def test_error_envelope_schema_matches_what_is_sent(generated: dict[str, Any]) -> None:
    from jsonschema import Draft202012Validator

    from learning_sessions.domain.errors import ValidationFailed, field_error
    from learning_sessions.http.http_errors import api_error_response

    schema = {"$ref": "#/components/schemas/ErrorEnvelope", "components": generated["components"]}
    sent = api_error_response(ValidationFailed("bad", [field_error(["body", "title"], "missing", "Field required")]))
    Draft202012Validator(schema).validate(json.loads(str(sent.body)))


def test_path_parameter_names_agree(generated: dict[str, Any]) -> None:
    for method, path in template_routes():
        names = re.findall(r"{(\w+)}", path)
        parameters = generated["paths"][path][method.lower()].get("parameters", [])
        assert names == [p["name"] for p in parameters if p["in"] == "path"]


def test_every_operation_requires_a_bearer_token(generated: dict[str, Any]) -> None:
    assert generated["components"]["securitySchemes"] == {
        "bearerAuth": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": generated["components"]["securitySchemes"]["bearerAuth"]["description"],
        }
    }
    for path, operations in generated["paths"].items():
        for method, operation in operations.items():
            assert operation["security"] == [{"bearerAuth": []}], (method, path)
            unauthorized = operation["responses"]["401"]
            assert "WWW-Authenticate" in unauthorized["headers"], (method, path)
            assert unauthorized["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/UnauthorizedBody"
            }


def test_both_401_bodies_match_the_documented_schema(generated: dict[str, Any]) -> None:
    """API Gateway's own answer (deployed) and the function's envelope (invoked without claims)."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

    from learning_sessions.domain.errors import Unauthorized
    from learning_sessions.http.api import caller_of
    from learning_sessions.http.http_errors import api_error_proxy_result

    schema = {"$ref": "#/components/schemas/UnauthorizedBody", "components": generated["components"]}
    validator = Draft202012Validator(schema)
    validator.validate({"message": "Unauthorized"})
    with pytest.raises(Unauthorized) as refusal:
        caller_of({"requestContext": {}})
    sent = api_error_proxy_result(refusal.value)
    assert sent["statusCode"] == 401
    assert sent["headers"]["WWW-Authenticate"] == "Bearer"
    envelope = json.loads(sent["body"])
    assert envelope["error"]["code"] == "unauthorized"
    validator.validate(envelope)
    with pytest.raises(ValidationError):
        validator.validate({"error": "Unauthorized"})


def test_after_the_document_is_built_functions_load_as_on_lambda(generated: dict[str, Any]) -> None:
    # Building the document must not leave the rest of the process (the test suite) building responses.
    from learning_sessions.http.openapi import documented

    assert generated["paths"]
    assert documented(lambda: pytest.fail("responses built outside the document")) is None
