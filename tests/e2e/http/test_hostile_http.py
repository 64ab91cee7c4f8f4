"""A subset of the hostile-input suite (tests/integration/handlers/test_hostile_inputs.py) over real HTTP.

The local server sits between the client and the handlers here: its own parsing of paths,
queries and headers must not turn a hostile request into a 5xx or an HTML page.
"""

from __future__ import annotations

import http.client
import json
from urllib.parse import quote, urlsplit

import pytest

from tests.e2e.http.conftest import Api, auth_headers, unless_throttled
from tests.integration.handlers.test_hostile_inputs import HUGE_DIGITS, forged_cursor
from tests.support.local_server import Reply
from tests.support.no_write import Dump, dump_tables

pytestmark = pytest.mark.slow

JSON = {"Content-Type": "application/json"}
CASES = [
    ("POST", "/api/sessions/", b'{"title": "x", "description": "x\\udfffy"}', JSON, 422),
    ("POST", "/api/sessions/", b'{"title": "x", "extra": ' + HUGE_DIGITS.encode() + b"}", JSON, 400),
    ("POST", "/api/sessions/", b'{"title": "x", "started_at": "2025-01-01"}', JSON, 422),
    ("POST", "/api/sessions/", b'{"title": "x"}', {"Content-Type": "application/json; charset=utf-16"}, 415),
    ("POST", "/api/sessions/", b'{"title": "x", "started_at": "2025-01-01T12:00:00z"}', JSON, 201),
    ("GET", "/api/sessions/1_0", None, {}, 422),
    ("GET", "/api/sessions/01", None, {}, 422),
    ("DELETE", "/api/sessions/%2B1", None, {}, 422),
    ("GET", "/api/sessions/?limit=1_0", None, {}, 422),
    ("GET", "/api/sessions/?limit=%EF%BC%91", None, {}, 422),  # a fullwidth 1
    ("GET", "/api/sessions/?cursor=" + quote(forged_cursor(["0001-01-01T00:00:00+01:00", 5])), None, {}, 422),
    ("GET", "/api/sessions/?status=%ED%BF%BF", None, {}, 422),  # a lone surrogate, UTF-8 encoded
]


def tables_before(api: Api) -> Dump | None:
    """The local database before a request, to compare after a refusal; a deployed stack's is out of reach."""
    return dump_tables(api.no_write_on_5xx) if api.no_write_on_5xx is not None else None


def assert_nothing_written(api: Api, before: Dump | None) -> None:
    if api.no_write_on_5xx is not None:
        assert dump_tables(api.no_write_on_5xx) == before


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "status"), CASES, ids=[str(n) for n in range(len(CASES))]
)
def test_hostile_requests_over_http(
    live_api: Api,
    created: list[str],
    method: str,
    path: str,
    body: bytes | None,
    headers: dict[str, str],
    status: int,
) -> None:
    before = tables_before(live_api)
    reply = live_api.request(method, path, body, headers)
    assert reply.status == status, reply.body
    assert reply.headers["Content-Type"] == "application/json"
    if status == 201:
        created.append(reply.headers["Location"])
    if status >= 400:
        assert list(reply.json()) == ["error"]
        assert_nothing_written(live_api, before)


def send_once_without_content_type(api: Api, body: bytes) -> Reply:
    # urllib adds a form Content-Type to any body; http.client sends exactly what it is given.
    address = urlsplit(api.base_url)
    connection_class = http.client.HTTPSConnection if address.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(address.hostname or "127.0.0.1", address.port, timeout=15)
    try:
        headers = {"Content-Length": str(len(body)), **auth_headers()}
        connection.request("POST", address.path + "/api/sessions/", body=body, headers=headers)
        response = connection.getresponse()
        return Reply(response.status, dict(response.headers), response.read())
    finally:
        connection.close()


def test_a_body_without_content_type_is_415_over_http(live_api: Api) -> None:
    before = tables_before(live_api)
    body = json.dumps({"title": "untyped"}).encode()
    reply = unless_throttled(lambda: send_once_without_content_type(live_api, body))
    assert reply.status == 415, reply.body
    assert list(reply.json()) == ["error"]
    assert_nothing_written(live_api, before)
