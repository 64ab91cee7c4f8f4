"""SQLAlchemy as the compiler, the driver as the executor: Core statements compiled once per dialect.

Every statement is built with SQLAlchemy Core (data.queries) and compiled by SQLAlchemy, once for
each dialect that runs it, on first use: the dialect is initialised by then (some compile options
depend on the server's version), and the other database's dialect package is never imported.

Connection.execute would, on every call, look the statement up in the compiled cache (building
its cache key), create an ExecutionContext, and wrap the cursor in a CursorResult with Row and
RowMapping objects: 35-50 us of a 216 us GET (docs/performance.md). Here a call only

- puts the values in the order of the SQL's placeholders, through the bind processors SQLAlchemy
  chose for them (UTCDateTime to UTC, ...);
- sends the SQL with Connection._cursor_execute, SQLAlchemy's own path for the statements it runs
  itself (sequences, defaults): the dialect's do_execute (the prepared statements and OSError
  wrapping of data.pg8000_dialect), the before/after_cursor_execute events, echo, and SQLAlchemy's
  error handling, so a driver error is a DBAPIError and a disconnect invalidates the pooled
  connection and sets connection_invalidated, exactly as under Connection.execute;
- turns each row into a dict through the result processors SQLAlchemy would apply (SQLite's
  DATETIME text parsed, UTCDateTime tagged as UTC), with a function made at the first result.

Unlike Connection.execute it does not begin a transaction by itself ("autobegin"): a statement
runs in the transaction the caller began (data.units_of_work), or on its own in autocommit.
tests/integration/data/test_compiled_statements.py checks, for every statement of data.queries on
SQLite and Postgres, that the SQL and values reaching the driver and the rows coming back are
exactly those of Connection.execute, so the two paths cannot drift apart. That includes an
upgrade of SQLAlchemy (pinned exactly in shared/requirements.txt): this module reads the compiled
statement's bind processors and result columns and calls Connection._cursor_execute, which are
SQLAlchemy's own internals, not its public API.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, Dialect
from sqlalchemy.exc import MultipleResultsFound, NoResultFound
from sqlalchemy.sql import Select
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import UpdateBase

Row = dict[str, Any]
RowFactory = Callable[[Sequence[Any]], Row]
# A SELECT, or an INSERT, UPDATE or DELETE (a dialect's INSERT ... ON CONFLICT too).
CoreStatement = Select[Any] | UpdateBase


class Statement:
    """A Core statement, compiled for each dialect on first use and run on the driver's cursor.

    column_keys: the columns an INSERT or UPDATE sets, as Connection.execute would take them from
    the keys of its parameters; compiled once, so every call must give exactly these.
    """

    def __init__(self, statement: CoreStatement, *, column_keys: Sequence[str] | None = None) -> None:
        self.statement = statement
        self.column_keys = None if column_keys is None else list(column_keys)
        # Weak: the test suite makes many engines (one dialect each); a function makes one.
        self._compiled: WeakKeyDictionary[Dialect, CompiledStatement] = WeakKeyDictionary()

    def compiled(self, dialect: Dialect) -> CompiledStatement:
        compiled = self._compiled.get(dialect)
        if compiled is None:
            sql = self.statement.compile(dialect=dialect, column_keys=self.column_keys)
            assert isinstance(sql, SQLCompiler)
            compiled = self._compiled[dialect] = CompiledStatement(sql, dialect)
        return compiled

    def all(self, conn: Connection, parameters: Mapping[str, Any]) -> list[Row]:
        return self.compiled(conn.dialect).all(conn, parameters)

    def one_or_none(self, conn: Connection, parameters: Mapping[str, Any]) -> Row | None:
        rows = self.all(conn, parameters)
        if len(rows) > 1:
            raise MultipleResultsFound("Multiple rows were found when one or none was required")
        return rows[0] if rows else None

    def one(self, conn: Connection, parameters: Mapping[str, Any]) -> Row:
        row = self.one_or_none(conn, parameters)
        if row is None:
            raise NoResultFound("No row was found when one was required")
        return row

    def rowcount(self, conn: Connection, parameters: Mapping[str, Any]) -> int:
        """The number of rows an UPDATE or DELETE without RETURNING matched."""
        return self.compiled(conn.dialect).rowcount(conn, parameters)


class CompiledStatement:
    """One statement's SQL for one dialect, the order and bind processors of its values, and its rows' shape."""

    def __init__(self, compiled: SQLCompiler, dialect: Dialect) -> None:
        # Rendered by SQLAlchemy at each execution (expanding IN, literal_execute, named paramstyles,
        # escaped names): none of this project's statements needs them, so they are refused here
        # rather than sent wrong.
        if not compiled.positional or compiled.literal_execute_params or compiled.post_compile_params:
            raise NotImplementedError(f"not a fixed positional statement: {compiled.string}")
        if compiled.escaped_bind_names:
            raise NotImplementedError(f"bind names that need escaping: {compiled.escaped_bind_names}")
        names = list(compiled.positiontup or ())
        self.sql = compiled.string
        self.dialect = dialect
        # What the caller gives; the rest are the statement's own values (SQLite's OFFSET 0).
        self.parameter_names = frozenset(name for name in names if compiled.binds[name].required)
        self._constants = {name: compiled.binds[name].value for name in names if name not in self.parameter_names}
        self._values: Callable[[Mapping[str, Any]], Sequence[Any]] = (
            itemgetter(*names) if len(names) > 1 else lambda parameters: [parameters[name] for name in names]
        )
        self._bind_processors: list[tuple[int, Callable[[Any], Any]]] = []
        for index, name in enumerate(names):
            process = compiled._bind_processors.get(name)
            if isinstance(process, Sequence):  # a tuple type's, per element: only for expanding binds
                raise NotImplementedError(f"a tuple-typed bind: {name}")
            if process is not None:
                self._bind_processors.append((index, process))
        self._sequence = dialect.execute_sequence_format
        self._result_columns = compiled._result_columns
        self._row_factory: RowFactory | None = None

    def parameters(self, parameters: Mapping[str, Any]) -> Sequence[Any]:
        """The values for the SQL's placeholders, as the driver gets them."""
        if parameters.keys() != self.parameter_names:
            raise TypeError(f"expected the parameters {sorted(self.parameter_names)}, got {sorted(parameters)}")
        if self._constants:
            parameters = {**self._constants, **parameters}
        values = list(self._values(parameters))
        for index, process in self._bind_processors:
            values[index] = process(values[index])
        return self._sequence(values)

    def _run(self, conn: Connection, parameters: Mapping[str, Any]) -> Any:
        values = self.parameters(parameters)
        cursor = conn.connection.cursor()
        conn._cursor_execute(cursor, self.sql, values)
        return cursor

    def all(self, conn: Connection, parameters: Mapping[str, Any]) -> list[Row]:
        cursor = self._run(conn, parameters)
        try:
            rows = cursor.fetchall()
        except BaseException as exc:
            # As a CursorResult does with an error while fetching.
            conn._handle_dbapi_exception(exc, None, None, cursor, None)
        make_row = self._row_factory or self._make_row_factory(cursor.description)
        cursor.close()
        return [make_row(row) for row in rows]

    def rowcount(self, conn: Connection, parameters: Mapping[str, Any]) -> int:
        cursor = self._run(conn, parameters)
        count: int = cursor.rowcount
        cursor.close()
        return count

    def _make_row_factory(self, description: Sequence[Sequence[Any]]) -> RowFactory:
        """Rows to dicts, keyed and processed as a RowMapping of Connection.execute would be.

        Made from the first result: the result processors depend on the driver's type codes in
        cursor.description, which are matched to the statement's columns by position.
        """
        keys = [column.keyname for column in self._result_columns]
        if len(description) != len(keys):
            raise NotImplementedError(f"{len(description)} columns in the result for {keys}")
        processors = {
            index: process
            for index, (column, described) in enumerate(zip(self._result_columns, description, strict=True))
            if (process := column.type.dialect_impl(self.dialect).result_processor(self.dialect, described[1]))
            is not None
        }
        self._row_factory = row_factory(keys, processors)
        return self._row_factory


def row_factory(keys: Sequence[str], processors: Mapping[int, Callable[[Any], Any]]) -> RowFactory:
    """A function of one row: {keys[0]: row[0], keys[1]: processors[1](row[1]), ...}.

    Written out as one dict display rather than a loop over the processors: about half the time
    per row (1.1 against 2.3 us for a session with its four timestamps; 41 us less for a list of
    50, measured through the service).
    Only the keys are put into the source, as str literals (repr); the processors are passed in
    the function's namespace.
    """
    if not all(isinstance(key, str) for key in keys):
        raise TypeError(f"column keys must be str: {keys}")
    # A literal gives a plain str key even for SQLAlchemy's str subclass (quoted_name), as dict() would not.
    items = ", ".join(
        f"{key!r}: processor_{index}(row[{index}])" if index in processors else f"{key!r}: row[{index}]"
        for index, key in enumerate(keys)
    )
    namespace: dict[str, Any] = {f"processor_{index}": process for index, process in processors.items()}
    exec(f"def make_row(row):\n    return {{{items}}}\n", namespace)  # noqa: S102 (source made of literals, see above)
    make_row: RowFactory = namespace["make_row"]
    return make_row
