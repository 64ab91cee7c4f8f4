"""A bad cursor's exact 422, and positions in UTC whatever the process's time zone."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from learning_sessions.domain.cursor import decode_cursor, encode_cursor, list_filter
from learning_sessions.domain.errors import ValidationFailed

OWNER = "alice"
ALL = list_filter(owner=OWNER, status=None)


def test_an_invalid_cursor_is_a_422_that_names_the_query_parameter() -> None:
    with pytest.raises(ValidationFailed) as refused:
        decode_cursor("not-a-cursor", ALL)
    assert refused.value.message == "Invalid cursor"
    assert refused.value.details == [
        {"loc": ["query", "cursor"], "type": "cursor_invalid", "message": "Cursor is not one this API returned"}
    ]


def test_a_cursor_of_another_filter_says_so() -> None:
    cursor = encode_cursor(datetime(2026, 1, 1, tzinfo=UTC), 7, list_filter(owner=OWNER, status="planned"))
    with pytest.raises(ValidationFailed) as refused:
        decode_cursor(cursor, ALL)
    assert refused.value.message == "Invalid cursor"
    assert refused.value.details == [
        {
            "loc": ["query", "cursor"],
            "type": "cursor_filter_mismatch",
            "message": "Cursor was issued for a list with other filters (status)",
        }
    ]


@pytest.fixture
def process_time_zone_not_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "Asia/Kathmandu")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("process_time_zone_not_utc")
def test_a_position_is_in_utc_even_where_the_process_zone_is_not() -> None:
    offset = json.dumps(["2026-01-01T12:00:00+05:45", 7, dict(ALL)]).encode()
    cursor = base64.urlsafe_b64encode(offset).decode()
    created_at, session_id = decode_cursor(cursor, ALL)
    assert (created_at.utcoffset(), created_at.hour, session_id) == (timedelta(0), 6, 7)
