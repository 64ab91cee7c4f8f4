"""Hostile input in every field, path parameter, query parameter and header (issue 8).

Each answer must be a JSON 4xx in the error envelope with nothing stored, or a 2xx whose stored
value reads back as sent; never a 5xx. Where the contract names the answer (415 for a body
without Content-Type or with a charset other than UTF-8, 422 for ids and limits that are not
canonical decimal digits, for a bare date, for a forged cursor), the exact status is required.
The same judgement runs over real HTTP against the local server for a subset (tests/e2e/http).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.support.client import SESSION_FIELDS, ApiResponse, LambdaApiClient
from tests.support.no_write import describe_changes, dump_tables

HUGE_DIGITS = "1" + "0" * 4_400
ODD_NUMERALS = [
    "1_0",
    "1.0",
    "+1",
    "01",
    " 1",
    "1 ",
    "\u0661",
    "\uff11",
    "0x1",
    "1e1",
    "-1",
    "0",
    "",
    "1\x00",
    "\udfff",
]
STRINGS = ["x\udfffy", "\udc00\ud800", "a\x00b", "\ufeff", "é" * 200, HUGE_DIGITS]
DATETIMES_REFUSED = [
    "0001-01-01T00:00:00+01:00",  # before year 1 once in UTC
    "9999-12-31T23:59:59.999999-01:00",  # after year 9999 once in UTC
    "2025-01-01",  # a date is not a datetime
    "2025-W01-1",
    "2025-001",
    "2025-01-01T23:59:60Z",  # leap second
    "2025-01-01T12:00:00\udfffZ",
    "2025-01-01T12:00:00Z\x00",
    HUGE_DIGITS,
    "",
]
# Accepted, and then the stored instant is the one sent.
DATETIMES_ACCEPTED = [
    "2025-01-01T12:00:00z",  # RFC 3339 allows a lowercase z
    "2025-01-01t12:00:00Z",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999999Z",
    "2025-06-01T12:00:00+14:00",
    "2025-06-01T12:00:00-12:00",
]
# Either answer is right as long as it is clean: a 4xx, or a 2xx that round-trips.
DATETIMES_EITHER = ["2025-01-01T24:00:00Z", "2025-01-01T12:00Z", "2025-01-01 12:00:00Z", "2025-01-01T12:00:00,5Z"]


def parse_instant(text: str) -> datetime:
    return datetime.fromisoformat(text.upper().replace("Z", "+00:00")).astimezone(UTC)


def assert_clean(response: ApiResponse, before: Mapping[str, Any], engine: Engine) -> None:
    """A JSON 4xx in the error envelope that stored nothing, or a 2xx."""
    assert response.status < 500, response.body
    if response.status >= 400:
        payload = response.json()
        assert list(payload) == ["error"], payload
        assert set(payload["error"]) == {"code", "message", "details"}
        assert "Traceback" not in response.body
        after = dump_tables(engine)
        assert after == before, f"a {response.status} wrote:\n{describe_changes(dict(before), after)}"


def assert_round_trips(api: LambdaApiClient, response: ApiResponse, sent: Mapping[str, Any]) -> None:
    """A 2xx session answer: exactly the spec's fields, stored as sent, and every read still works."""
    data = response.json()["data"]
    assert tuple(data) == SESSION_FIELDS
    for name, value in sent.items():
        if name.endswith("_at") and value is not None:
            assert parse_instant(data[name]) == parse_instant(value), (name, data[name], value)
        else:
            assert data[name] == value, (name, data[name], value)
    fetched = api.get(f"/api/sessions/{data['id']}")
    assert fetched.status == 200, fetched.body
    assert fetched.json() == response.json()
    listed = api.get("/api/sessions/", query={"limit": "100"})
    assert listed.status == 200, listed.body
    assert response.json()["data"] in listed.json()["data"]


