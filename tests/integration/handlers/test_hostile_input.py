"""Hostile input (issue 8, items 4, 5, 6, 9, 11): surrogates, huge numbers, odd numerals, overflowing
cursors, media types and datetime forms. Every answer is a JSON 4xx naming what is wrong, and
nothing is stored or changed."""

from __future__ import annotations

import base64
import json
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.handlers.test_errors import assert_error, assert_nothing_stored
from tests.support.client import LambdaApiClient
from tools.http_api_events import http_api_event

HUGE = "9" * 5000  # over Python's 4,300-digit int-conversion limit
SURROGATE = "x\udfffy"


def raw_json(value: dict[str, Any]) -> str:
    # json.dumps writes a lone surrogate as the \udfff escape, as a hostile client would send it.
    return json.dumps(value)


def cursor_of(payload: str) -> str:
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


@pytest.mark.parametrize("field", ["title", "description", "difficulty"])
def test_a_lone_surrogate_in_a_string_field_is_422_on_create(api: LambdaApiClient, field: str) -> None:
    response = api.post("/api/sessions/", raw_body=raw_json({"title": "ok", field: SURROGATE}))
    assert response.status == 422, response.body
    assert_error(response.body, "validation_error")
    assert ["body", field] in [detail["loc"] for detail in response.json()["error"]["details"]]
    assert_nothing_stored(api)


@pytest.mark.parametrize("field", ["title", "description", "difficulty"])
def test_a_lone_surrogate_in_a_string_field_is_422_on_update(api: LambdaApiClient, field: str) -> None:
    created = api.create()
    response = api.patch(f"/api/sessions/{created['id']}", raw_body=raw_json({field: SURROGATE}))
    assert response.status == 422, response.body
    assert ["body", field] in [detail["loc"] for detail in response.json()["error"]["details"]]
    assert api.get(f"/api/sessions/{created['id']}").json()["data"] == created


def test_a_surrogate_pair_is_one_character_and_is_stored(api: LambdaApiClient) -> None:
    created = api.create(title="\U0001f600", description="\U0001f600" * 3, difficulty="\U0001f600")
    assert created["title"] == "\U0001f600"
    assert api.get(f"/api/sessions/{created['id']}").json()["data"]["description"] == "\U0001f600" * 3


@pytest.mark.parametrize(
    "body",
    [
        '{"title": "ok", "extra": ' + HUGE + "}",
        '{"title": ' + HUGE + "}",
        '{"title": "ok", "description": [' + HUGE + "]}",
        '{"title": "ok", "difficulty": {"a": -' + HUGE + "}}",
    ],
    ids=["unknown-field", "title", "in-array", "nested-negative"],
)
@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_an_integer_of_over_4300_digits_is_400(api: LambdaApiClient, body: str, method: str) -> None:
    created = api.create()
    path = "/api/sessions/" if method == "POST" else f"/api/sessions/{created['id']}"
    response = api.request(method, path, raw_body=body)
    assert response.status == 400, response.body
    assert_error(response.body, "bad_request")
    assert api.get("/api/sessions/").json()["data"] == [created]


@pytest.mark.parametrize(
    "query",
    [
        {"limit": "\udfff"},
        {"limit": HUGE},
        {"limit": "-" + HUGE},
        {"cursor": "\udfff"},
        {"cursor": HUGE[:200]},
        {"status": "\udfff"},
        {"status": HUGE},
    ],
    ids=[
        "limit-surrogate",
        "limit-huge",
        "limit-huge-negative",
        "cursor-surrogate",
        "cursor-digits",
        "status-surrogate",
        "status-huge",
    ],
)
def test_surrogates_and_huge_numbers_in_the_query_are_422(api: LambdaApiClient, query: dict[str, str]) -> None:
    response = api.get("/api/sessions/", query=query)
    assert response.status == 422, response.body
    assert [["query", *query]] == [detail["loc"] for detail in response.json()["error"]["details"]]


