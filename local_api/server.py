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
from werkzeug.exceptions import ClientDisconnected, HTTPException, NotFound
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from local_api._samcli import LocalApigwService, PathConverter, Route
from local_api.authorizer import UNAUTHORIZED_BODY, UNAUTHORIZED_STATUS, Authorizer, LocalUserAuthorizer, TokenRejected
from local_api.cors import CorsConfig, is_preflight
from local_api.docs import register_api_docs
from local_api.events import build_v2_event
from local_api.pool import FunctionError, IntegrationTimeout, ResponseTooLarge

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


def http_error(error: HTTPException) -> Response:
    # Any other error werkzeug raises itself, as JSON instead of its HTML page.
    return json_response(error.code or 500, {"message": error.name})


def response_too_large(error: ResponseTooLarge) -> Response:
    # Lambda refuses the payload; API Gateway then answers a plain 500.
    LOG.error("%s failed: %s: %s", error.function_name, error.error_type, error.message)
    return internal_error()


def integration_timed_out(error: IntegrationTimeout) -> Response:
    LOG.error("%s: %s", error.function_name, error.message)
    return json_response(503, {"message": "Service Unavailable"})


def client_timed_out(_: ClientDisconnected) -> Response:
    # The body ended early: the client stopped sending (the socket timed out) or went away.
    # werkzeug would send an HTML 400; the connection is closed after this answer either way.
    response = json_response(408, {"message": "Request Timeout"})
    response.headers["Connection"] = "close"
    return response


# API Gateway's HTTP API quota: request line and header values together, in bytes.
MAX_REQUEST_HEAD_BYTES = 10240


def request_head_too_large() -> Response | None:
    environ = request.environ
    line = len(environ["REQUEST_METHOD"]) + len(environ.get("REQUEST_URI") or request.full_path) + 10
    values = sum(len(value) for _, value in request.headers.items())
    if line > MAX_REQUEST_HEAD_BYTES:
        return json_response(414, {"message": "Request-URI Too Long"})
    if line + values > MAX_REQUEST_HEAD_BYTES:
        return json_response(431, {"message": "Request Header Fields Too Large"})
    return None


class LocalRequestHandler(WSGIRequestHandler):
    """werkzeug's handler, minus what API Gateway would never send; its access log is kept."""

    def send_response(self, code: int, message: str | None = None) -> None:
        # As BaseHTTPRequestHandler's, without the `Server: Werkzeug/...` header.
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # The errors the HTTP parser raises itself (request line over 64 kB, too many headers...):
        # JSON like API Gateway's, instead of http.server's HTML page.
        reason = message or self.responses.get(code, ("Error",))[0]
        body = json.dumps({"message": reason}, separators=(",", ":")).encode()
        self.send_response(code, message)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and code not in (204, 304):
            self.wfile.write(body)
        self.close_connection = True


def _is_preflight() -> bool:
    headers = request.headers
    return is_preflight(request.method, headers.get("Origin"), headers.get("Access-Control-Request-Method"))


class LocalApiService(LocalApigwService):  # type: ignore[misc]  # samcli ships no type hints
    # Set before create(): the OpenAPI document to serve at /api/openapi.json and /api/docs.
    openapi_document: Path | None = None
    # Set before create(): the template's HttpApi CORS configuration (None: CORS is off).
    cors: CorsConfig | None = None
    # Set before listen(): seconds a client may stay silent before its connection is closed.
    client_timeout_seconds: float | None = None
    # Set before serving: who the functions see as the caller (authentication off by default).
    authorizer: Authorizer = LocalUserAuthorizer()

    def create(self) -> None:
        self._drop_samcli_cors()
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
        # In this order: API Gateway refuses an oversized request, then answers preflights
        # (for any path) before it routes.
        self._app.before_request(request_head_too_large)
        self._app.before_request(self._answer_preflight)
        self._app.before_request(self._reject_unrouted)
        self._app.after_request(self._as_api_gateway_sends)

    def _drop_samcli_cors(self) -> None:
        # samcli's CORS emulation adds OPTIONS to every route and answers it with 200 and its own
        # headers; CORS is this class's job (see local_api.cors). A route declared for ANY method
        # keeps OPTIONS; one declared for OPTIONS alone cannot be told from samcli's addition.
        self.api.cors = None
        for route in self.api.routes:
            route.cors = None
            if "OPTIONS" in route.methods and not set(Route.ANY_HTTP_METHODS) <= set(route.methods):
                route.methods.remove("OPTIONS")

    def _answer_preflight(self) -> Response | None:
        if self.cors is None or not _is_preflight():
            return None
        headers = self.cors.preflight_headers(
            request.headers.get("Origin"),
            request.headers["Access-Control-Request-Method"],
            request.headers.get("Access-Control-Request-Headers"),
        )
        # A refused preflight is still a 204, only without the headers the browser looks for.
        return Response(status=204, headers=headers)

    @staticmethod
    def _reject_unrouted() -> Response | None:
        # Routing failures (404, 405 and the 308 slash redirect) surface here, before dispatch.
        # Flask never passes a redirect to error handlers, so this is the one place to catch all.
        if request.routing_exception is not None:
            return route_not_found()
        return None

    def _as_api_gateway_sends(self, response: Response) -> Response:
        if response.status_code == 204:
            # Nothing to describe; API Gateway sends no Content-Type with an empty 204.
            response.headers.pop("Content-Type", None)
        if self.cors is not None and not _is_preflight():
            # With CORS configured, API Gateway's headers replace any the function set.
            for name in [name for name, _ in response.headers.items() if name.lower().startswith("access-control-")]:
                del response.headers[name]
            response.headers.update(self.cors.response_headers(request.headers.get("Origin")))
        return response

    def _construct_error_handling(self) -> None:
        # Replaces samcli's handlers, which answer an unknown route with 403 "Missing
        # Authentication Token": REST API behaviour, wrong for an HTTP API and for our clients.
        self._app.register_error_handler(404, route_not_found)
        self._app.register_error_handler(405, route_not_found)
        self._app.register_error_handler(FunctionError, function_failed)
        self._app.register_error_handler(TokenRejected, token_rejected)
        self._app.register_error_handler(ResponseTooLarge, response_too_large)
        self._app.register_error_handler(IntegrationTimeout, integration_timed_out)
        self._app.register_error_handler(ClientDisconnected, client_timed_out)
        self._app.register_error_handler(500, internal_error)
        self._app.register_error_handler(HTTPException, http_error)

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
        # A stalled client (headers or body never finished) is cut off instead of holding a
        # thread for ever; the timeout applies to each read, and to idle keep-alive connections.
        handler = type("TimedRequestHandler", (LocalRequestHandler,), {"timeout": self.client_timeout_seconds})
        return make_server(self.host, self.port, self._app, threaded=True, request_handler=handler)

    @staticmethod
    def serve_until_signalled(server: BaseWSGIServer) -> None:
        """Serve until SIGINT or SIGTERM, then return normally."""

        def stop(_signum: int, _frame: FrameType | None) -> None:
            # shutdown() waits for serve_forever() to return, so it must not run on this thread.
            threading.Thread(target=server.shutdown, daemon=True).start()

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        server.serve_forever()  # closes the socket when it returns
