"""Cursors round-trip and anything else is a clean 422, never a crash."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from learning_sessions.domain.cursor import decode_cursor, encode_cursor, list_filter
from learning_sessions.domain.errors import ValidationFailed
from learning_sessions.domain.schemas import MAX_ID

OWNER = "alice"
ALL = list_filter(owner=OWNER, status=None)


@given(moment=st.datetimes(timezones=st.just(UTC)), session_id=st.integers(min_value=1, max_value=MAX_ID))
@settings(max_examples=300, deadline=None)
def test_round_trip(moment: datetime, session_id: int) -> None:
    assert decode_cursor(encode_cursor(moment, session_id, ALL), ALL) == (moment, session_id)


def test_a_cursor_issued_to_another_owner_is_refused() -> None:
    cursor = encode_cursor(datetime(2026, 1, 1, tzinfo=UTC), 7, list_filter(owner="bob", status=None))
    with pytest.raises(ValidationFailed) as refused:
        decode_cursor(cursor, ALL)
    assert refused.value.details[0]["type"] == "cursor_invalid"
    assert decode_cursor(cursor, list_filter(owner="bob", status=None)) == (datetime(2026, 1, 1, tzinfo=UTC), 7)


def test_a_cursor_does_not_carry_its_owner() -> None:
    import base64

    cursor = encode_cursor(datetime(2026, 1, 1, tzinfo=UTC), 7, list_filter(owner="alice@example.com", status=None))
    assert b"alice" not in base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))


@given(garbage=st.text(max_size=80) | st.binary(max_size=60).map(lambda b: b.hex()))
@settings(max_examples=500, deadline=None)
def test_garbage_is_a_validation_error(garbage: str) -> None:
    try:
        moment, session_id = decode_cursor(garbage, ALL)
    except ValidationFailed as exc:
        assert exc.details[0]["loc"] == ["query", "cursor"]
    else:
        assert moment.tzinfo is not None
        assert 1 <= session_id <= MAX_ID


@pytest.mark.parametrize(
    "payload",
    [
        '["2025-01-01T00:00:00+00:00", 0]',
        '["2025-01-01T00:00:00", 1]',
        '["x", 1]',
        "[1, 2, 3]",
        '{"a": 1}',
        '["2025-01-01T00:00:00+00:00", true]',
        '["2025-01-01T00:00:00+00:00", 9223372036854775808]',
        '["2025-01-01T00:00:00+00:00", 1]',  # issued before cursors carried their filter
        '["2025-01-01T00:00:00+00:00", 1, {}]',
        # Valid until converted to UTC: year 0 or 10000 (these were a 500).
        '["0001-01-01T00:00:00+01:00", 5, {"status": null}]',
        '["9999-12-31T23:59:59.999999-00:01", 5, {"status": null}]',
    ],
)
def test_well_formed_but_wrong_cursors_are_refused(payload: str) -> None:
    import base64

    with pytest.raises(ValidationFailed):
        decode_cursor(base64.urlsafe_b64encode(payload.encode()).decode(), ALL)


def test_a_cursor_holds_only_under_the_filter_it_was_issued_under() -> None:
    moment = datetime(2025, 1, 1, tzinfo=UTC)
    in_progress = list_filter(owner=OWNER, status="in_progress")
    cursor = encode_cursor(moment, 7, in_progress)
    assert decode_cursor(cursor, list_filter(owner=OWNER, status="in_progress")) == (moment, 7)
    for other in (
        ALL,
        list_filter(owner=OWNER, status="completed"),
        {**list_filter(owner=OWNER, status="in_progress"), "extra": "x"},
    ):
        with pytest.raises(ValidationFailed) as refused:
            decode_cursor(cursor, other)
        assert refused.value.details[0]["type"] == "cursor_filter_mismatch"


def test_a_cursor_in_another_offset_is_read_as_utc() -> None:
    import base64

    payload = b'["2025-01-01T01:00:00+01:00", 3, ' + json.dumps(dict(ALL)).encode() + b"]"
    moment, _ = decode_cursor(base64.urlsafe_b64encode(payload).decode(), ALL)
    assert moment == datetime(2025, 1, 1, tzinfo=UTC)
    assert moment.tzinfo == UTC
