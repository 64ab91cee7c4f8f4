"""The API's OpenAPI document and Swagger UI, served next to the API on the local server only.

The document is the committed docs/openapi.json, which tests/unit/openapi keeps equal to what the
handlers generate. The page is Powertools' own Swagger UI; its script and stylesheet are the
copies Powertools ships, served at paths of their own (no CDN): ``generate_swagger_html`` puts
them into ``src``/``href``, so it needs their URLs, not their contents.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from flask import Flask, Response, request

OPENAPI_PATH = "/api/openapi.json"
DOCS_PATH = "/api/docs"
SWAGGER_JS_PATH = f"{DOCS_PATH}/swagger-ui-bundle.min.js"
SWAGGER_CSS_PATH = f"{DOCS_PATH}/swagger-ui.min.css"
_ASSETS_PACKAGE = "aws_lambda_powertools.event_handler.openapi.swagger_ui"


def register_api_docs(app: Flask, document: Path) -> None:
    def openapi_json() -> Response:
        return Response(document.read_bytes(), content_type="application/json")

    def swagger_ui() -> Response:
        # The page asks for ?format=json to show (and offer to download) the document it renders.
        if request.args.get("format") == "json":
            return openapi_json()
        from aws_lambda_powertools.event_handler.openapi.swagger_ui.html import generate_swagger_html

        page = generate_swagger_html(
            spec=document.read_text(),  # JSON is a JavaScript object literal: inlined as is
            swagger_js=SWAGGER_JS_PATH,
            swagger_css=SWAGGER_CSS_PATH,
            swagger_base_url=DOCS_PATH,  # non-empty: link the assets instead of inlining them
            oauth2_config=None,
        )
        return Response(page, content_type="text/html; charset=utf-8")

    def asset(name: str, content_type: str) -> Response:
        return Response((resources.files(_ASSETS_PACKAGE) / name).read_bytes(), content_type=content_type)

    def swagger_js() -> Response:
        return asset("swagger-ui-bundle.min.js", "text/javascript; charset=utf-8")

    def swagger_css() -> Response:
        return asset("swagger-ui.min.css", "text/css; charset=utf-8")

    # No automatic OPTIONS: like every other path, OPTIONS here is a preflight or a 404.
    for path, view in (
        (OPENAPI_PATH, openapi_json),
        (DOCS_PATH, swagger_ui),
        (SWAGGER_JS_PATH, swagger_js),
        (SWAGGER_CSS_PATH, swagger_css),
    ):
        app.add_url_rule(path, view.__name__, view, methods=["GET"], provide_automatic_options=False)
