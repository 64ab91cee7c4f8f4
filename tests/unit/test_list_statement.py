"""The statement a list page runs (what the query-plan test explains) carries its position."""

from __future__ import annotations

from datetime import UTC, datetime

from learning_sessions.data.queries import list_page_statement


def test_the_position_and_filter_are_bound_into_the_statement() -> None:
    after = (datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), 42)
    params = list_page_statement(owner="alice", limit=51, status="planned", after=after).compile().params
    assert (params["owned_by"], params["limit"], params["status"], params["after_created_at"], params["after_id"]) == (
        "alice",
        51,
        "planned",
        after[0],
        42,
    )
