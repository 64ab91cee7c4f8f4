"""Sessions read from our own database, written as the API's JSON without being validated again.

A row of the learning_sessions table already holds only what Session allows (its columns' types,
NOT NULLs and the status CHECK), so validating it into a model only to dump it again cost most of
a response: Session.model_validate and model_dump_json take two to three times as long as writing the
JSON here (docs/performance.md). Session stays the contract and the OpenAPI document's model;
these functions write exactly its JSON, byte for byte, which tests/unit/test_session_json.py
checks against the validated path for every field shape. A change to Session fails that test
until it is made here too.

Rows are any mapping with the table's column names as keys: SQLAlchemy's RowMapping or a plain dict.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from json.encoder import encode_basestring
from typing import Any

# json.dumps(ensure_ascii=False)'s own C string encoder, without the call's overhead. Pydantic
# escapes exactly the same characters: the quote, the backslash and the C0 controls (\n, \t, ...,
# else \u00XX), nothing else; the test holds that too.
_string = encode_basestring

# schemas._format_utc's format (isoformat with microseconds, always +00:00), written out: about a
# third faster than isoformat(timespec=...), and a page has up to 400 of them. Not shared with
# schemas on purpose: the validated path stays an independent oracle for the test.
_TIMESTAMP = '"%04d-%02d-%02dT%02d:%02d:%02d.%06d+00:00"'
_SESSION = (
    '{"id":%d,"title":%s,"status":%s,"description":%s,"difficulty":%s,'
    '"started_at":%s,"completed_at":%s,"created_at":%s,"updated_at":%s}'
)


def _timestamp(value: datetime | None) -> str:
    if value is None:
        return "null"
    # Aware values in UTC are what the data layer returns; others are converted, and a naive one
    # is taken as UTC (as schemas.UtcDateTime does).
    if value.tzinfo is not UTC and value.tzinfo is not None:
        value = value.astimezone(UTC)
    return _TIMESTAMP % (value.year, value.month, value.day, value.hour, value.minute, value.second, value.microsecond)


def _optional_string(value: str | None) -> str:
    return "null" if value is None else _string(value)


def session_json(row: Mapping[Any, Any]) -> str:
    """One session: Session.model_validate(row).model_dump_json()."""
    return _SESSION % (
        row["id"],
        _string(row["title"]),
        _string(row["status"]),
        _optional_string(row["description"]),
        _optional_string(row["difficulty"]),
        _timestamp(row["started_at"]),
        _timestamp(row["completed_at"]),
        _timestamp(row["created_at"]),
        _timestamp(row["updated_at"]),
    )


def envelope_json(row: Mapping[Any, Any]) -> str:
    """SessionEnvelope's JSON: {"data": the session}."""
    return '{"data":' + session_json(row) + "}"


def page_json(sessions: Sequence[str], next_cursor: str | None) -> str:
    """SessionPage's JSON, from sessions already written by session_json."""
    return '{"data":[' + ",".join(sessions) + '],"next_cursor":' + _optional_string(next_cursor) + "}"
