"""A refused request must never have written: the check every 5xx the tests see goes through.

A 5xx tells the client "nothing happened, retry" (or at least "we do not know"); a row committed
behind it is the double-create and the poisoned-list bugs of issue 8. So for every request the
in-process client (tests/support/client.py) and the HTTP tests (tests/support/local_server.py) send, the database
is dumped before, and when the answer is a 5xx it is dumped again and must be identical.

The dump is generic, every table but alembic_version with every column, so it covers whatever
tables the schema has (sessions, idempotency records or keys) without naming them.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, MetaData, Table, inspect, select

Dump = dict[str, list[tuple[Any, ...]]]


@lru_cache(maxsize=16)
def _tables(engine: Engine) -> tuple[Table, ...]:
    """The database's tables (reflected once per engine), parents before children."""
    names = [name for name in inspect(engine).get_table_names() if name != "alembic_version"]
    metadata = MetaData()
    metadata.reflect(engine, only=names)
    return tuple(metadata.sorted_tables)


def tables_of(engine: Engine) -> tuple[Table, ...]:
    return _tables(engine)


def dump_tables(engine: Engine) -> Dump:
    """Every row of every table, in a stable order."""
    with engine.connect() as conn:
        return {table.name: sorted(map(tuple, conn.execute(select(table))), key=repr) for table in tables_of(engine)}


def describe_changes(before: Dump, after: Dump) -> str:
    lines = []
    for name in sorted(before.keys() | after.keys()):
        old, new = set(before.get(name, [])), set(after.get(name, []))
        lines += [f"  {name}: - {row!r}" for row in sorted(old - new, key=repr)]
        lines += [f"  {name}: + {row!r}" for row in sorted(new - old, key=repr)]
    return "\n".join(lines)


def assert_no_write_on_server_error[R](
    engine: Engine | None, send: Callable[[], R], status_of: Callable[[R], int], request: str
) -> R:
    """Send a request; if it is answered with a 5xx, the database must be as it was before it."""
    if engine is None:
        return send()
    before = dump_tables(engine)
    response = send()
    status = status_of(response)
    if status >= 500:
        after = dump_tables(engine)
        assert after == before, f"{request} answered {status} but wrote:\n{describe_changes(before, after)}"
    return response
