"""The benchmark's databases: a throwaway SQLite file or Postgres database, migrated, seeded, explained."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event, func, make_url, select, text
from sqlalchemy.exc import DBAPIError

from bench.harness import BenchError
from tools.databases import DEFAULT_POSTGRES_ADMIN_URL, PostgresUnavailable, migrate, throwaway_postgres_database
from tools.http_api_events import TEST_USER

# Seeded rows are created one second apart, newest first, ending here; the microseconds vary so
# that the timestamps look like real ones.
SEED_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
STATUSES = ("planned", "in_progress", "completed")
# Every seeded row belongs to the user the benchmark's requests come from (tools.http_api_events' default),
# so each request's owner-scoped statement finds what it did before sessions had owners.
OWNER = TEST_USER


@dataclass
class BenchDatabase:
    backend: str
    url: URL
    engine: Engine

    @property
    def database_url(self) -> str:
        """DATABASE_URL for the functions."""
        return self.url.render_as_string(hide_password=False)

    def count(self) -> int:
        from learning_sessions.data.tables import learning_sessions

        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(learning_sessions)).scalar_one())


def postgres_admin_url() -> URL:
    return make_url(
        os.environ.get("BENCH_POSTGRES_URL") or os.environ.get("TEST_POSTGRES_URL") or DEFAULT_POSTGRES_ADMIN_URL
    )


def postgres_available() -> bool:
    try:
        engine = create_engine(postgres_admin_url(), connect_args={"timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
    except (DBAPIError, OSError):
        return False
    return True


@contextmanager
def bench_database(backend: str, workdir: Path) -> Iterator[BenchDatabase]:
    """A fresh, migrated database, dropped afterwards."""
    with ExitStack() as stack:
        if backend == "sqlite":
            url = make_url(f"sqlite:///{workdir / 'bench.db'}")
        else:
            try:
                url = stack.enter_context(throwaway_postgres_database(postgres_admin_url(), "bench"))
            except PostgresUnavailable as exc:
                raise BenchError(
                    f"Postgres at {postgres_admin_url().render_as_string()} is not usable: {exc}"
                ) from None
        migrate(url)
        engine = create_engine(url)
        stack.callback(engine.dispose)
        yield BenchDatabase(backend, url, engine)


def seed(db: BenchDatabase, rows: int, *, offset: int = 0) -> float:
    """Add `rows` sessions, older than the ones seeded before (offset = how many those were); seconds taken.

    Set-based on both backends: Postgres generates the rows itself (INSERT ... SELECT over
    generate_series, one statement), SQLite gets them through executemany in batches.
    """
    started = time.perf_counter()
    if db.backend == "postgres":
        statement = text(
            """
            INSERT INTO learning_sessions
                (title, description, status, difficulty, started_at, completed_at, created_at, updated_at, version,
                 owner)
            SELECT
                'Seeded session ' || g,
                CASE WHEN mod(g, 4) = 0 THEN NULL ELSE 'Notes for session ' || g END,
                (ARRAY['planned', 'in_progress', 'completed'])[mod(g, 3) + 1],
                CASE WHEN mod(g, 5) = 0 THEN NULL ELSE (ARRAY['easy', 'medium', 'hard'])[mod(g, 3) + 1] END,
                CASE WHEN mod(g, 3) > 0 THEN ts + interval '10 minutes' END,
                CASE WHEN mod(g, 3) = 2 THEN ts + interval '70 minutes' END,
                ts,
                ts,
                1,
                :owner
            FROM (
                SELECT
                    g,
                    CAST(:epoch AS timestamptz) - g * interval '1 second'
                        - mod(g * 7919, 1000000) * interval '1 microsecond' AS ts
                FROM generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) AS g
            ) AS generated
            """
        )
        with db.engine.begin() as conn:
            conn.execute(statement, {"epoch": SEED_EPOCH, "first": offset + 1, "last": offset + rows, "owner": OWNER})
            conn.execute(text("ANALYZE learning_sessions"))
    else:
        database = db.url.database
        assert database is not None
        raw = sqlite3.connect(database)
        try:
            batch: list[tuple[Any, ...]] = []
            for g in range(offset + 1, offset + rows + 1):
                batch.append(_sqlite_row(g))
                if len(batch) == 50_000:
                    _insert_sqlite(raw, batch)
                    batch = []
            if batch:
                _insert_sqlite(raw, batch)
            raw.execute("ANALYZE")
            raw.commit()
        finally:
            raw.close()
    return time.perf_counter() - started


def _stamp(value: datetime) -> str:
    # SQLAlchemy's DATETIME storage format on SQLite, in UTC.
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


def _sqlite_row(g: int) -> tuple[Any, ...]:
    created = SEED_EPOCH - timedelta(seconds=g, microseconds=g * 7919 % 1_000_000)
    return (
        f"Seeded session {g}",
        None if g % 4 == 0 else f"Notes for session {g}",
        STATUSES[g % 3],
        None if g % 5 == 0 else ("easy", "medium", "hard")[g % 3],
        _stamp(created + timedelta(minutes=10)) if g % 3 > 0 else None,
        _stamp(created + timedelta(minutes=70)) if g % 3 == 2 else None,
        _stamp(created),
        _stamp(created),
    )


def _insert_sqlite(conn: sqlite3.Connection, batch: list[tuple[Any, ...]]) -> None:
    conn.executemany(
        "INSERT INTO learning_sessions (title, description, status, difficulty, started_at, completed_at,"
        " created_at, updated_at, version, owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?)",
        [(*row, OWNER) for row in batch],
    )
    conn.commit()


def add_rows(db: BenchDatabase, rows: int) -> list[int]:
    """Extra rows, newer than the seeded ones, for DELETE to consume; their ids."""
    from learning_sessions.data.tables import learning_sessions as table

    now = datetime.now(UTC)
    values = [
        {
            "title": f"To delete {i}",
            "status": "planned",
            "created_at": now,
            "updated_at": now,
            "version": 1,
            "owner": OWNER,
        }
        for i in range(rows)
    ]
    with db.engine.begin() as conn:
        conn.execute(table.insert(), values)
        found = conn.execute(select(table.c.id).where(table.c.title.like("To delete %"))).scalars().all()
    return sorted(int(i) for i in found)[-rows:]


def max_id(db: BenchDatabase) -> int:
    from learning_sessions.data.tables import learning_sessions as table

    with db.engine.connect() as conn:
        return int(conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one())


def cursor_at(db: BenchDatabase, fraction: float) -> tuple[str, int]:
    """The API's cursor for the row at `fraction` of the way down the list order, and its position."""
    from learning_sessions.data.tables import learning_sessions as table
    from learning_sessions.domain.cursor import encode_cursor, list_filter

    total = db.count()
    position = max(int(total * fraction), 1)
    with db.engine.connect() as conn:
        created_at, session_id = conn.execute(
            select(table.c.created_at, table.c.id)
            .order_by(table.c.created_at.desc(), table.c.id.desc())
            .offset(position - 1)
            .limit(1)
        ).one()
    return encode_cursor(created_at, int(session_id), list_filter(owner=OWNER, status=None)), position


