"""Opaque keyset-pagination cursors: the (created_at, id) of the last row of a page.

A cursor is bound to the caller it was issued to by a short hash of the owner: another caller's
cursor is refused (422) rather than read as a position in their own list.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from datetime import datetime

from learning_sessions.errors import ValidationFailed, field_error
from learning_sessions.schemas import MAX_ID

Position = tuple[datetime, int]


def owner_tag(owner: str) -> str:
    """8 bytes of sha256: enough to tell callers apart, too little to carry who they are."""
    return base64.urlsafe_b64encode(hashlib.sha256(owner.encode()).digest()[:8]).rstrip(b"=").decode("ascii")


def encode_cursor(created_at: datetime, session_id: int, *, owner: str) -> str:
    raw = json.dumps([created_at.isoformat(), session_id, owner_tag(owner)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str, *, owner: str) -> Position:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at_text, session_id, tag = json.loads(raw)
        created_at = datetime.fromisoformat(created_at_text)
        if created_at.tzinfo is None or type(session_id) is not int or not 1 <= session_id <= MAX_ID:
            raise ValueError(cursor)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError, RecursionError):
        raise _invalid_cursor("Cursor is not one this API returned") from None
    if tag != owner_tag(owner):
        raise _invalid_cursor("Cursor was not issued to this caller")
    return created_at, session_id


def _invalid_cursor(message: str) -> ValidationFailed:
    return ValidationFailed("Invalid cursor", [field_error(["query", "cursor"], "cursor_invalid", message)])
