"""GET /api/sessions/: order, keyset pagination, status filter, and the index that serves them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, insert, text

from learning_sessions.data.tables import learning_sessions
from tests.support.client import LambdaApiClient
from tools.http_api_events import TEST_USER

BASE_TIME = datetime(2025, 11, 12, 15, 30, tzinfo=UTC)


def seed(engine: Engine, created: list[tuple[int, str]]) -> None:
    """Rows with chosen created_at offsets (seconds) and statuses; equal offsets make ties."""
    rows = [
        {
            "title": f"session {index}",
            "status": status,
            "created_at": BASE_TIME + timedelta(seconds=offset),
            "updated_at": BASE_TIME + timedelta(seconds=offset),
            "owner": TEST_USER,
        }
        for index, (offset, status) in enumerate(created)
    ]
    with engine.begin() as conn:
        conn.execute(insert(learning_sessions), rows)


def walk(api: LambdaApiClient, **query: str) -> list[dict[str, object]]:
    items: list[dict[str, object]] = []
    cursor: str | None = None
    while True:
        params = dict(query, **({"cursor": cursor} if cursor else {}))
        response = api.get("/api/sessions/", query=params)
        assert response.status == 200, response.body
        page = response.json()
        items.extend(page["data"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def expected_order(items: list[dict[str, object]]) -> list[dict[str, object]]:
    return sorted(items, key=lambda item: (item["created_at"], item["id"]), reverse=True)


def test_empty_list(api: LambdaApiClient) -> None:
    response = api.get("/api/sessions/")
    assert response.status == 200
    assert response.json() == {"data": [], "next_cursor": None}


def test_newest_first_with_id_breaking_ties(api: LambdaApiClient, clean_db: Engine) -> None:
    seed(clean_db, [(0, "planned"), (5, "planned"), (5, "completed"), (3, "planned"), (5, "planned")])
    data = api.get("/api/sessions/").json()["data"]
    assert [item["title"] for item in data] == ["session 4", "session 2", "session 1", "session 3", "session 0"]
    assert data == expected_order(data)


def test_sessions_created_through_the_api_list_newest_first(api: LambdaApiClient) -> None:
    ids = [api.create(title=f"t{n}")["id"] for n in range(3)]
    assert [item["id"] for item in api.get("/api/sessions").json()["data"]] == ids[::-1]


def test_default_page_is_50(api: LambdaApiClient, clean_db: Engine) -> None:
    seed(clean_db, [(n, "planned") for n in range(51)])
    page = api.get("/api/sessions/").json()
    assert len(page["data"]) == 50
    assert page["next_cursor"] is not None


@pytest.mark.parametrize("limit", ["1", "3", "7", "100"])
def test_pages_cover_every_row_once_in_order(api: LambdaApiClient, clean_db: Engine, limit: str) -> None:
    seed(clean_db, [(n // 3, "planned") for n in range(20)])  # many ties on created_at
    items = walk(api, limit=limit)
    assert len(items) == 20
    assert len({item["id"] for item in items}) == 20
    assert items == expected_order(items)


def test_last_full_page_has_no_cursor(api: LambdaApiClient, clean_db: Engine) -> None:
    seed(clean_db, [(n, "planned") for n in range(4)])
    page = api.get("/api/sessions/", query={"limit": "4"}).json()
    assert len(page["data"]) == 4
    assert page["next_cursor"] is None


def test_status_filter_with_pagination(api: LambdaApiClient, clean_db: Engine) -> None:
    statuses = ["planned", "in_progress", "completed"]
    seed(clean_db, [(n, statuses[n % 3]) for n in range(30)])
    items = walk(api, status="in_progress", limit="4")
    assert len(items) == 10
    assert {item["status"] for item in items} == {"in_progress"}
    assert items == expected_order(items)


@pytest.mark.parametrize(
    ("query", "location"),
    [
        ({"limit": "0"}, ["query", "limit"]),
        ({"limit": "101"}, ["query", "limit"]),
        ({"limit": "ten"}, ["query", "limit"]),
        ({"limit": "-1"}, ["query", "limit"]),
        ({"status": "archived"}, ["query", "status"]),
        ({"cursor": "not-a-cursor"}, ["query", "cursor"]),
        ({"cursor": "W10"}, ["query", "cursor"]),  # base64 of "[]"
        ({"cursor": ""}, ["query", "cursor"]),
        ({"cursor": "x" * 500}, ["query", "cursor"]),
    ],
)
def test_bad_query_gets_422(api: LambdaApiClient, query: dict[str, str], location: list[str]) -> None:
    response = api.get("/api/sessions/", query=query)
    assert response.status == 422, response.body
    assert location in [detail["loc"] for detail in response.json()["error"]["details"]]


def test_list_order_is_served_by_an_index(clean_db: Engine) -> None:
    seed(clean_db, [(n, ("planned", "completed")[n % 2]) for n in range(2000)])
    from learning_sessions.data import queries

    sent: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        sent.append((statement, parameters))

    with clean_db.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("ANALYZE learning_sessions"))
        for status in (None, "completed"):
            after = (BASE_TIME + timedelta(seconds=1000), 10**6)
            for position in (None, after):
                # The plan of the statement the product sends, as it sends it.
                event.listen(conn, "before_cursor_execute", capture)
                try:
                    queries.select_session_rows(conn, owner=TEST_USER, limit=51, status=status, after=position)
                finally:
                    event.remove(conn, "before_cursor_execute", capture)
                statement, parameters = sent[-1]
                prefix = "EXPLAIN QUERY PLAN " if conn.dialect.name == "sqlite" else "EXPLAIN "
                plan = "\n".join(str(row[-1]) for row in conn.exec_driver_sql(prefix + statement, parameters))
                assert "ix_learning_sessions_" in plan, plan
                assert "Sort" not in plan, plan
                assert "TEMP B-TREE" not in plan, plan