def send_field(api: LambdaApiClient, engine: Engine, method: str, name: str, value: Any) -> ApiResponse:
    """POST a session, or PATCH one, with ``name`` set to ``value`` (its other fields valid)."""
    body = {name: value} if method == "PATCH" or name == "title" else {"title": "hostile", name: value}
    path = f"/api/sessions/{api.create()['id']}" if method == "PATCH" else "/api/sessions/"
    before = dump_tables(engine)
    response = api.request(method, path, json_body=body)
    assert_clean(response, before, engine)
    if response.status < 400:
        assert_round_trips(api, response, body)
    return response


@pytest.mark.parametrize("method", ["POST", "PATCH"])
@pytest.mark.parametrize("name", ["title", "description", "difficulty", "status", "started_at", "completed_at"])
@pytest.mark.parametrize("value", STRINGS, ids=[f"s{i}" for i in range(len(STRINGS))])
def test_hostile_strings_in_every_field(
    api: LambdaApiClient, clean_db: Engine, method: str, name: str, value: str
) -> None:
    send_field(api, clean_db, method, name, value)


@pytest.mark.parametrize("method", ["POST", "PATCH"])
@pytest.mark.parametrize("name", ["title", "description", "difficulty", "status", "started_at", "completed_at"])
@pytest.mark.parametrize("value", [0, 10**30, 1.5, True, ["x"], {"a": "b"}])
def test_wrong_types_in_every_field(api: LambdaApiClient, clean_db: Engine, method: str, name: str, value: Any) -> None:
    assert 400 <= send_field(api, clean_db, method, name, value).status < 500


@pytest.mark.parametrize("method", ["POST", "PATCH"])
@pytest.mark.parametrize("name", ["started_at", "completed_at"])
@pytest.mark.parametrize("value", DATETIMES_REFUSED, ids=[f"d{i}" for i in range(len(DATETIMES_REFUSED))])
def test_datetimes_that_are_not_rfc3339_instants_are_422(
    api: LambdaApiClient, clean_db: Engine, method: str, name: str, value: str
) -> None:
    assert send_field(api, clean_db, method, name, value).status == 422


@pytest.mark.parametrize("method", ["POST", "PATCH"])
@pytest.mark.parametrize("name", ["started_at", "completed_at"])
@pytest.mark.parametrize("value", DATETIMES_ACCEPTED)
def test_rfc3339_datetimes_round_trip(
    api: LambdaApiClient, clean_db: Engine, method: str, name: str, value: str
) -> None:
    assert send_field(api, clean_db, method, name, value).status in (200, 201)


@pytest.mark.parametrize("value", DATETIMES_EITHER)
def test_borderline_datetimes_are_clean_either_way(api: LambdaApiClient, clean_db: Engine, value: str) -> None:
    send_field(api, clean_db, "POST", "started_at", value)


@pytest.mark.parametrize(
    ("started_at", "completed_at", "status"),
    [
        # 10:00+05:00 is 05:00 UTC, before 06:00 UTC: in order although its wall clock is later.
        ("2025-01-01T10:00:00+05:00", "2025-01-01T06:00:00+00:00", 201),
        ("2025-01-01T06:00:00+00:00", "2025-01-01T10:00:00+05:00", 422),
        # 12:00Z, then 09:00Z: out of order although the second wall clock is later.
        ("2025-01-01T00:00:00-12:00", "2025-01-01T23:00:00+14:00", 422),
        ("2025-01-01T12:00:00z", "2025-01-01T12:00:00+00:00", 201),
    ],
)
def test_mixed_offsets_are_compared_as_instants(
    api: LambdaApiClient, clean_db: Engine, started_at: str, completed_at: str, status: int
) -> None:
    expected = 422 if parse_instant(completed_at) < parse_instant(started_at) else 201
    assert expected == status
    body = {"title": "offsets", "started_at": started_at, "completed_at": completed_at}
    before = dump_tables(clean_db)
    response = api.post("/api/sessions/", body)
    assert_clean(response, before, clean_db)
    assert response.status == status, response.body
    if status == 201:
        assert_round_trips(api, response, body)


