"""SQL for the learning_sessions and idempotency_keys tables, written once with SQLAlchemy Core.

Each function is named after the statement it runs and the row it touches (insert_session_row,
select_session_rows, ...), so it never shares a name with the domain's rule (domain.service) or
the route's handler (functions/*/app.py) above it.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection, Integer, RowMapping, bindparam, delete, insert, select, tuple_, update

from learning_sessions.data.tables import UTCDateTime, idempotency_keys
from learning_sessions.data.tables import learning_sessions as table

# Where a page starts: the (created_at, id) of the row before it, in the list's order. The cursor
# module (domain) encodes it for clients; it is defined here so the data layer imports nothing above it.
Position = tuple[datetime, int]

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


# Built once at import, with bind parameters, so each request only binds values: no statement
# construction per call, and SQLAlchemy's compiled cache (and the dialect's prepared statements)
# see the same statement every time.
# Every statement names the caller: another owner's row is invisible in the same statement that
# looks for it, so it answers exactly like a missing one and costs no extra query. ("owned_by",
# not "owner": a bind parameter named after a column is reserved for INSERT/UPDATE values.)
_owned = table.c.owner == bindparam("owned_by", type_=table.c.owner.type)
_by_id = (table.c.id == bindparam("session_id")) & _owned
_INSERT = insert(table).returning(*_columns)
_FETCH = select(*_columns).where(_by_id)
_FETCH_FOR_UPDATE = _FETCH.with_for_update()
_UPDATE = update(table).where(_by_id).returning(*_columns)
_DELETE = delete(table).where(_by_id)

_NEWEST_FIRST = (
    select(*_columns)
    .where(_owned)
    .order_by(table.c.created_at.desc(), table.c.id.desc())
    .limit(bindparam("limit", type_=Integer()))
)
_IN_STATUS = table.c.status == bindparam("status", type_=table.c.status.type)
# The (created_at, id) row comparison lets the index seek straight to the page.
_AFTER = tuple_(table.c.created_at, table.c.id) < tuple_(
    bindparam("after_created_at", type_=UTCDateTime()), bindparam("after_id", type_=table.c.id.type)
)
_LIST_PAGES = {
    (False, False): _NEWEST_FIRST,
    (True, False): _NEWEST_FIRST.where(_IN_STATUS),
    (False, True): _NEWEST_FIRST.where(_AFTER),
    (True, True): _NEWEST_FIRST.where(_IN_STATUS).where(_AFTER),
}


_this_key = (idempotency_keys.c.owner == bindparam("owner")) & (
    idempotency_keys.c.idempotency_key == bindparam("idempotency_key")
)
_FETCH_KEY = select(idempotency_keys).where(_this_key)


@cache
def _claim_key(dialect_name: str) -> Any:
    """Insert the key, or take over an expired one; a live key is left alone and nothing is returned.

    On Postgres the unique index makes this wait for a concurrent transaction that inserted the
    same key, and then see its outcome; SQLite's writers are already serialised. Built on first
    use for the one dialect in use: only the create function needs it, and the other dialect's
    package need not be imported at all.
    """
    statement = importlib.import_module(f"sqlalchemy.dialects.{dialect_name}").insert(idempotency_keys)
    return statement.on_conflict_do_update(
        index_elements=[idempotency_keys.c.owner, idempotency_keys.c.idempotency_key],
        set_={column.name: statement.excluded[column.name] for column in idempotency_keys.c if not column.primary_key},
        where=idempotency_keys.c.expires_at <= bindparam("now", type_=UTCDateTime()),
    ).returning(idempotency_keys.c.owner)


def insert_session_row(conn: Connection, values: Mapping[str, Any], *, owner: str) -> RowMapping:
    return conn.execute(_INSERT, {**values, "owner": owner}).mappings().one()


def insert_idempotency_key_row(conn: Connection, values: Mapping[str, Any], *, now: datetime) -> bool:
    """Store the key (owner, idempotency_key in values) unless a live one exists; True if stored."""
    statement = _claim_key(conn.dialect.name)
    return conn.execute(statement, {**values, "now": now}).first() is not None


def select_idempotency_key_row(conn: Connection, owner: str, idempotency_key: str) -> RowMapping:
    """A key that insert_idempotency_key_row found taken (it stays locked until the transaction ends)."""
    return conn.execute(_FETCH_KEY, {"owner": owner, "idempotency_key": idempotency_key}).mappings().one()


def select_session_row(conn: Connection, session_id: int, *, owner: str, for_update: bool = False) -> RowMapping | None:
    statement = _FETCH_FOR_UPDATE if for_update else _FETCH
    return conn.execute(statement, {"session_id": session_id, "owned_by": owner}).mappings().one_or_none()


def update_session_row(
    conn: Connection, session_id: int, values: Mapping[str, Any], *, owner: str
) -> RowMapping | None:
    parameters = {"session_id": session_id, "owned_by": owner, **values}
    return conn.execute(_UPDATE, parameters).mappings().one_or_none()


def delete_session_row(conn: Connection, session_id: int, *, owner: str) -> bool:
    return conn.execute(_DELETE, {"session_id": session_id, "owned_by": owner}).rowcount == 1


def _position(after: Position | None) -> dict[str, Any]:
    return {} if after is None else {"after_created_at": after[0], "after_id": after[1]}


def select_session_rows(
    conn: Connection, *, owner: str, limit: int, status: str | None, after: Position | None
) -> Sequence[RowMapping]:
    statement = _LIST_PAGES[status is not None, after is not None]
    parameters = {"owned_by": owner, "limit": limit, "status": status, **_position(after)}
    return conn.execute(statement, parameters).mappings().all()
