"""The API's OpenAPI document and Swagger UI, served next to the API on the local server only.

The document is the committed docs/openapi.json, which tests/openapi keeps equal to what the
handlers generate; the page is Powertools' own Swagger UI, with its assets inlined, so it works
without a CDN.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from flask import Flask, Response

OPENAPI_PATH = "/api/openapi.json"
DOCS_PATH = "/api/docs"


def register_api_docs(app: Flask, document: Path) -> None:
    def openapi_json() -> Response:
        return Response(document.read_bytes(), content_type="application/json")

    def swagger_ui() -> Response:
        from aws_lambda_powertools.event_handler.openapi.swagger_ui.html import generate_swagger_html

        assets = resources.files("aws_lambda_powertools.event_handler.openapi.swagger_ui")
        page = generate_swagger_html(
            spec=document.read_text(),
            swagger_js=(assets / "swagger-ui-bundle.min.js").read_text(),
            swagger_css=(assets / "swagger-ui.min.css").read_text(),
            swagger_base_url=DOCS_PATH,
            oauth2_config=None,
        )
        return Response(page, content_type="text/html; charset=utf-8")

    app.add_url_rule(OPENAPI_PATH, "openapi_json", openapi_json, methods=["GET"])
    app.add_url_rule(DOCS_PATH, "swagger_ui", swagger_ui, methods=["GET"])
