"""data.compiled refuses what it cannot run as SQLAlchemy would, rather than send something else.

(That what it does run is SQLAlchemy's SQL, values and rows: tests/integration/data/test_compiled_statements.py.)
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Connection, bindparam, create_engine, insert, literal, select
from sqlalchemy.exc import MultipleResultsFound, NoResultFound

from learning_sessions.data.compiled import Statement
from learning_sessions.data.tables import learning_sessions as table
from learning_sessions.data.tables import metadata

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
TITLES = select(table.c.title).where(table.c.owner == bindparam("owned_by")).order_by(table.c.id)


@pytest.fixture
def conn() -> Iterator[Connection]:
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    with engine.connect() as conn:
        for title in ("first", "second"):
            row = {"title": title, "status": "planned", "owner": "two", "created_at": NOW, "updated_at": NOW}
            conn.execute(insert(table).values(**row))
        yield conn
    engine.dispose()


def test_rows_are_plain_dicts_keyed_by_plain_str(conn: Connection) -> None:
    rows = Statement(TITLES).all(conn, {"owned_by": "two"})
    assert rows == [{"title": "first"}, {"title": "second"}]
    assert all(type(row) is dict and all(type(key) is str for key in row) for row in rows)


@pytest.mark.parametrize("parameters", [{}, {"owner": "two"}, {"owned_by": "two", "limit": 1}])
def test_parameters_must_be_exactly_the_statements(conn: Connection, parameters: dict[str, str]) -> None:
    # A value that is not sent would otherwise vanish silently (an UPDATE column, a filter).
    with pytest.raises(TypeError, match="expected the parameters"):
        Statement(TITLES).all(conn, parameters)


def test_one_and_one_or_none_count_the_rows(conn: Connection) -> None:
    statement = Statement(TITLES)
    with pytest.raises(MultipleResultsFound):
        statement.one_or_none(conn, {"owned_by": "two"})
    with pytest.raises(NoResultFound):
        statement.one(conn, {"owned_by": "nobody"})
    assert statement.one_or_none(conn, {"owned_by": "nobody"}) is None
    assert Statement(TITLES.limit(1)).one(conn, {"owned_by": "two"}) == {"title": "first"}


def test_a_statements_own_values_are_sent_with_the_callers(conn: Connection) -> None:
    statement = Statement(select(table.c.title, literal("constant").label("tag")).where(table.c.id == bindparam("id")))
    assert statement.one(conn, {"id": 2}) == {"title": "second", "tag": "constant"}


def test_statements_sqlalchemy_renders_at_each_execution_are_refused(conn: Connection) -> None:
    expanding = select(table.c.title).where(table.c.id.in_(bindparam("ids", expanding=True)))
    with pytest.raises(NotImplementedError, match="not a fixed positional statement"):
        Statement(expanding).all(conn, {"ids": [1, 2]})