RAW_BODIES = {
    "huge integer in title": '{"title": ' + HUGE_DIGITS + "}",
    "huge integer in a timestamp": '{"title": "x", "started_at": ' + HUGE_DIGITS + "}",
    "huge integer in an unknown field": '{"title": "x", "extra": ' + HUGE_DIGITS + "}",
    "huge negative integer nested": '{"title": "x", "extra": [[{"a": -' + HUGE_DIGITS + "}]]}",
    "huge integer alone": HUGE_DIGITS,
    "huge exponent": '{"title": "x", "difficulty": 1e999999}',
    "infinity": '{"title": "x", "difficulty": Infinity}',
    "deep arrays": "[" * 100_000 + "]" * 100_000,
    "deep objects": '{"a":' * 50_000 + "1" + "}" * 50_000,
    "deep inside a field": '{"title": "x", "description": ' + "[" * 50_000 + "]" * 50_000 + "}",
    "duplicate keys": '{"title": "a", "title": "b"}',
    "duplicate keys nested": '{"title": "a", "extra": {"k": 1, "k": 2}}',
    "escaped surrogate pair halves": '{"title": "x", "description": "\\udfff\\ud800"}',
    "escaped NUL": '{"title": "x\\u0000"}',
    "a bom": '\ufeff{"title": "x"}',
    "trailing garbage": '{"title": "x"} x',
    "two documents": '{"title": "x"}{"title": "y"}',
    "empty": " ",
    "many keys": "{" + ",".join(f'"k{n}": {n}' for n in range(100_000)) + "}",
    "a long title": json.dumps({"title": "t" * 100_000}),
}


@pytest.mark.parametrize("method", ["POST", "PATCH"])
@pytest.mark.parametrize("raw", RAW_BODIES.values(), ids=RAW_BODIES.keys())
def test_hostile_json_is_a_clean_4xx(api: LambdaApiClient, clean_db: Engine, method: str, raw: str) -> None:
    path = f"/api/sessions/{api.create()['id']}" if method == "PATCH" else "/api/sessions/"
    before = dump_tables(clean_db)
    response = api.request(method, path, raw_body=raw)
    assert_clean(response, before, clean_db)
    assert 400 <= response.status < 500, response.body


def test_a_huge_integer_is_400_as_any_unreadable_json(api: LambdaApiClient) -> None:
    assert api.post("/api/sessions/", raw_body=RAW_BODIES["huge integer in an unknown field"]).status == 400


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Content-Type": None}, 415),
        ({"Content-Type": "application/json; charset=utf-16"}, 415),
        ({"Content-Type": "application/json; charset=latin-1"}, 415),
        ({"Content-Type": "application/json; charset=\udfff"}, 415),
        ({"Content-Type": "text/plain"}, 415),
        ({"Content-Type": "application/json\x00"}, 415),
        ({"Content-Type": "application/json; charset=utf-8"}, 201),
        ({"Content-Type": "application/json; charset=UTF-8"}, 201),
        ({"Content-Type": "Application/JSON"}, 201),
    ],
)
def test_media_types(api: LambdaApiClient, clean_db: Engine, headers: dict[str, str | None], status: int) -> None:
    before = dump_tables(clean_db)
    response = api.post("/api/sessions/", {"title": "typed"}, headers=headers)
    assert_clean(response, before, clean_db)
    assert response.status == status, response.body


# (Not "": API Gateway routes /api/sessions/ to the collection.)
PATH_IDS = [numeral for numeral in ODD_NUMERALS if numeral] + [HUGE_DIGITS, "%31", "1;", "1\t"]


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
@pytest.mark.parametrize("raw_id", PATH_IDS, ids=lambda raw: repr(raw)[:20])
def test_path_ids_are_canonical_decimal_digits_or_422(
    api: LambdaApiClient, clean_db: Engine, method: str, raw_id: str
) -> None:
    before = dump_tables(clean_db)
    kwargs: dict[str, Any] = {"json_body": {"title": "x"}} if method == "PATCH" else {}
    response = api.request(method, f"/api/sessions/{raw_id}", **kwargs)
    assert_clean(response, before, clean_db)
    assert response.status == 422, (raw_id, response.body)


