"""What API Gateway's HTTP API does in front of Lambda, checked against the local server.

CORS (from the fixture template's CorsConfiguration, behind an Fn::If as in the real template),
request and response limits, the integration timeout, headers API Gateway never sends, and
repeated request headers.
"""

from __future__ import annotations

import http.client
import signal
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.e2e.local_api.conftest import Reply, Server, start_server

pytestmark = pytest.mark.slow

ALLOWED_ORIGIN = "https://app.example"
CLIENT_TIMEOUT_SECONDS = 1
SIX_MB = 6 * 1024 * 1024


@pytest.fixture(scope="module")
def server(module_workdir: Path) -> Iterator[Server]:
    running = start_server(
        module_workdir,
        ["--no-migrate", "--integration-timeout", "1", "--client-timeout", str(CLIENT_TIMEOUT_SECONDS)],
        {},
    )
    yield running
    assert running.stop(signal.SIGTERM) == 0


def preflight(server: Server, path: str, origin: str, method: str, headers: str | None = None) -> Reply:
    request_headers = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers is not None:
        request_headers["Access-Control-Request-Headers"] = headers
    return server.request("OPTIONS", path, headers=request_headers)


def cors_headers(reply: Reply) -> dict[str, str]:
    return {name.lower(): value for name, value in reply.headers.items() if name.lower().startswith("access-control-")}


@pytest.mark.parametrize("origin", [ALLOWED_ORIGIN, "https://docs.tools.example"])
def test_preflight_for_an_allowed_request_is_answered_from_the_configuration(server: Server, origin: str) -> None:
    reply = preflight(server, "/items", origin, "POST", "content-type, if-match")

    assert reply.status == 204
    assert reply.body == b""
    assert "Content-Type" not in reply.headers
    assert cors_headers(reply) == {
        "access-control-allow-origin": origin,
        "access-control-allow-methods": "GET,POST",
        "access-control-allow-headers": "Content-Type,If-Match",
        "access-control-max-age": "300",
    }


def test_preflight_is_answered_without_a_route_or_a_function(server: Server) -> None:
    # API Gateway answers preflights for the whole API, before routing.
    reply = preflight(server, "/no-such-route", ALLOWED_ORIGIN, "GET")

    assert reply.status == 204
    assert cors_headers(reply)["access-control-allow-origin"] == ALLOWED_ORIGIN


@pytest.mark.parametrize(
    ("origin", "method", "headers"),
    [
        ("https://evil.example", "GET", None),
        ("https://tools.example", "GET", None),  # the wildcard needs a subdomain
        (ALLOWED_ORIGIN, "DELETE", None),
        (ALLOWED_ORIGIN, "POST", "content-type, x-not-allowed"),
    ],
)
def test_refused_preflight_has_no_cors_headers(server: Server, origin: str, method: str, headers: str | None) -> None:
    reply = preflight(server, "/items", origin, method, headers)

    assert reply.status == 204
    assert cors_headers(reply) == {}


def test_options_that_is_not_a_preflight_is_an_unrouted_request(server: Server) -> None:
    reply = server.request("OPTIONS", "/items")

    assert reply.status == 404
    assert reply.json()["error"]["code"] == "not_found"


def test_response_to_an_allowed_origin_carries_origin_and_exposed_headers(server: Server) -> None:
    reply = server.request("GET", "/items", headers={"Origin": ALLOWED_ORIGIN})

    assert reply.status == 200
    assert cors_headers(reply) == {
        "access-control-allow-origin": ALLOWED_ORIGIN,
        "access-control-expose-headers": "ETag,Location",
    }


@pytest.mark.parametrize("headers", [{}, {"Origin": "https://evil.example"}])
def test_response_without_an_allowed_origin_has_no_cors_headers(server: Server, headers: dict[str, str]) -> None:
    assert cors_headers(server.request("GET", "/items", headers=headers)) == {}