@pytest.mark.parametrize(
    "headers",
    [{"If-Match": '"\udfff"'}, {"If-Match": HUGE}, {"If-Match": "\udfff"}],
    ids=["etag-surrogate", "huge", "surrogate"],
)
def test_surrogates_and_huge_numbers_in_if_match_are_4xx(api: LambdaApiClient, headers: dict[str, str]) -> None:
    created = api.create()
    for method in ("PATCH", "DELETE"):
        body: dict[str, Any] = {"json_body": {"title": "changed"}} if method == "PATCH" else {}
        response = api.request(method, f"/api/sessions/{created['id']}", headers=headers, **body)
        assert 400 <= response.status < 500, response.body
        assert_error(response.body, response.json()["error"]["code"])
    assert api.get(f"/api/sessions/{created['id']}").json()["data"] == created


@pytest.mark.parametrize("key", ["\udfff", "k\udfffk", HUGE])
def test_surrogates_and_huge_numbers_in_idempotency_key_are_422(api: LambdaApiClient, key: str) -> None:
    response = api.post("/api/sessions/", {"title": "x"}, headers={"Idempotency-Key": key})
    assert response.status == 422, response.body
    assert response.json()["error"]["details"][0]["loc"] == ["header", "idempotency-key"]
    assert_nothing_stored(api)


@pytest.mark.parametrize(
    "payload",
    ['["0001-01-01T00:00:00+01:00",5,{"status":null}]', '["9999-12-31T23:59:59.999999-01:00",5,{"status":null}]'],
    ids=["year-0", "year-10000"],
)
def test_a_cursor_that_overflows_in_utc_is_422(api: LambdaApiClient, payload: str) -> None:
    response = api.get("/api/sessions/", query={"cursor": cursor_of(payload)})
    assert response.status == 422, response.body
    assert response.json()["error"]["details"] == [
        {"loc": ["query", "cursor"], "type": "cursor_invalid", "message": "Cursor is not one this API returned"}
    ]


def test_a_cursor_of_the_old_form_that_overflows_is_422(api: LambdaApiClient) -> None:
    # The exact cursor of the report, from before cursors carried their filter.
    response = api.get("/api/sessions/", query={"cursor": cursor_of('["0001-01-01T00:00:00+01:00",5]')})
    assert response.status == 422, response.body


def test_a_cursor_is_only_valid_under_the_filter_it_was_issued_under(api: LambdaApiClient) -> None:
    for _ in range(3):
        api.create(status="in_progress")
    cursor = api.get("/api/sessions/", query={"limit": "1", "status": "in_progress"}).json()["next_cursor"]
    assert cursor is not None
    assert api.get("/api/sessions/", query={"cursor": cursor, "status": "in_progress"}).status == 200
    for other in ({}, {"status": "completed"}, {"status": "planned"}):
        response = api.get("/api/sessions/", query={"cursor": cursor, **other})
        assert response.status == 422, (other, response.body)
        assert response.json()["error"]["details"][0]["type"] == "cursor_filter_mismatch"
    unfiltered = api.get("/api/sessions/", query={"limit": "1"}).json()["next_cursor"]
    response = api.get("/api/sessions/", query={"cursor": unfiltered, "status": "in_progress"})
    assert response.status == 422


# As API Gateway's rawPath carries them, decoded ("1\n" for 1%0A), and as some clients send them.
NOT_CANONICAL = [
    *("1_0", "1.0", "+1", "01", " 1", "1 ", "-1", "0", "00", "1e1", "0x1", "\u0661", "\uff11", "%31", "1%0A"),
    *("1\n", "\n1", "1\x00", "1#", "1;", '1"', "1\udfff"),
]


@pytest.mark.parametrize("spelling", NOT_CANONICAL)
def test_only_canonical_decimal_digits_are_ids(api: LambdaApiClient, spelling: str) -> None:
    created = api.create()
    for method in ("GET", "PATCH", "DELETE"):
        body: dict[str, Any] = {"json_body": {"title": "changed"}} if method == "PATCH" else {}
        response = api.request(method, f"/api/sessions/{spelling}", **body)
        assert response.status == 422, (method, spelling, response.body)
        assert response.json()["error"]["details"][0]["loc"] == ["path", "id"]
    assert api.get("/api/sessions/").json()["data"] == [created]


