"""Session statuses: the one list the schema, the API and the rules all use."""

from __future__ import annotations

from enum import StrEnum


class SessionStatus(StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


SESSION_STATUSES: tuple[str, ...] = tuple(status.value for status in SessionStatus)