@pytest.mark.parametrize("limit", [*ODD_NUMERALS, HUGE_DIGITS, "101", "1,2"], ids=lambda raw: repr(raw)[:20])
def test_limit_is_canonical_decimal_digits_or_422(api: LambdaApiClient, limit: str) -> None:
    response = api.get("/api/sessions/", query={"limit": limit})
    assert response.status == 422, (limit, response.body)
    assert list(response.json()) == ["error"]


def forged_cursor(payload: object) -> str:
    raw = payload if isinstance(payload, str) else json.dumps(payload)
    return base64.urlsafe_b64encode(raw.encode("utf-8", "surrogatepass")).rstrip(b"=").decode()


CURSORS = [
    forged_cursor(["0001-01-01T00:00:00+01:00", 5]),  # overflows when converted to UTC
    forged_cursor(["9999-12-31T23:59:59.999999-01:00", 5]),
    forged_cursor('["2025-01-01T00:00:00+00:00", ' + HUGE_DIGITS + "]"),
    forged_cursor(["2025-01-01T00:00:00+00:00", 1.5]),
    forged_cursor(["2025-01-01", 1]),
    forged_cursor(["2025-01-01T00:00:00\udfff+00:00", 1]),
    forged_cursor({"a": 1}),
    forged_cursor(None),
    "\udfff",
    "a\x00b",
    "=",
    "!!!!",
    HUGE_DIGITS[:199],
]


@pytest.mark.parametrize("cursor", CURSORS, ids=[f"c{i}" for i in range(len(CURSORS))])
@pytest.mark.parametrize("status", [None, "planned"])
def test_forged_cursors_are_422(api: LambdaApiClient, cursor: str, status: str | None) -> None:
    api.create()
    response = api.get("/api/sessions/", query={"cursor": cursor, **({"status": status} if status else {})})
    assert response.status == 422, response.body
    assert list(response.json()) == ["error"]


def test_a_cursor_is_valid_only_under_its_filter(api: LambdaApiClient) -> None:
    for _ in range(3):
        api.create(status="planned")
    cursor = api.get("/api/sessions/", query={"limit": "1", "status": "planned"}).json()["next_cursor"]
    assert cursor is not None
    assert api.get("/api/sessions/", query={"limit": "1", "status": "planned", "cursor": cursor}).status == 200
    for other in ({}, {"status": "completed"}):
        response = api.get("/api/sessions/", query={"limit": "1", "cursor": cursor, **other})
        assert response.status == 422, (other, response.body)


@pytest.mark.parametrize("value", ["\udfff", "planned\x00", "PLANNED", " planned", "", HUGE_DIGITS])
def test_status_filter_is_an_exact_status_or_422(api: LambdaApiClient, value: str) -> None:
    response = api.get("/api/sessions/", query={"status": value})
    assert response.status == 422, response.body


@pytest.mark.parametrize("header", ["If-Match", "Idempotency-Key"])
@pytest.mark.parametrize(
    "value", ['"\udfff"', "\udfff", '"1.1\x00"', "\x00", HUGE_DIGITS, '"' + HUGE_DIGITS + '"', "é"]
)
@pytest.mark.parametrize("method", ["POST", "PATCH", "DELETE"])
def test_hostile_headers(api: LambdaApiClient, clean_db: Engine, header: str, value: str, method: str) -> None:
    session = api.create()
    path = "/api/sessions/" if method == "POST" else f"/api/sessions/{session['id']}"
    kwargs: dict[str, Any] = {"json_body": {"title": "headers"}} if method != "DELETE" else {}
    before = dump_tables(clean_db)
    response = api.request(method, path, headers={header: value}, **kwargs)
    assert_clean(response, before, clean_db)
    if response.status < 300 and method != "DELETE":
        assert_round_trips(api, response, {"title": "headers"})


@pytest.mark.parametrize("value", ["\udfff", "\x00", HUGE_DIGITS, "x" * 10_000])
@pytest.mark.parametrize("name", ["Content-Type", "Accept", "X-Anything", "Content-Encoding"])
def test_any_header_is_clean(api: LambdaApiClient, clean_db: Engine, name: str, value: str) -> None:
    before = dump_tables(clean_db)
    response = api.post("/api/sessions/", {"title": "any header"}, headers={name: value})
    assert_clean(response, before, clean_db)
