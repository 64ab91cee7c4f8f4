"""SQL for the learning_sessions table, written once with SQLAlchemy Core."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, RowMapping, Select, delete, insert, select, tuple_, update

from learning_sessions.cursor import Position
from learning_sessions.tables import learning_sessions as table

_columns = [
    table.c.id,
    table.c.title,
    table.c.status,
    table.c.description,
    table.c.difficulty,
    table.c.started_at,
    table.c.completed_at,
    table.c.created_at,
    table.c.updated_at,
    table.c.version,
]


def insert_session(conn: Connection, values: Mapping[str, Any]) -> RowMapping:
    return conn.execute(insert(table).values(**values).returning(*_columns)).mappings().one()


def fetch_session(conn: Connection, session_id: int, *, for_update: bool = False) -> RowMapping | None:
    statement = select(*_columns).where(table.c.id == session_id)
    if for_update:
        statement = statement.with_for_update()
    return conn.execute(statement).mappings().one_or_none()


def update_session(conn: Connection, session_id: int, values: Mapping[str, Any]) -> RowMapping | None:
    statement = update(table).where(table.c.id == session_id).values(**values).returning(*_columns)
    return conn.execute(statement).mappings().one_or_none()


def delete_session(conn: Connection, session_id: int) -> bool:
    return conn.execute(delete(table).where(table.c.id == session_id)).rowcount == 1


def list_page_statement(*, limit: int, status: str | None, after: Position | None) -> Select[Any]:
    """Newest first; the (created_at, id) row comparison lets the index seek straight to the page."""
    statement = select(*_columns).order_by(table.c.created_at.desc(), table.c.id.desc()).limit(limit)
    if status is not None:
        statement = statement.where(table.c.status == status)
    if after is not None:
        statement = statement.where(tuple_(table.c.created_at, table.c.id) < tuple_(*after))
    return statement


def list_sessions(conn: Connection, *, limit: int, status: str | None, after: Position | None) -> Sequence[RowMapping]:
    return conn.execute(list_page_statement(limit=limit, status=status, after=after)).mappings().all()