def explain(db: BenchDatabase, *, deep_cursor: str, session_id: int) -> dict[str, list[str]]:
    """The plans of the project's own statements (captured as SQLAlchemy sends them), by case."""
    from learning_sessions.data import queries
    from learning_sessions.domain.cursor import decode_cursor, list_filter

    cases: dict[str, Any] = {
        "list first page": lambda conn: queries.select_session_rows(
            conn, owner=OWNER, limit=51, status=None, after=None
        ),
        "list deep page": lambda conn: queries.select_session_rows(
            conn,
            owner=OWNER,
            limit=51,
            status=None,
            after=decode_cursor(deep_cursor, list_filter(owner=OWNER, status=None)),
        ),
        "list by status": lambda conn: queries.select_session_rows(
            conn, owner=OWNER, limit=51, status="completed", after=None
        ),
        "get by id": lambda conn: queries.select_session_row(conn, session_id, owner=OWNER),
    }
    prefix = (
        "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) " if db.backend == "postgres" else "EXPLAIN QUERY PLAN "
    )
    plans: dict[str, list[str]] = {}
    captured: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        captured.append((statement, parameters))

    for name, run in cases.items():
        event.listen(db.engine, "before_cursor_execute", capture)
        try:
            with db.engine.connect() as conn:
                run(conn)
        finally:
            event.remove(db.engine, "before_cursor_execute", capture)
        statement, parameters = captured[-1]
        with db.engine.connect() as conn:
            rows = conn.exec_driver_sql(prefix + statement, parameters).all()
        plans[name] = [str(row[0]) if db.backend == "postgres" else str(row[-1]) for row in rows]
    return plans


def uses_index(plan: list[str]) -> bool:
    """True when the plan reads through an index and needs no sort or full scan of its own."""
    joined = " ".join(plan)
    good = ("Index Scan", "Index Only Scan", "USING INDEX", "USING INTEGER PRIMARY KEY", "USING COVERING INDEX")
    bad = ("Seq Scan", "Sort", "TEMP B-TREE")
    return any(marker in joined for marker in good) and not any(marker in joined for marker in bad)
