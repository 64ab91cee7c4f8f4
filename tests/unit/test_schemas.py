"""Request parsing rules, checked directly and fuzzed with Hypothesis."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from learning_sessions.data.status import SessionStatus
from learning_sessions.domain.schemas import MAX_ID, Session, SessionCreate, SessionUpdate
from tests.support.client import SESSION_FIELDS

# ISO-8601 offsets are whole minutes, up to ±23:59.
offsets = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59).map(lambda minutes: timedelta(minutes=minutes))


@given(moment=st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)), offset=offsets)
@settings(max_examples=300, deadline=None)
def test_any_offset_is_converted_to_utc(moment: datetime, offset: timedelta) -> None:
    local = moment.replace(tzinfo=timezone(offset))
    parsed = SessionCreate.model_validate({"title": "t", "started_at": local.isoformat()}).started_at
    assert parsed is not None
    assert parsed.tzinfo is UTC
    assert parsed == local


@given(moment=st.datetimes())
@settings(max_examples=200, deadline=None)
def test_naive_times_are_taken_as_utc_and_z_is_accepted(moment: datetime) -> None:
    naive = SessionCreate.model_validate({"title": "t", "started_at": moment.isoformat()}).started_at
    zulu = SessionCreate.model_validate({"title": "t", "started_at": moment.isoformat() + "Z"}).started_at
    assert naive == zulu == moment.replace(tzinfo=UTC)


@given(value=st.one_of(st.text(max_size=40), st.integers(), st.floats(), st.booleans(), st.lists(st.integers())))
@settings(max_examples=300, deadline=None)
def test_datetime_fields_accept_iso_strings_or_refuse_cleanly(value: object) -> None:
    try:
        parsed = SessionCreate.model_validate({"title": "t", "completed_at": value}).completed_at
    except ValidationError as exc:
        assert exc.errors()[0]["loc"] == ("completed_at",)
        return
    assert isinstance(value, str)
    assert parsed is not None
    assert parsed.tzinfo is UTC


@given(title=st.text(min_size=0, max_size=260))
@settings(max_examples=400, deadline=None)
def test_titles_follow_the_length_blank_and_nul_rules(title: str) -> None:
    valid = 1 <= len(title) <= 200 and title.strip() != "" and "\x00" not in title
    try:
        SessionCreate.model_validate({"title": title})
    except ValidationError:
        assert not valid
    else:
        assert valid


@given(difficulty=st.text(max_size=60))
@settings(max_examples=200, deadline=None)
def test_difficulty_is_at_most_50_characters(difficulty: str) -> None:
    valid = len(difficulty) <= 50 and "\x00" not in difficulty
    try:
        SessionCreate.model_validate({"title": "t", "difficulty": difficulty})
    except ValidationError:
        assert not valid
    else:
        assert valid


def test_update_knows_which_fields_were_sent() -> None:
    update = SessionUpdate.model_validate({"description": None, "difficulty": "easy"})
    assert update.changes() == {"description": None, "difficulty": "easy"}
    assert SessionUpdate.model_validate({}).changes() == {}


@pytest.mark.parametrize("field", ["title", "status"])
def test_update_refuses_null_for_required_fields(field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        SessionUpdate.model_validate({field: None})
    assert raised.value.errors()[0]["loc"] == (field,)


def test_update_schema_does_not_advertise_null_title() -> None:
    schema = SessionUpdate.model_json_schema()
    assert "anyOf" not in schema["properties"]["title"]
    assert schema["properties"]["title"]["type"] == "string"
    assert "required" not in schema


def test_session_serialises_utc_with_explicit_offset() -> None:
    moment = datetime(2025, 11, 12, 15, 30, 36, 737687, tzinfo=UTC)
    session = Session(
        id=1,
        title="t",
        status=SessionStatus.PLANNED,
        description=None,
        difficulty=None,
        started_at=None,
        completed_at=None,
        created_at=moment,
        updated_at=moment,
    )
    dumped = json.loads(session.model_dump_json())
    assert dumped["created_at"] == "2025-11-12T15:30:36.737687+00:00"
    assert tuple(dumped) == SESSION_FIELDS


def test_max_id_is_exact_in_every_json_client() -> None:
    assert MAX_ID == 2**53 - 1
    assert float(MAX_ID) == MAX_ID  # doubles (JavaScript numbers) hold it exactly


@given(title=st.text(max_size=30))
@settings(max_examples=500, deadline=None)
def test_title_pattern_in_the_schema_agrees_with_the_validators(title: str) -> None:
    import re

    pattern = SessionCreate.model_json_schema()["properties"]["title"]["pattern"]
    valid_by_schema = 1 <= len(title) <= 200 and re.search(pattern, title) is not None
    try:
        SessionCreate.model_validate({"title": title})
    except ValidationError:
        assert not valid_by_schema
    else:
        assert valid_by_schema


@pytest.mark.parametrize(
    ("value", "error_type", "message"),
    [
        (123, "datetime_type", "Input should be an RFC 3339 date-time string"),
        ("nope", "datetime_parsing", "Input should be an RFC 3339 date-time, e.g. 2025-11-12T15:30:00Z"),
        ("0001-01-01T00:00:00+01:00", "datetime_range", "Datetime is out of range once converted to UTC"),
    ],
)
def test_a_bad_timestamp_is_refused_with_its_own_message(value: object, error_type: str, message: str) -> None:
    """These messages reach the client in the 422's details: they are part of the API."""
    with pytest.raises(ValidationError) as refused:
        SessionCreate.model_validate({"title": "x", "started_at": value})
    assert [(error["type"], error["msg"]) for error in refused.value.errors()] == [(error_type, message)]
