"""data.compiled refuses what it cannot run as SQLAlchemy would, rather than send something else.

(That what it does run is SQLAlchemy's SQL, values and rows: tests/integration/data/test_compiled_statements.py.)
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Connection, Integer, String, bindparam, create_engine, insert, literal, select, tuple_
from sqlalchemy.exc import MultipleResultsFound, NoResultFound
from sqlalchemy.types import TupleType

from learning_sessions.data.compiled import Statement, row_factory
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


def test_too_many_or_no_rows_say_what_sqlalchemy_says(conn: Connection) -> None:
    # The same errors as Result.one() and one_or_none(), word for word, so a log reads the same on either path.
    statement = Statement(TITLES)
    many, nobody = {"owned_by": "two"}, {"owned_by": "nobody"}
    with pytest.raises(MultipleResultsFound) as theirs_many:
        conn.execute(TITLES, many).one_or_none()
    with pytest.raises(MultipleResultsFound, match=f"^{theirs_many.value}$"):
        statement.one_or_none(conn, many)
    with pytest.raises(NoResultFound) as theirs_none:
        conn.execute(TITLES, nobody).one()
    with pytest.raises(NoResultFound, match=f"^{theirs_none.value}$"):
        statement.one(conn, nobody)


def test_a_named_paramstyle_is_refused() -> None:
    # Named placeholders (:owned_by) would be sent with positional values: refused, not sent wrong.
    engine = create_engine("sqlite://", paramstyle="named")
    with pytest.raises(NotImplementedError, match="not a fixed positional statement"):
        Statement(TITLES).compiled(engine.dialect)


def test_bind_names_that_need_escaping_are_refused_and_named() -> None:
    statement = Statement(select(table.c.title).where(table.c.owner == bindparam("owned.by")))
    with pytest.raises(NotImplementedError, match=r"bind names that need escaping: .*owned\.by"):
        statement.compiled(create_engine("sqlite://").dialect)


def test_a_tuple_typed_bind_is_refused_and_named() -> None:
    pair = bindparam("pair", type_=TupleType(Integer(), String()))
    statement = Statement(select(table.c.title).where(tuple_(table.c.id, table.c.title) == pair))
    with pytest.raises(NotImplementedError, match="a tuple-typed bind: pair"):
        statement.compiled(create_engine("sqlite://").dialect)


def test_a_result_of_another_shape_is_refused_and_described() -> None:
    compiled = Statement(TITLES).compiled(create_engine("sqlite://").dialect)
    two_columns = [("title", None, None, None, None, None, None), ("extra", None, None, None, None, None, None)]
    with pytest.raises(NotImplementedError, match=r"2 columns in the result for \['title'\]"):
        compiled._make_row_factory(two_columns)


def test_row_keys_must_be_str() -> None:
    with pytest.raises(TypeError, match=r"column keys must be str: \['title', 1\]"):
        row_factory(["title", 1], {})  # type: ignore[list-item]


def test_an_insert_sets_exactly_the_column_keys_it_was_given() -> None:
    # Without column_keys an INSERT is compiled with every column, and each call would have to give them all.
    columns = ["title", "status", "owner", "created_at", "updated_at"]
    compiled = Statement(insert(table), column_keys=columns).compiled(create_engine("sqlite://").dialect)
    assert compiled.parameter_names == set(columns)
    inserted = compiled.sql.removeprefix("INSERT INTO learning_sessions (").split(")")[0]
    assert sorted(inserted.split(", ")) == sorted(columns)
