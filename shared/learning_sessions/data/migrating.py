"""What every schema migration run does first, whoever runs it (alembic, the local server, the migrate function).

On Postgres: one run at a time (a transaction-scoped advisory lock, so a second run waits, then finds
the schema at head and does nothing), and a lock_timeout on the whole transaction, so that a DDL
statement waiting for a table lock fails soon instead of queueing every API query behind it. The
caller then retries the whole transaction a bounded number of times (run_with_lock_retry).
SQLite has neither: its BEGIN IMMEDIATE already serialises writers (see database.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

LOG = logging.getLogger(__name__)

# Any fixed 64-bit number shared by all runs against one database; this one spells "learnses".
MIGRATION_LOCK_KEY = 0x6C6561726E736573
LOCK_NOT_AVAILABLE = "55P03"


def serialise_migrations(connection: Connection, lock_timeout_ms: int) -> None:
    """Inside the migration's transaction: bound lock waits, then wait for any other run to finish."""
    if connection.dialect.name != "postgresql":
        return
    # SET LOCAL: until the transaction ends, then the session's own setting again. Also bounds the
    # wait for the advisory lock itself.
    connection.exec_driver_sql(f"SET LOCAL lock_timeout = {max(int(lock_timeout_ms), 1)}")
    connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})")


def is_lock_timeout(exc: BaseException) -> bool:
    while exc is not None:
        if isinstance(exc, DBAPIError):
            args = getattr(exc.orig, "args", ())
            if args and isinstance(args[0], dict) and args[0].get("C") == LOCK_NOT_AVAILABLE:
                return True
        exc = exc.__cause__  # type: ignore[assignment]
    return False


def run_with_lock_retry[T](
    run: Callable[[], T], attempts: int, pause_seconds: float = 1.0, should_retry: Callable[[], bool] = lambda: True
) -> T:
    """Run a whole migration transaction; if it gave up waiting for a lock, run it again, ``attempts`` times
    in all (and only while ``should_retry()``, e.g. while time is left).

    Safe because a lock timeout rolls the whole transaction back: each attempt starts from the same schema.
    """
    for attempt in range(1, attempts + 1):
        try:
            return run()
        except Exception as exc:
            if attempt == attempts or not is_lock_timeout(exc) or not should_retry():
                raise
            LOG.warning("Migration gave up waiting for a lock (attempt %d of %d); retrying", attempt, attempts)
            time.sleep(pause_seconds)
    raise AssertionError("unreachable")
