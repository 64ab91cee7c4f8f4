"""A list page stays under Lambda's 6 MB synchronous response limit (issue 8, item 12).

Lambda refuses a larger response and API Gateway answers 500, so one client's big descriptions
would break listing for everyone. The page returns fewer rows and a cursor to the rest instead.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from learning_sessions.domain.schemas import PAGE_BYTE_BUDGET
from tests.support.client import LambdaApiClient
from tests.support.lambda_functions import FakeLambdaContext
from tools.http_api_events import http_api_event

ONE_MB = 1024 * 1024
LAMBDA_RESPONSE_LIMIT = 6 * ONE_MB


def create_with_description(api: LambdaApiClient, character: str, title: str) -> None:
    # The largest description a 1 MB request body holds, in this character.
    envelope = len(json.dumps({"title": title, "description": ""}, ensure_ascii=False).encode())
    in_request = len(json.dumps(character, ensure_ascii=False).encode()) - 2  # as escaped in the body
    description = character * ((ONE_MB - envelope) // in_request)
    body = json.dumps({"title": title, "description": description}, ensure_ascii=False).encode()
    assert len(body) <= ONE_MB
    assert api.post("/api/sessions/", raw_body=body.decode()).status == 201


def list_page(api: LambdaApiClient, **query: str) -> tuple[dict[str, Any], int]:
    """A page, and the size of the proxy result as the runtime may send it at worst (ensure_ascii)."""
    event = http_api_event("GET", "/api/sessions/", query=query or None)
    result = api.handlers["list_sessions"](event, FakeLambdaContext(function_name="list_sessions"))
    assert result["statusCode"] == 200, result["body"][:300]
    return json.loads(result["body"]), len(json.dumps(result).encode())


def walk(api: LambdaApiClient) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    query: dict[str, str] = {}
    while True:
        page, size = list_page(api, **query)
        assert size < LAMBDA_RESPONSE_LIMIT
        assert page["data"], "every page has at least one row"
        items.extend(page["data"])
        if page["next_cursor"] is None:
            return items
        query = {"cursor": page["next_cursor"]}


def test_six_one_megabyte_descriptions_come_in_pages_under_the_limit(api: LambdaApiClient) -> None:
    for n in range(6):
        create_with_description(api, "x", f"big {n}")
    page, size = list_page(api)
    assert size < LAMBDA_RESPONSE_LIMIT
    assert 1 <= len(page["data"]) < 6
    assert page["next_cursor"] is not None
    items = walk(api)
    assert [item["title"] for item in items] == [f"big {n}" for n in reversed(range(6))]
    assert all(len(item["description"]) > ONE_MB - 100 for item in items)


@pytest.mark.parametrize("character", ["\U0001f600", "\x1f", '"', "é"], ids=["astral", "control", "quote", "bmp"])
def test_descriptions_that_escape_at_their_worst_still_fit(api: LambdaApiClient, character: str) -> None:
    # An astral character is 4 bytes in the request and 12 (a \\u pair) in an ensure_ascii response.
    for n in range(3):
        create_with_description(api, character, f"worst {n}")
    items = walk(api)
    assert [item["title"] for item in items] == [f"worst {n}" for n in reversed(range(3))]


def test_a_page_of_small_rows_is_not_cut(api: LambdaApiClient) -> None:
    for n in range(3):
        api.create(title=f"small {n}", description="d" * 1000)
    page, _ = list_page(api, limit="3")
    assert len(page["data"]) == 3
    assert page["next_cursor"] is None


def test_the_budget_leaves_room_under_the_limit() -> None:
    assert PAGE_BYTE_BUDGET + ONE_MB < LAMBDA_RESPONSE_LIMIT
