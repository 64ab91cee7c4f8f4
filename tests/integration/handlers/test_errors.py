"""Hostile and malformed requests: always a JSON error envelope with a 4xx, never a trace; nothing stored."""

from __future__ import annotations

import json

import pytest

from tests.support.client import LambdaApiClient

ONE_MB = 1024 * 1024


def assert_error(response_body: str, code: str) -> None:
    payload = json.loads(response_body)
    assert set(payload) == {"error"}
    assert set(payload["error"]) == {"code", "message", "details"}
    assert payload["error"]["code"] == code
    assert isinstance(payload["error"]["details"], list)
    assert "Traceback" not in response_body


def assert_nothing_stored(api: LambdaApiClient) -> None:
    assert api.get("/api/sessions/").json()["data"] == []


@pytest.mark.parametrize(
    "raw",
    [
        "{",
        '{"title": "x",}',
        "[]",
        '["title"]',
        '"title"',
        "42",
        "null",
        "true",
        '{"title": "a", "title": "b"}',
        '{"title": "x", "difficulty": NaN}',
        "[" * 10_000 + "]" * 10_000,
        '{"a":' * 10_000 + "1" + "}" * 10_000,
        "",
    ],
    ids=[
        "truncated",
        "trailing-comma",
        "array",
        "array-of-str",
        "string",
        "number",
        "null",
        "true",
        "duplicate-keys",
        "nan",
        "deep-array",
        "deep-object",
        "empty",
    ],
)
def test_malformed_or_non_object_bodies_get_400(api: LambdaApiClient, raw: str) -> None:
    response = api.post("/api/sessions/", raw_body=raw)
    assert response.status == 400, response.body
    assert response.header("Content-Type") == "application/json"
    assert_error(response.body, "bad_request")
    assert_nothing_stored(api)


def test_body_over_one_megabyte_gets_413(api: LambdaApiClient) -> None:
    body = json.dumps({"title": "big", "description": "x" * ONE_MB})
    response = api.post("/api/sessions/", raw_body=body)
    assert response.status == 413
    assert_error(response.body, "payload_too_large")
    assert_nothing_stored(api)


def test_body_of_ten_megabytes_base64_gets_413(api: LambdaApiClient) -> None:
    response = api.post("/api/sessions/", raw_body=b"{" + b" " * (10 * ONE_MB) + b"}")
    assert response.status == 413
    assert_nothing_stored(api)


def test_body_just_under_the_limit_is_accepted(api: LambdaApiClient) -> None:
    envelope = json.dumps({"title": "big", "description": ""})
    body = json.dumps({"title": "big", "description": "x" * (ONE_MB - len(envelope))})
    assert len(body.encode()) == ONE_MB
    assert api.post("/api/sessions/", raw_body=body).status == 201


def test_base64_encoded_body_is_decoded(api: LambdaApiClient) -> None:
    response = api.post("/api/sessions/", {"title": "Ünïcödé ✓"}, base64_body=True)
    assert response.status == 201
    assert response.json()["data"]["title"] == "Ünïcödé ✓"


@pytest.mark.parametrize("raw", [b'{"title": "\xff\xfe"}', b'{"title": "\xc3"}'])
def test_invalid_utf8_gets_400(api: LambdaApiClient, raw: bytes) -> None:
    response = api.post("/api/sessions/", raw_body=raw)
    assert response.status == 400
    assert_error(response.body, "bad_request")
    assert_nothing_stored(api)


def test_invalid_base64_gets_400(api: LambdaApiClient) -> None:
    event_body = "not base64!"
    response = api.request("POST", "/api/sessions/", raw_body=event_body, base64_body=False, headers={})
    assert response.status == 400
    # Now the same text flagged as base64, as a broken proxy might send it.
    from tools.http_api_events import http_api_event

    event = http_api_event("POST", "/api/sessions/", body="x")
    event.update(body="@@@", isBase64Encoded=True)
    result = api.handlers["create_session"](event, api.last_context)
    assert result["statusCode"] == 400
    assert_error(result["body"], "bad_request")


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": "text/plain"},
        {"Content-Type": "application/x-www-form-urlencoded"},
        {"Content-Type": "multipart/form-data; boundary=x"},
        {"Content-Type": "application/xml"},
        {"Content-Type": "application/merge-patch+json"},
        {"Content-Encoding": "gzip"},
        {"Content-Encoding": "br"},
    ],
)
def test_wrong_content_type_or_encoding_gets_415(api: LambdaApiClient, headers: dict[str, str]) -> None:
    response = api.post("/api/sessions/", {"title": "x"}, headers=headers)
    assert response.status == 415
    assert_error(response.body, "unsupported_media_type")
    assert_nothing_stored(api)


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8", "Application/JSON"])
def test_json_media_types_are_accepted(api: LambdaApiClient, content_type: str) -> None:
    assert api.post("/api/sessions/", {"title": "x"}, headers={"Content-Type": content_type}).status == 201


def test_gzipped_body_is_not_silently_accepted(api: LambdaApiClient) -> None:
    import gzip

    raw = gzip.compress(json.dumps({"title": "x"}).encode())
    response = api.post("/api/sessions/", raw_body=raw, headers={"Content-Encoding": "gzip"})
    assert response.status == 415
    assert_nothing_stored(api)


def test_a_body_on_a_get_or_delete_is_ignored_not_refused(api: LambdaApiClient) -> None:
    # These methods take no body, so none is checked: a client library that sends one anyway still works.
    session = api.create()
    path = f"/api/sessions/{session['id']}"
    headers = {"Content-Type": "text/plain", "Content-Encoding": "gzip"}
    for method, target, status in (("GET", path, 200), ("GET", "/api/sessions/", 200), ("DELETE", path, 204)):
        assert api.request(method, target, raw_body="\xff not json", headers=headers).status == status, method


def test_numbers_as_strings_and_strings_as_numbers_are_422(api: LambdaApiClient) -> None:
    assert api.post("/api/sessions/", {"title": 12345}).status == 422
    assert api.post("/api/sessions/", {"title": "ok", "status": 1}).status == 422
    assert api.get("/api/sessions/", query={"limit": "1e1"}).status == 422
    assert_nothing_stored(api)


def test_repeated_query_keys_arrive_comma_joined_and_are_422(api: LambdaApiClient) -> None:
    # HTTP API payload 2.0 joins repeated keys with commas: limit=1&limit=2 arrives as "1,2".
    response = api.get("/api/sessions/", query={"limit": "1,2"})
    assert response.status == 422


def test_unexpected_errors_are_a_json_500_without_a_trace(
    api: LambdaApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from learning_sessions.domain import service

    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(service, "get_session", explode)
    response = api.get("/api/sessions/1")
    assert response.status == 500
    assert_error(response.body, "internal_error")
    assert "secret internals" not in response.body


def test_logs_are_json_with_the_request_id(api: LambdaApiClient) -> None:
    import io

    from learning_sessions.http.api import logger

    buffer = io.StringIO()
    previous = logger.registered_handler.setStream(buffer)  # type: ignore[attr-defined]
    level = logger.log_level
    logger.setLevel("DEBUG")  # the per-request line is DEBUG; POWERTOOLS_LOG_LEVEL=DEBUG shows it
    try:
        api.get("/api/sessions/")
    finally:
        logger.setLevel(level)
        logger.registered_handler.setStream(previous)  # type: ignore[attr-defined]
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    assert api.last_context is not None
    request_lines = [line for line in lines if line.get("function_request_id") == api.last_context.aws_request_id]
    assert request_lines, lines
    assert request_lines[-1]["status"] == 200
    assert request_lines[-1]["level"] == "DEBUG"
