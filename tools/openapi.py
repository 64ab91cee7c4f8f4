"""Build the API's OpenAPI document from the five functions' own resolvers.

Each function has its own Powertools resolver; Powertools' OpenAPIMerge merges their documents,
and this module adds what the merge lacks (see build_document).
`python -m tools.openapi` prints it; `--write` updates docs/openapi.json; `--check`
fails when the committed copy and the code disagree.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge
from pydantic_core import to_jsonable_python

from tools.api_functions import API_FUNCTIONS

REPO_ROOT = Path(__file__).resolve().parent.parent
DOCUMENT = REPO_ROOT / "docs" / "openapi.json"
TITLE = "Learning Sessions API"
VERSION = "1.0.0"
DESCRIPTION = (
    "Learning sessions: create, list (newest first, keyset-paginated), fetch, partially update and delete. "
    'Every error the API answers is `{"error": {"code", "message", "details"}}`, except a missing or refused '
    'bearer token, which API Gateway\'s JWT authorizer answers itself: 401 `{"message": "Unauthorized"}`.'
)


def build_document() -> dict[str, Any]:
    # Importing a function creates its engine (it does not connect): any URL will do.
    os.environ.setdefault("DATABASE_URL", "sqlite://")
    sys.path.insert(0, str(REPO_ROOT / "shared"))
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer, SecurityScheme

    from learning_sessions.http.openapi import BEARER_SCHEME, SECURITY, building_the_document

    security_schemes: dict[str, SecurityScheme] = {
        BEARER_SCHEME: HTTPBearer(
            scheme="bearer",
            bearerFormat="JWT",
            description="A JWT of the stack's issuer (Cognito by default); its `sub` claim owns the sessions. "
            "Locally: `AUTH=jwt make dev` and `make -s token USER=alice`.",
        )
    }

    merge = OpenAPIMerge(
        title=TITLE,
        version=VERSION,
        description=DESCRIPTION,
        openapi_version="3.1.0",
        on_conflict="error",
        security_schemes=security_schemes,
    )
    for name in API_FUNCTIONS.values():
        # Our handlers build their resolver with create_resolver(), which discover() does not
        # recognise (it looks for a resolver class called by name), so each file is added by hand.
        merge.add_file(REPO_ROOT / "functions" / name / "app.py")
    # The merge loads the functions here: their routes then declare the responses (openapi.documented).
    with warnings.catch_warnings(), building_the_document():
        # OpenAPIMerge only warns when a handler fails to import: a document missing a function
        # must fail the build instead.
        warnings.filterwarnings("error", message="(Failed to load|OpenAPIMerge discovered)")
        # Its dict still holds enum members (parameter locations): made JSON-ready in place, keeping
        # the order. get_openapi_json_schema() would reorder keys by Powertools' OpenAPI model.
        document: dict[str, Any] = to_jsonable_python(merge.get_openapi_schema())
    # The merge always adds servers: [{"url": "/"}]; the API is served under the stage's URL.
    document.pop("servers", None)
    document["paths"] = dict(sorted(document["paths"].items()))
    document["components"]["schemas"] = dict(sorted(document["components"]["schemas"].items()))
    # Powertools' SecurityScheme models keep their unset fields (openapi_extensions: null).
    document["components"]["securitySchemes"] = {
        name: {key: value for key, value in scheme.items() if value is not None}
        for name, scheme in document["components"]["securitySchemes"].items()
    }
    for operations in document["paths"].values():
        for operation in operations.values():
            # Every route is behind the JWT authorizer (template.yaml), so every operation says so,
            # here rather than in each handler's decorator.
            operation["security"] = SECURITY
    return _without_unused_schemas(_with_integral_bounds(_without_null_parameters(document)))


def _without_null_parameters(document: dict[str, Any]) -> dict[str, Any]:
    """A header or query parameter is sent or not; `str | None = None` says optional, not "may be null".

    Left as Powertools writes it (anyOf with null), clients and fuzzers send the text "null".
    """
    for operations in document["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                schema = parameter["schema"]
                variants = [variant for variant in schema.get("anyOf", []) if variant != {"type": "null"}]
                if len(variants) == 1 and len(schema["anyOf"]) == 2:
                    del schema["anyOf"]
                    parameter["schema"] = {**variants[0], **schema}
    return document


def _with_integral_bounds(node: Any) -> Any:
    """Powertools' OpenAPI models hold numeric bounds as floats; integers read better and compare exactly."""
    if isinstance(node, dict):
        return {
            key: int(value) if isinstance(value, float) and value.is_integer() else _with_integral_bounds(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_with_integral_bounds(item) for item in node]
    return node


def _without_unused_schemas(document: dict[str, Any]) -> dict[str, Any]:
    """Drop the models Powertools registers for itself (its own 422 shapes) that no operation uses."""
    schemas = document["components"]["schemas"]
    used: set[str] = set()
    pending = [document["paths"]]
    while pending:
        text = json.dumps(pending.pop())
        for name in schemas:
            if f'"#/components/schemas/{name}"' in text and name not in used:
                used.add(name)
                pending.append(schemas[name])
    document["components"]["schemas"] = {name: schema for name, schema in schemas.items() if name in used}
    return document


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=False) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help=f"write {DOCUMENT.relative_to(REPO_ROOT)}")
    mode.add_argument("--check", action="store_true", help="fail if the committed document is out of date")
    args = parser.parse_args()
    text = render(build_document())
    if args.write:
        DOCUMENT.write_text(text)
    elif args.check:
        if not DOCUMENT.is_file() or DOCUMENT.read_text() != text:
            print(f"{DOCUMENT.relative_to(REPO_ROOT)} is out of date: run python -m tools.openapi --write")
            return 1
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
