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


def test_another_callers_cursor_says_whose_it_is_not() -> None:
    cursor = encode_cursor(datetime(2026, 1, 1, tzinfo=UTC), 7, list_filter(owner="bob", status=None))
    with pytest.raises(ValidationFailed) as refused:
        decode_cursor(cursor, ALL)
    assert refused.value.details == [
        {"loc": ["query", "cursor"], "type": "cursor_invalid", "message": "Cursor was not issued to this caller"}
    ]


def forged(created_at: str, session_id: object) -> str:
    raw = json.dumps([created_at, session_id, dict(ALL)]).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii")


@pytest.mark.parametrize(
    ("created_at", "session_id"),
    [
        ("2026-01-01T00:00:00", 7),  # no offset: not an instant
        ("2026-01-01T00:00:00+00:00", 7.0),  # a float in range
        ("2026-01-01T00:00:00+00:00", True),  # a bool is an int to isinstance
        ("2026-01-01T00:00:00+00:00", 0),
    ],
)
def test_each_part_of_a_forged_position_is_checked_on_its_own(created_at: str, session_id: object) -> None:
    with pytest.raises(ValidationFailed):
        decode_cursor(forged(created_at, session_id), ALL)


@pytest.mark.parametrize("length", range(1, 9))
def test_cursors_carry_no_padding(length: int) -> None:
    """'=' would need percent-encoding in a query string; the cursor is sent without it."""
    cursor = encode_cursor(datetime(2026, 1, 1, tzinfo=UTC), int("9" * length), ALL)
    assert "=" not in cursor
    assert decode_cursor(cursor, ALL)[1] == int("9" * length)
