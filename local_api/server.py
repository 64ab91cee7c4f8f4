"""samcli's API Gateway emulation, with HTTP API routing and error responses."""

from __future__ import annotations

import json
import logging
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from flask import Request, Response, request
from werkzeug.exceptions import NotFound
from werkzeug.serving import BaseWSGIServer, make_server

from local_api._samcli import LocalApigwService, PathConverter, Route
from local_api.authorizer import UNAUTHORIZED_BODY, UNAUTHORIZED_STATUS, Authorizer, LocalUserAuthorizer, TokenRejected
from local_api.docs import register_api_docs
from local_api.events import build_v2_event
from local_api.pool import FunctionError

LOG = logging.getLogger(__name__)


def json_response(status: int, body: dict[str, Any]) -> Response:
    return Response(json.dumps(body, separators=(",", ":")), status=status, content_type="application/json")


def route_not_found(*_: object) -> Response:
    # A real HTTP API answers {"message":"Not Found"}; this API's clients expect its error envelope.
    message = f"No route for {request.method} {request.path}"
    return json_response(404, {"error": {"code": "not_found", "message": message, "details": []}})


def function_failed(error: FunctionError) -> Response:
    # The worker has already logged the traceback, if there was one.
    LOG.error("%s failed: %s: %s", error.function_name, error.error_type, error.message)
    # What API Gateway sends for a function error: nothing about the cause.
    return json_response(502, {"message": "Internal Server Error"})


def internal_error(*_: object) -> Response:
    return json_response(500, {"message": "Internal Server Error"})


def token_rejected(error: TokenRejected) -> Response:
    response = json_response(UNAUTHORIZED_STATUS, UNAUTHORIZED_BODY)
    response.headers["www-authenticate"] = error.www_authenticate
    return response


class LocalApiService(LocalApigwService):  # type: ignore[misc]  # samcli ships no type hints
    # Set before create(): the OpenAPI document to serve at /api/openapi.json and /api/docs.
    openapi_document: Path | None = None
    # Set before serving: who the functions see as the caller (authentication off by default).
    authorizer: Authorizer = LocalUserAuthorizer()

    def create(self) -> None:
        super().create()
        if self.openapi_document is not None and self.openapi_document.is_file():
            register_api_docs(self._app, self.openapi_document)
        # samcli turns strict_slashes off so /a/ also serves /a. An HTTP API matches paths
        # exactly: that leniency sent /api/sessions/1/ to /api/sessions/{id}, and a route declared
        # only as /x/ would have answered /x too, with the wrong routeKey. Exact matching also
        # rules out werkzeug's slash-merging (/x//y) and its redirects.
        url_map = self._app.url_map
        url_map.merge_slashes = False
        for rule in url_map.iter_rules():
            rule.strict_slashes = True
            rule.merge_slashes = False
        self._app.before_request(self._reject_unrouted)

    @staticmethod
    def _reject_unrouted() -> Response | None:
        # Routing failures (404, 405 and the 308 slash redirect) surface here, before dispatch.
        # Flask never passes a redirect to error handlers, so this is the one place to catch all.
        if request.routing_exception is not None:
            return route_not_found()
        return None

    def _construct_error_handling(self) -> None:
        # Replaces samcli's handlers, which answer an unknown route with 403 "Missing
        # Authentication Token": REST API behaviour, wrong for an HTTP API and for our clients.
        self._app.register_error_handler(404, route_not_found)
        self._app.register_error_handler(405, route_not_found)
        self._app.register_error_handler(FunctionError, function_failed)
        self._app.register_error_handler(TokenRejected, token_rejected)
        self._app.register_error_handler(500, internal_error)

    def _get_current_route(self, flask_request: Request) -> Any:
        try:
            return super()._get_current_route(flask_request)
        except KeyError:
            # Flask lets HEAD into every GET rule; API Gateway does not.
            raise NotFound from None

    def _generate_lambda_event(self, flask_request: Request, route: Any, method: str, endpoint: str) -> Any:
        # Like API Gateway, the authorizer answers before the function is invoked (TokenRejected: 401).
        authorizer_context = self.authorizer.authorize(flask_request.headers.get("Authorization"))
        if route.event_type != Route.HTTP or route.payload_format_version not in (None, "2.0"):
            return super()._generate_lambda_event(flask_request, route, method, endpoint)
        path = PathConverter.convert_path_to_api_gateway(endpoint)
        route_key = self._v2_route_key(method, path, route.is_default_route)
        event = build_v2_event(
            flask_request,
            route_key=route_key,
            port=self.port,
            stage_name=self.api.stage_name,
            stage_variables=self.api.stage_variables,
        )
        event["requestContext"]["authorizer"] = authorizer_context
        return event

    # samcli's run() is not used: its SIGTERM handler raises an exception in the main thread
    # wherever that thread happens to be. Mid-accept, socketserver prints the exception as a
    # traceback and keeps serving, so the server neither stops nor stays quiet.

    def listen(self) -> BaseWSGIServer:
        """Bind the port (OSError if taken); requests are served once serve_until_signalled runs."""
        return make_server(self.host, self.port, self._app, threaded=True)

    @staticmethod
    def serve_until_signalled(server: BaseWSGIServer) -> None:
        """Serve until SIGINT or SIGTERM, then return normally."""

        def stop(_signum: int, _frame: FrameType | None) -> None:
            # shutdown() waits for serve_forever() to return, so it must not run on this thread.
            threading.Thread(target=server.shutdown, daemon=True).start()

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        server.serve_forever()  # closes the socket when it returns