def test_one_zero_with_an_underscore_is_not_session_ten(api: LambdaApiClient) -> None:
    ids = [api.create(title=f"t{n}")["id"] for n in range(10)]
    response = api.get(f"/api/sessions/{ids[0]}_{ids[0]}")
    assert response.status == 422, response.body


@pytest.mark.parametrize("spelling", [*NOT_CANONICAL, "", HUGE])
def test_only_canonical_decimal_digits_are_limits(api: LambdaApiClient, spelling: str) -> None:
    response = api.get("/api/sessions/", query={"limit": spelling})
    assert response.status == 422, response.body
    assert response.json()["error"]["details"][0]["loc"] == ["query", "limit"]


@pytest.mark.parametrize("path_id", ["9007199254740991", "9007199254740992", "99999999999999999999999"])
def test_canonical_ids_keep_their_range_check(api: LambdaApiClient, path_id: str) -> None:
    expected = 404 if int(path_id) <= 2**53 - 1 else 422
    assert api.get(f"/api/sessions/{path_id}").status == expected


def event_without_content_type(method: str, path: str, body: str, path_id: str | None = None) -> dict[str, Any]:
    route = "/api/sessions/" if path_id is None else "/api/sessions/{id}"
    event = http_api_event(
        method, path, route=route, body=body, path_parameters=None if path_id is None else {"id": path_id}
    )
    del event["headers"]["content-type"]
    return event


def test_a_body_without_content_type_is_415(api: LambdaApiClient) -> None:
    created = api.create()
    from tests.support.lambda_functions import FakeLambdaContext

    post = event_without_content_type("POST", "/api/sessions/", '{"title": "x"}')
    result = api.handlers["create_session"](post, FakeLambdaContext())
    assert result["statusCode"] == 415, result
    assert_error(result["body"], "unsupported_media_type")
    path = f"/api/sessions/{created['id']}"
    patch = event_without_content_type("PATCH", path, '{"title": "x"}', str(created["id"]))
    result = api.handlers["update_session"](patch, FakeLambdaContext())
    assert result["statusCode"] == 415, result
    assert api.get("/api/sessions/").json()["data"] == [created]


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json; charset=utf-16",
        "application/json; charset=UTF-16LE",
        "application/json;charset=iso-8859-1",
        'application/json; charset="latin1"',
        "application/json; charset=utf8",
        "application/json; charset=",
    ],
)
def test_a_charset_other_than_utf8_is_415(api: LambdaApiClient, content_type: str) -> None:
    response = api.post("/api/sessions/", {"title": "x"}, headers={"Content-Type": content_type})
    assert response.status == 415, response.body
    assert_error(response.body, "unsupported_media_type")
    assert_nothing_stored(api)


@pytest.mark.parametrize(
    "content_type",
    ["application/json;charset=UTF-8", 'application/json; charset="utf-8"', "application/json ; Charset=Utf-8"],
)
def test_utf8_in_any_case_is_accepted(api: LambdaApiClient, content_type: str) -> None:
    assert api.post("/api/sessions/", {"title": "x"}, headers={"Content-Type": content_type}).status == 201


@pytest.mark.parametrize(
    "value",
    [
        "2025-01-01",
        "2025-W01-1",
        "2025W011",
        "2025-001",
        "20250101T100000Z",
        "2025-01-01 10:00:00Z",
        "2025-01-01T10:00Z",
        "2025-01-01T10",
        "2025-01-01T10:00:00,5Z",
        "2025-01-01T10:00:00.1234567Z",
        "2025-01-01T10:00:00.Z",
        "2025-01-01T10:00:00+01",
        "2025-01-01T10:00:00+0100",
        "2025-01-01T10:00:00+01:00:30",
        "2025-01-01T10:00:00Z\n",
        "2025-01-01T24:00:00Z",
        "2025-02-30T10:00:00Z",
        "\u0662025-01-01T10:00:00Z",
        "٢٠٢٥-01-01T10:00:00Z",
        "2025-01-01T10:00:00\udfffZ",
    ],
)
def test_only_rfc3339_date_times_are_datetimes(api: LambdaApiClient, value: str) -> None:
    response = api.post("/api/sessions/", raw_body=raw_json({"title": "x", "started_at": value}))
    assert response.status == 422, response.body
    assert response.json()["error"]["details"][0]["loc"] == ["body", "started_at"]
    assert_nothing_stored(api)


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("2025-01-01T10:00:00z", "2025-01-01T10:00:00.000000+00:00"),
        ("2025-01-01t10:00:00Z", "2025-01-01T10:00:00.000000+00:00"),
        ("2025-01-01T10:00:00.5-01:30", "2025-01-01T11:30:00.500000+00:00"),
        ("2025-01-01T10:00:00.123456+00:00", "2025-01-01T10:00:00.123456+00:00"),
        ("2025-01-01T10:00:00", "2025-01-01T10:00:00.000000+00:00"),
        ("2025-01-01T10:00:00-00:00", "2025-01-01T10:00:00.000000+00:00"),
    ],
)
def test_rfc3339_date_times_are_accepted(api: LambdaApiClient, value: str, stored: str) -> None:
    created = api.create(completed_at=value)
    assert created["completed_at"] == stored


