"""Cursors round-trip and anything else is a clean 422, never a crash."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from learning_sessions.cursor import decode_cursor, encode_cursor
from learning_sessions.errors import ValidationFailed
from learning_sessions.schemas import MAX_ID

OWNER = "alice"


@given(moment=st.datetimes(timezones=st.just(UTC)), session_id=st.integers(min_value=1, max_value=MAX_ID))
@settings(max_examples=300, deadline=None)
def test_round_trip(moment: datetime, session_id: int) -> None:
    assert decode_cursor(encode_cursor(moment, session_id, owner=OWNER), owner=OWNER) == (moment, session_id)


def test_a_cursor_issued_to_another_owner_is_refused() -> None:
    cursor = encode_cursor(datetime(2026, 1, 1, tzinfo=UTC), 7, owner="bob")
    with pytest.raises(ValidationFailed) as refused:
        decode_cursor(cursor, owner=OWNER)
    assert refused.value.details[0]["type"] == "cursor_invalid"
    assert decode_cursor(cursor, owner="bob") == (datetime(2026, 1, 1, tzinfo=UTC), 7)


def test_a_cursor_does_not_carry_its_owner() -> None:
    import base64

    cursor = encode_cursor(datetime(2026, 1, 1, tzinfo=UTC), 7, owner="alice@example.com")
    assert b"alice" not in base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))


@given(garbage=st.text(max_size=80) | st.binary(max_size=60).map(lambda b: b.hex()))
@settings(max_examples=500, deadline=None)
def test_garbage_is_a_validation_error(garbage: str) -> None:
    try:
        moment, session_id = decode_cursor(garbage, owner=OWNER)
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
    ],
)
def test_well_formed_but_wrong_cursors_are_refused(payload: str) -> None:
    import base64

    with pytest.raises(ValidationFailed):
        decode_cursor(base64.urlsafe_b64encode(payload.encode()).decode(), owner=OWNER)
