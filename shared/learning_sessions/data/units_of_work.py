"""How a request uses the database: one call per kind of work, each choosing its connection and retry rule.

The domain hands over a function of a connection and gets its result back; it never picks a
connection or decides whether a failure may be retried. Three kinds cover every request:

- read: autocommitted reads, retried once on a connection that proved dead;
- write_once: one autocommitted write (an INSERT, a DELETE), never retried, its statement may have run;
- transaction: BEGIN ... COMMIT (BEGIN IMMEDIATE on SQLite, see database), retried once like a read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError


def read[T](engine: Engine, work: Callable[[Connection], T]) -> T:
    """work's reads on an autocommitted connection, run once more if that connection was dead."""

    def attempt() -> T:
        with read_only(engine) as conn:
            return work(conn)

    return retry_if_disconnected(attempt)


def write_once[T](engine: Engine, work: Callable[[Connection], T]) -> T:
    """One write that needs no transaction around it; not retried (see retry_if_disconnected)."""
    with single_statement(engine) as conn:
        return work(conn)


def transaction[T](engine: Engine, work: Callable[[Connection], T]) -> T:
    """work in one transaction, committed when it returns, rolled back when it raises; retried once
    if its connection proved dead at a statement. work may also roll back itself (conn.rollback())
    and return: nothing is committed then."""

    def attempt() -> T:
        with engine.connect() as conn, conn.begin():
            return work(conn)

    return retry_if_disconnected(attempt)


@contextmanager
def read_only(engine: Engine) -> Iterator[Connection]:
    """A connection for reads, in autocommit: no BEGIN and ROLLBACK round trips around them."""
    with engine.connect() as conn, _autocommit(conn):
        yield conn


@contextmanager
def single_statement(engine: Engine) -> Iterator[Connection]:
    """A connection for one write that needs no transaction around it (an INSERT, a DELETE).

    On Postgres it runs in autocommit, saving the BEGIN and COMMIT round trips: one statement is
    atomic on its own. SQLite gets an ordinary transaction, committed at the end.
    """
    with engine.connect() as conn:
        if conn.dialect.name != "postgresql":
            with conn.begin():
                yield conn
            return
        with _autocommit(conn):
            yield conn


@contextmanager
def _autocommit(conn: Connection) -> Iterator[None]:
    # The driver's flag, set directly: SQLAlchemy's AUTOCOMMIT isolation level would reset the
    # session's isolation level with two more statements when the connection goes back to the pool.
    dbapi_connection = conn.connection.dbapi_connection
    if conn.dialect.name != "postgresql" or dbapi_connection is None:
        yield
        return
    dbapi_connection.autocommit = True
    try:
        yield
    finally:
        dbapi_connection.autocommit = False


def retry_if_disconnected[T](unit_of_work: Callable[[], T]) -> T:
    """Run a read or a transaction; if its connection proved dead at a statement, run it once more.

    The liveness check on checkout sees a connection the server closed while we were idle, but
    not one it is closing at that very moment. A statement on such a connection fails before
    anything is committed (the backend is gone, so is its transaction), and the pool has already
    discarded it, so the retry gets a fresh connection and the client never sees the fault.
    A failed COMMIT is not retried: whether it committed is unknown. Nor are autocommitted
    writes (see single_statement): their statement may have run.
    """
    try:
        return unit_of_work()
    except DBAPIError as exc:
        if not exc.connection_invalidated or exc.statement is None:
            raise
    return unit_of_work()