@pytest.mark.parametrize(
    "body",
    [
        '{"title": "ok", "status": "\\udfff"}',
        '{"title": "ok", "\\udfff": 1}',
        '{"title": "ok", "started_at": "\\ud800"}',
        '{"title": "ok", "difficulty": 1' + "0" * 4400 + "}",
        '{"title": "ok", "started_at": 1e999999}',
    ],
    ids=["status", "key", "datetime", "huge-in-string-field", "huge-float"],
)
def test_other_hostile_bodies_are_4xx(api: LambdaApiClient, body: str) -> None:
    response = api.post("/api/sessions/", raw_body=body)
    assert 400 <= response.status < 500, response.body
    assert_error(response.body, response.json()["error"]["code"])
    assert_nothing_stored(api)


# Values a hostile client puts in any field: lone surrogates, huge and odd numbers, dates of
# every ISO-8601 and RFC 3339 shape, and ordinary text, mixed.
_AWKWARD_CHARACTER = st.sampled_from(["\udfff", "\ud800", "\x00", "\x1f", "\x85", "\ufeff", " ", "\U0001f600"])
_HOSTILE_TEXT = st.lists(_AWKWARD_CHARACTER | st.characters(), max_size=8).map("".join) | st.sampled_from(
    ["1_0", "+1", "01", "1.0", "2025-01-01", "2025-W01-1", "2025-001", "planned"]
)
_HOSTILE_DATETIME = st.datetimes(timezones=st.timezones() | st.none()).map(
    lambda moment: moment.isoformat()
) | st.from_regex(
    r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)?\Z"
)
_HOSTILE_VALUE: st.SearchStrategy[Any] = (
    _HOSTILE_TEXT
    | _HOSTILE_DATETIME
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.sampled_from([None, True, 1.5, [], {}, 2**63])
)
_FIELDS = ["title", "description", "status", "difficulty", "started_at", "completed_at"]
# make mutate lowers it (tools/mutate.py): the test runs once per surviving mutant there.
HOSTILE_EXAMPLES = int(os.environ.get("HOSTILE_EXAMPLES", "300"))


@given(method=st.sampled_from(["POST", "PATCH"]), field=st.sampled_from(_FIELDS), value=_HOSTILE_VALUE)
@settings(max_examples=HOSTILE_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_a_hostile_value_in_any_field_is_a_json_4xx_or_a_session_that_round_trips(
    api: LambdaApiClient, method: str, field: str, value: Any
) -> None:
    before = api.create(title="before")
    path = "/api/sessions/" if method == "POST" else f"/api/sessions/{before['id']}"
    response = api.request(method, path, raw_body=json.dumps({"title": "ok", field: value}))
    assert response.status in (200, 201, 400, 422), response.body
    if response.status >= 400:
        assert_error(response.body, response.json()["error"]["code"])
        assert api.get(f"/api/sessions/{before['id']}").json()["data"] == before
        return
    saved = response.json()["data"]
    assert api.get(f"/api/sessions/{saved['id']}").json()["data"] == saved
    if field in ("title", "description", "difficulty"):
        # As JSON reads it: a high and a low surrogate escaped side by side are one character.
        assert saved[field] == json.loads(json.dumps(value))
