"""Opaque keyset-pagination cursors: the (created_at, id) of the last row of a page, and its filter.

A cursor is base64url of the JSON array [created_at, id, filter], where filter is the object of
the list's filters it was issued under: the caller (a short hash of the owner) and the status. A
cursor is valid only under the same filter: a page after a position in one list is not a page of
another. Another caller's cursor is refused (422) rather than read as a position in their own list.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime

from learning_sessions.data.queries import Position
from learning_sessions.domain.errors import ValidationFailed, field_error
from learning_sessions.domain.schemas import MAX_ID

Filter = Mapping[str, str | None]


def owner_tag(owner: str) -> str:
    """8 bytes of sha256: enough to tell callers apart, too little to carry who they are."""
    return base64.urlsafe_b64encode(hashlib.sha256(owner.encode()).digest()[:8]).rstrip(b"=").decode("ascii")


def list_filter(*, owner: str, status: str | None) -> Filter:
    """The filter a list request is read under, as its cursors carry it."""
    return {"owner": owner_tag(owner), "status": status}


def encode_cursor(created_at: datetime, session_id: int, filter: Filter) -> str:
    raw = json.dumps([created_at.isoformat(), session_id, dict(filter)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str, filter: Filter) -> Position:
    """The position a cursor names, if it is one this API issued under this same filter."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at_text, session_id, issued_under = json.loads(raw)
        created_at = datetime.fromisoformat(created_at_text)
        if created_at.tzinfo is None or type(session_id) is not int or not 1 <= session_id <= MAX_ID:
            raise ValueError(cursor)
        if not isinstance(issued_under, dict):
            raise TypeError(cursor)
        # As UTC here, where an overflow (year 1 with a positive offset) is still a bad cursor.
        created_at = created_at.astimezone(UTC)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError, RecursionError, OverflowError):
        raise _invalid("cursor_invalid", "Cursor is not one this API returned") from None
    # The caller first: another caller's cursor says nothing about its filters.
    if issued_under.get("owner") != filter["owner"]:
        raise _invalid("cursor_invalid", "Cursor was not issued to this caller")
    if issued_under != filter:
        raise _invalid("cursor_filter_mismatch", "Cursor was issued for a list with other filters (status)")
    return created_at, session_id


def _invalid(error_type: str, message: str) -> ValidationFailed:
    return ValidationFailed("Invalid cursor", [field_error(["query", "cursor"], error_type, message)])
