"""Domain rules for learning sessions: lifecycle timestamps, chronology, If-Match, not-found, idempotency.

The rules only: which connection a request uses and when it is retried is the data layer's
(data.units_of_work), and the SQL is data.queries'.
"""

from __future__ import annotations

from collections.abc import Collection, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine

from learning_sessions.data import queries
from learning_sessions.data.compiled import Row
from learning_sessions.data.status import SessionStatus
from learning_sessions.data.units_of_work import read, transaction, write_once
from learning_sessions.domain.cursor import Filter, decode_cursor, encode_cursor, list_filter
from learning_sessions.domain.errors import NotFound, ValidationFailed, field_error
from learning_sessions.domain.etags import check_if_match
from learning_sessions.domain.schemas import SessionCreate, SessionUpdate

if TYPE_CHECKING:
    from learning_sessions.domain.idempotency import CreatedSession


def utcnow() -> datetime:
    return datetime.now(UTC)


def apply_lifecycle(
    values: MutableMapping[str, Any], *, previous_status: str | None, sent: Collection[str], now: datetime
) -> None:
    """The lifecycle rule, on create (previous_status None) and update alike.

    Only fields the client did not send in this request are touched, and only when the status
    changes: leaving `completed` clears completed_at, entering `planned` clears started_at;
    entering `in_progress` stamps an empty started_at, entering `completed` an empty
    completed_at. A stamp never contradicts the other field: completed_at is at least
    started_at, started_at at most completed_at. So the chronology check can only fail on
    values the client sent, never on one the server set.
    """
    status = values["status"]
    if status == previous_status:
        return
    if status != SessionStatus.COMPLETED and "completed_at" not in sent:
        values["completed_at"] = None
    if status == SessionStatus.PLANNED and "started_at" not in sent:
        values["started_at"] = None
    started_at, completed_at = values.get("started_at"), values.get("completed_at")
    if status == SessionStatus.IN_PROGRESS and "started_at" not in sent and started_at is None:
        values["started_at"] = now if completed_at is None else min(now, completed_at)
    if status == SessionStatus.COMPLETED and "completed_at" not in sent and completed_at is None:
        values["completed_at"] = now if started_at is None else max(now, started_at)


def check_chronology(values: MutableMapping[str, Any]) -> None:
    started_at, completed_at = values.get("started_at"), values.get("completed_at")
    if started_at is not None and completed_at is not None and completed_at < started_at:
        raise ValidationFailed(
            "completed_at must not be earlier than started_at",
            [
                field_error(
                    ["body", "completed_at"], "completed_before_started", "completed_at is earlier than started_at"
                )
            ],
        )


def not_found(session_id: int) -> NotFound:
    return NotFound(f"Learning session {session_id} does not exist")


def create_session(
    engine: Engine,
    payload: SessionCreate,
    *,
    owner: str,
    idempotency_key: str | None = None,
    key_lifetime: timedelta,
) -> CreatedSession:
    """A new session; under an Idempotency-Key, only the first request with that key creates one.

    A key is remembered for key_lifetime; after that, the key creates a new session again.
    """
    # Here, not at the top: only the create function needs it, and the others need not load it.
    from learning_sessions.domain.idempotency import CreatedSession, IdempotentRequest

    now = utcnow()
    values = payload.model_dump()
    apply_lifecycle(values, previous_status=None, sent=payload.model_fields_set, now=now)
    check_chronology(values)
    values.update(created_at=now, updated_at=now, version=1)
    if idempotency_key is None:
        return CreatedSession.from_row(
            write_once(engine, lambda conn: queries.insert_session_row(conn, values, owner=owner))
        )
    request = IdempotentRequest.of(payload, owner=owner, key=idempotency_key)

    def create_with_key(conn: Connection) -> CreatedSession:
        created = CreatedSession.from_row(queries.insert_session_row(conn, values, owner=owner))
        if queries.insert_idempotency_key_row(conn, request.record(created, now=now, lifetime=key_lifetime), now=now):
            return created  # the key and the row commit together, or neither does
        earlier = queries.select_idempotency_key_row(conn, owner, idempotency_key)
        # The key is taken: the row just inserted must not stay.
        conn.rollback()
        return request.replay(earlier)

    return transaction(engine, create_with_key)


def get_session(engine: Engine, session_id: int, *, owner: str) -> Row:
    row = read(engine, lambda conn: queries.select_session_row(conn, session_id, owner=owner))
    if row is None:
        raise not_found(session_id)
    return row


def update_session(
    engine: Engine, session_id: int, payload: SessionUpdate, *, owner: str, if_match: str | None = None
) -> Row:
    changes = payload.changes()

    def update_locked(conn: Connection) -> Row | None:
        # The row lock serialises concurrent PATCHes, so each one merges into the latest row
        # and the If-Match check cannot race another writer.
        current = queries.select_session_row(conn, session_id, owner=owner, for_update=True)
        if current is None:
            raise not_found(session_id)
        check_if_match(if_match, current)
        merged = dict(current) | changes
        apply_lifecycle(merged, previous_status=current["status"], sent=changes.keys(), now=utcnow())
        check_chronology(merged)
        # Strictly later than before even if clocks of two environments disagree.
        updated_at = max(utcnow(), current["updated_at"] + timedelta(microseconds=1))
        values = {key: merged[key] for key in SessionUpdate.model_fields}
        values.update(updated_at=updated_at, version=current["version"] + 1)
        return queries.update_session_row(conn, session_id, values, owner=owner)

    row = transaction(engine, update_locked)
    if row is None:
        raise not_found(session_id)
    return row


def delete_session(engine: Engine, session_id: int, *, owner: str, if_match: str | None = None) -> None:
    def delete_locked(conn: Connection) -> bool:
        # Locked, so the version checked is the version deleted.
        current = queries.select_session_row(conn, session_id, owner=owner, for_update=True)
        if current is None:
            raise not_found(session_id)
        check_if_match(if_match, current)
        return queries.delete_session_row(conn, session_id, owner=owner)

    if if_match is None:
        deleted = write_once(engine, lambda conn: queries.delete_session_row(conn, session_id, owner=owner))
    else:
        deleted = transaction(engine, delete_locked)
    if not deleted:
        raise not_found(session_id)


@dataclass(frozen=True)
class Page:
    """Up to `limit` rows of the list, whether more follow, and the filter they were read under."""

    rows: list[Row]
    more: bool
    filter: Filter

    def next_cursor(self, count: int) -> str | None:
        """The cursor to the rows after the first `count` of these; None if none follow."""
        if count == len(self.rows) and not self.more:
            return None
        last = self.rows[count - 1]
        return encode_cursor(last["created_at"], last["id"], self.filter)


def list_sessions(engine: Engine, *, owner: str, limit: int, status: str | None, cursor: str | None) -> Page:
    filter = list_filter(owner=owner, status=status)
    after = decode_cursor(cursor, filter) if cursor is not None else None

    rows = read(
        engine,
        lambda conn: queries.select_session_rows(conn, owner=owner, limit=limit + 1, status=status, after=after),
    )
    return Page(rows=list(rows[:limit]), more=len(rows) > limit, filter=filter)
