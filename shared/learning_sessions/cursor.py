"""Opaque keyset-pagination cursors: the (created_at, id) of the last row of a page."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime

from learning_sessions.errors import ValidationFailed, field_error
from learning_sessions.schemas import MAX_ID

Position = tuple[datetime, int]


def encode_cursor(created_at: datetime, session_id: int) -> str:
    raw = json.dumps([created_at.isoformat(), session_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str) -> Position:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at_text, session_id = json.loads(raw)
        created_at = datetime.fromisoformat(created_at_text)
        if created_at.tzinfo is None or type(session_id) is not int or not 1 <= session_id <= MAX_ID:
            raise ValueError(cursor)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError, RecursionError):
        raise ValidationFailed(
            "Invalid cursor",
            [field_error(["query", "cursor"], "cursor_invalid", "Cursor is not one this API returned")],
        ) from None
    return created_at, session_id