def test_configured_cors_headers_replace_the_functions_own(server: Server) -> None:
    assert cors_headers(server.request("GET", "/fail/cors")) == {}
    allowed = server.request("GET", "/fail/cors", headers={"Origin": ALLOWED_ORIGIN})
    assert cors_headers(allowed)["access-control-allow-origin"] == ALLOWED_ORIGIN


@pytest.mark.parametrize("path", ["/items", "/nope", "/fail/empty"])
def test_no_server_header(server: Server, path: str) -> None:
    assert "Server" not in server.request("GET", path).headers


def test_empty_204_has_no_content_type(server: Server) -> None:
    reply = server.request("GET", "/fail/empty")

    assert reply.status == 204
    assert "Content-Type" not in reply.headers


def test_access_log_line_stays_in_werkzeugs_format(server: Server) -> None:
    server.request("GET", "/items?logged=1")

    assert '"GET /items?logged=1 HTTP/1.1" 200 -' in server.log


@pytest.mark.parametrize("length", [11_000, 70_000])
def test_too_long_url_is_a_json_414(server: Server, length: int) -> None:
    reply = server.request("GET", "/items?q=" + "x" * length)

    assert reply.status == 414
    assert reply.headers["Content-Type"] == "application/json"
    assert reply.json() == {"message": "Request-URI Too Long"}
    assert "Server" not in reply.headers


def test_too_large_headers_are_a_json_431(server: Server) -> None:
    reply = server.request("GET", "/items", headers={"X-Big": "x" * 11_000})

    assert reply.status == 431
    assert reply.json() == {"message": "Request Header Fields Too Large"}


def test_repeated_header_lines_reach_the_function_comma_joined(server: Server) -> None:
    address = urlsplit(server.base_url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=15)
    try:
        connection.putrequest("GET", "/items")
        connection.putheader("If-Match", '"a"')
        connection.putheader("If-Match", '"b"')
        connection.endheaders()
        response = connection.getresponse()
        event = Reply(response.status, dict(response.headers), response.read()).json()["event"]
    finally:
        connection.close()

    assert event["headers"]["if-match"] == '"a","b"'


def test_response_over_six_megabytes_is_api_gateways_500(server: Server) -> None:
    reply = server.request("GET", f"/fail/size?bytes={SIX_MB}")

    assert reply.status == 500
    assert reply.json() == {"message": "Internal Server Error"}
    assert "Function.ResponseSizeTooLarge" in server.log


def test_response_under_six_megabytes_is_delivered(server: Server) -> None:
    reply = server.request("GET", f"/fail/size?bytes={SIX_MB - 1024}")

    assert reply.status == 200
    assert len(reply.body) == SIX_MB - 1024


def test_function_slower_than_the_integration_timeout_is_a_503(server: Server) -> None:
    # Timeout: 5 in the template, --integration-timeout 1 on the server.
    reply = server.request("GET", "/other?sleep=3")

    assert reply.status == 503
    assert reply.json() == {"message": "Service Unavailable"}
    server.report("/other")  # and the function answers again


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes; a socket timeout here means it never closed."""
    sock.settimeout(CLIENT_TIMEOUT_SECONDS + 20)
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def test_client_that_never_finishes_its_headers_is_disconnected(server: Server) -> None:
    address = urlsplit(server.base_url)
    with socket.create_connection((address.hostname or "", address.port or 0)) as sock:
        sock.sendall(b"GET /items HTTP/1.1\r\nHost: x\r\n")

        assert read_until_closed(sock) == b""


def test_client_that_never_finishes_its_body_gets_a_408_and_is_disconnected(server: Server) -> None:
    address = urlsplit(server.base_url)
    with socket.create_connection((address.hostname or "", address.port or 0)) as sock:
        sock.sendall(
            b"POST /items HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
        )

        answer = read_until_closed(sock)

    assert answer.startswith(b"HTTP/1.1 408 ")
    assert answer.endswith(b'{"message":"Request Timeout"}')
