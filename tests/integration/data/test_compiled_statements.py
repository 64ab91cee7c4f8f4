"""Every statement of data.queries sends exactly SQLAlchemy's compilation of its Core statement.

data.compiled runs the statements without Connection.execute: compiled once per dialect, values
bound and rows mapped by its own code. Here each statement runs both ways on the project's engine
(create_db_engine: on Postgres the prepared-statement pg8000 dialect), on SQLite and Postgres, and
what reaches the dialect's do_execute (the driver's side of SQLAlchemy: the SQL and the values
after the bind processors) and the rows that come back must be the same, down to their types and
time zones. A statement added to data.queries without a case here fails the coverage test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import URL, Connection, Engine, insert

from learning_sessions.config.settings import Settings
from learning_sessions.data import queries
from learning_sessions.data.compiled import Statement
from learning_sessions.data.database import create_db_engine
from learning_sessions.data.tables import idempotency_keys, learning_sessions

OWNER = "compiled-statements"
# Not UTC, and not a whole hour from it: a bind processor that skipped the conversion shows.
KATHMANDU = timezone(timedelta(hours=5, minutes=45))
STARTED = datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=KATHMANDU)
CREATED = datetime(1, 1, 1, 0, 0, 0, 1, tzinfo=UTC)
UPDATED = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
SESSION_ID = 7
SESSION = {
    "title": "Compiled once",
    "description": None,
    "status": "in_progress",
    "difficulty": "hard",
    "started_at": STARTED,
    "completed_at": None,
    "created_at": CREATED,
    "updated_at": UPDATED,
    "version": 3,
}
KEY = {
    "owner": OWNER,
    "idempotency_key": "key-1",
    "request_hash": "0" * 64,
    "session_id": SESSION_ID,
    "response_body": "{}",
    "response_etag": '"7.1"',
    "expires_at": UPDATED,
}
UPDATE = {key: SESSION[key] for key in SESSION if key != "created_at"} | {"title": "Changed", "completed_at": UPDATED}
WHERE = {"session_id": SESSION_ID, "owned_by": OWNER}
LIST = {"owned_by": OWNER, "limit": 2}
STATUS = {"status": "in_progress"}
AFTER = {"after_created_at": UPDATED, "after_id": 10**6}

# Statement (by its name in data.queries) -> the parameters it is run with.
CASES: dict[str, dict[str, Any]] = {
    "_INSERT": SESSION | {"owner": OWNER, "title": "Inserted"},
    "_FETCH": WHERE,
    "_FETCH_FOR_UPDATE": WHERE,
    "_UPDATE": WHERE | UPDATE,
    "_DELETE": WHERE,
    "_LIST_PAGES[(False, False)]": LIST,
    "_LIST_PAGES[(True, False)]": LIST | STATUS,
    "_LIST_PAGES[(False, True)]": LIST | AFTER,
    "_LIST_PAGES[(True, True)]": LIST | STATUS | AFTER,
    "_FETCH_KEY": {"owner": OWNER, "idempotency_key": "key-1"},
    "_claim_key": KEY | {"idempotency_key": "key-2", "now": STARTED},
}


def statements_of_queries(dialect_name: str) -> dict[str, Statement]:
    """Every Statement data.queries holds, by name: its constants, the list pages, the key claim."""
    found: dict[str, Statement] = {"_claim_key": queries._claim_key(dialect_name)}
    for name, value in vars(queries).items():
        if isinstance(value, Statement):
            found[name] = value
        elif isinstance(value, dict):
            found |= {f"{name}[{key}]": item for key, item in value.items() if isinstance(item, Statement)}
    return found


@pytest.fixture(scope="module")
def project_engine(database_url: URL) -> Iterator[Engine]:
    engine = create_db_engine(Settings.from_environ({"DATABASE_URL": database_url.render_as_string(False)}))
    yield engine
    engine.dispose()


@pytest.fixture
def seeded(project_engine: Engine, clean_db: Engine) -> Engine:
    """One session (and its Idempotency-Key) for each statement to find, update or delete."""
    with clean_db.begin() as conn:
        conn.execute(insert(learning_sessions).values(id=SESSION_ID, owner=OWNER, **SESSION))
        conn.execute(insert(idempotency_keys).values(**KEY))
    return project_engine


Sent = list[tuple[str, Any]]


def run_recorded(engine: Engine, run: Callable[[Connection], Any], monkeypatch: pytest.MonkeyPatch) -> tuple[Sent, Any]:
    """What reaches the dialect's do_execute while ``run`` runs, and its result, rolled back after."""
    sent: Sent = []
    execute = engine.dialect.do_execute

    def record(cursor: Any, statement: str, parameters: Any, context: Any = None) -> None:
        sent.append((statement, parameters))
        execute(cursor, statement, parameters, context)

    # Begun before recording: SQLite's BEGIN IMMEDIATE goes through do_execute too.
    with engine.connect() as conn, conn.begin() as transaction:
        with monkeypatch.context() as patch:
            patch.setattr(engine.dialect, "do_execute", record)
            result = run(conn)
        transaction.rollback()
    return sent, result


def test_every_statement_has_a_case(project_engine: Engine) -> None:
    assert sorted(statements_of_queries(project_engine.dialect.name)) == sorted(CASES)


@pytest.mark.parametrize("name", CASES)
def test_the_statement_sent_is_sqlalchemys_and_so_are_its_values_and_rows(
    name: str, seeded: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    statement = statements_of_queries(seeded.dialect.name)[name]
    parameters = CASES[name]

    def compiled_path(conn: Connection) -> Any:
        compiled = statement.compiled(conn.dialect)
        return compiled.all(conn, parameters) if compiled._result_columns else compiled.rowcount(conn, parameters)

    def sqlalchemy_path(conn: Connection) -> Any:
        result = conn.execute(statement.statement, parameters)
        return [dict(row) for row in result.mappings()] if result.returns_rows else result.rowcount

    sent, got = run_recorded(seeded, compiled_path, monkeypatch)
    sent_by_sqlalchemy, expected = run_recorded(seeded, sqlalchemy_path, monkeypatch)

    compiled_sql = str(statement.statement.compile(dialect=seeded.dialect, column_keys=statement.column_keys))
    assert [sql for sql, _ in sent] == [compiled_sql]
    # repr: equal datetimes in another zone, or an int for a str, would still compare equal.
    assert repr(sent) == repr(sent_by_sqlalchemy)
    if name == "_INSERT":  # a Postgres sequence is not rolled back: the two inserts get their own ids
        got, expected = ([{**row, "id": "new"} for row in rows] for rows in (got, expected))
    assert repr(got) == repr(expected)
    assert got, "the statement found nothing: the case proves little"
