"""SQL for the learning_sessions and idempotency_keys tables, written once with SQLAlchemy Core.

Each function is named after the statement it runs and the row it touches (insert_session_row,
select_session_rows, ...), so it never shares a name with the domain's rule (domain.service) or
the route's handler (functions/*/app.py) above it. Rows come back as plain dicts keyed by column
(data.compiled runs the statements).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection, Integer, bindparam, delete, insert, select, tuple_, update

from learning_sessions.data.compiled import Row, Statement
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


# Built once at import, with bind parameters, and compiled once per dialect on first use (see
# data.compiled): each request only binds values and runs the SQL on the driver's cursor, so the
# dialect's prepared statements see the same statement every time.
# Every statement names the caller: another owner's row is invisible in the same statement that
# looks for it, so it answers exactly like a missing one and costs no extra query. ("owned_by",
# not "owner": a bind parameter named after a column is reserved for INSERT/UPDATE values.)
_owned = table.c.owner == bindparam("owned_by", type_=table.c.owner.type)
_by_id = (table.c.id == bindparam("session_id")) & _owned
# What an INSERT and an UPDATE set: every column the database does not assign or keep.
_INSERTED = [column.key for column in table.c if column is not table.c.id]
_UPDATED = [key for key in _INSERTED if key not in ("owner", "created_at")]
_INSERT = Statement(insert(table).returning(*_columns), column_keys=_INSERTED)
_fetch = select(*_columns).where(_by_id)
_FETCH = Statement(_fetch)
_FETCH_FOR_UPDATE = Statement(_fetch.with_for_update())
_UPDATE = Statement(update(table).where(_by_id).returning(*_columns), column_keys=_UPDATED)
_DELETE = Statement(delete(table).where(_by_id))

_newest_first = (
    select(*_columns)
    .where(_owned)
    .order_by(table.c.created_at.desc(), table.c.id.desc())
    .limit(bindparam("limit", type_=Integer()))
)
_in_status = table.c.status == bindparam("status", type_=table.c.status.type)
# The (created_at, id) row comparison lets the index seek straight to the page.
_after = tuple_(table.c.created_at, table.c.id) < tuple_(
    bindparam("after_created_at", type_=UTCDateTime()), bindparam("after_id", type_=table.c.id.type)
)
# By (status filter, cursor): each page is one of four fixed statements.
_LIST_PAGES = {
    (False, False): Statement(_newest_first),
    (True, False): Statement(_newest_first.where(_in_status)),
    (False, True): Statement(_newest_first.where(_after)),
    (True, True): Statement(_newest_first.where(_in_status).where(_after)),
}


_this_key = (idempotency_keys.c.owner == bindparam("owner")) & (
    idempotency_keys.c.idempotency_key == bindparam("idempotency_key")
)
_FETCH_KEY = Statement(select(idempotency_keys).where(_this_key))


@cache
def _claim_key(dialect_name: str) -> Statement:
    """Insert the key, or take over an expired one; a live key is left alone and nothing is returned.

    On Postgres the unique index makes this wait for a concurrent transaction that inserted the
    same key, and then see its outcome; SQLite's writers are already serialised. Built on first
    use for the one dialect in use: only the create function needs it, and the other dialect's
    package need not be imported at all.
    """
    statement = importlib.import_module(f"sqlalchemy.dialects.{dialect_name}").insert(idempotency_keys)
    claim = statement.on_conflict_do_update(
        index_elements=[idempotency_keys.c.owner, idempotency_keys.c.idempotency_key],
        set_={column.name: statement.excluded[column.name] for column in idempotency_keys.c if not column.primary_key},
        where=idempotency_keys.c.expires_at <= bindparam("now", type_=UTCDateTime()),
    ).returning(idempotency_keys.c.owner)
    return Statement(claim, column_keys=[column.key for column in idempotency_keys.c])


def insert_session_row(conn: Connection, values: Mapping[str, Any], *, owner: str) -> Row:
    """values: every column but id and owner."""
    return _INSERT.one(conn, {**values, "owner": owner})


def insert_idempotency_key_row(conn: Connection, values: Mapping[str, Any], *, now: datetime) -> bool:
    """Store the key (every column of idempotency_keys in values) unless a live one exists; True if stored."""
    statement = _claim_key(conn.dialect.name)
    return statement.one_or_none(conn, {**values, "now": now}) is not None


def select_idempotency_key_row(conn: Connection, owner: str, idempotency_key: str) -> Row:
    """A key that insert_idempotency_key_row found taken (it stays locked until the transaction ends)."""
    return _FETCH_KEY.one(conn, {"owner": owner, "idempotency_key": idempotency_key})


def select_session_row(conn: Connection, session_id: int, *, owner: str, for_update: bool = False) -> Row | None:
    statement = _FETCH_FOR_UPDATE if for_update else _FETCH
    return statement.one_or_none(conn, {"session_id": session_id, "owned_by": owner})


def update_session_row(conn: Connection, session_id: int, values: Mapping[str, Any], *, owner: str) -> Row | None:
    """values: every column an update sets (all but id, owner and created_at)."""
    return _UPDATE.one_or_none(conn, {"session_id": session_id, "owned_by": owner, **values})


def delete_session_row(conn: Connection, session_id: int, *, owner: str) -> bool:
    return _DELETE.rowcount(conn, {"session_id": session_id, "owned_by": owner}) == 1


def select_session_rows(
    conn: Connection, *, owner: str, limit: int, status: str | None, after: Position | None
) -> list[Row]:
    statement = _LIST_PAGES[status is not None, after is not None]
    parameters: dict[str, Any] = {"owned_by": owner, "limit": limit}
    if status is not None:
        parameters["status"] = status
    if after is not None:
        parameters["after_created_at"], parameters["after_id"] = after
    return statement.all(conn, parameters)
