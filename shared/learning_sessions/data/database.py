"""Engine creation: once per execution environment, reused by every warm invocation."""

from __future__ import annotations

import select
import time
from functools import lru_cache
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError

from learning_sessions.config.database_config import (
    database_config,
    read_database_secret,
    secret_connect_params,
    ssl_context,
)
from learning_sessions.config.settings import Settings, get_settings


def create_db_engine(settings: Settings) -> Engine:
    """The engine for the configured database; opens no connection (and reads no secret) yet."""
    config = database_config(settings)
    if config.is_sqlite:
        return _sqlite_engine(config.url, settings)
    # Here, not at the top: on SQLite neither pg8000 nor SQLAlchemy's Postgres dialects need loading.
    from learning_sessions.data import pg8000_dialect

    connect_args: dict[str, Any] = {
        "timeout": settings.db_connect_timeout,
        "application_name": "learning-sessions",
    }
    # Startup parameters cost nothing per request. UTC whatever the server or database default:
    # in another zone Postgres prints extreme years as BC or as year 10000, which no parser reads.
    startup_params = {"TimeZone": "UTC"}
    if settings.db_statement_timeout_ms:
        startup_params["statement_timeout"] = str(settings.db_statement_timeout_ms)
    connect_args["startup_params"] = startup_params
    # False, not None: with None pg8000 still builds a default SSL context (loading the CA
    # bundle, about 17 ms) and asks the server for TLS, a round trip, before falling back.
    connect_args["ssl_context"] = ssl_context(config.sslmode, settings.postgres_ssl_ca_file) or False
    engine = create_engine(
        # The same driver, executing with fewer round trips (see pg8000_dialect).
        config.url.set(drivername=f"postgresql+{pg8000_dialect.DRIVER_NAME}"),
        prepared_statements=settings.db_prepared_statements,
        connect_args=connect_args,
        # One request at a time per execution environment: one connection is enough,
        # and waiting for a second one would only hide a leak.
        pool_size=1,
        max_overflow=0,
        pool_timeout=settings.db_connect_timeout,
        # Error messages would otherwise quote the bound values, so a logged failure could
        # carry a whole request body into the logs.
        hide_parameters=True,
    )
    _check_liveness_on_checkout(engine, settings)
    if config.secret_arn is not None:
        _connect_with_current_secret(engine, settings)
    return engine


def _check_liveness_on_checkout(engine: Engine, settings: Settings) -> None:
    """Hand out only live connections, usually without the round trip of pool_pre_ping.

    The database may have dropped the connection while the execution environment was
    frozen between invocations: a restart, a failover, pg_terminate_backend, an idle
    timeout. Postgres then sends an error and closes the socket, so an idle connection
    that has anything to read is dead, which a zero-timeout poll sees for free. Only a
    connection idle for longer than DB_PING_AFTER_IDLE_SECONDS, which a silent network
    drop may have killed without a word, also gets a real SELECT 1.
    """

    @event.listens_for(engine, "checkout")
    def _ensure_alive(dbapi_connection: Any, connection_record: Any, connection_proxy: Any) -> None:
        idle_seconds = time.monotonic() - connection_record.info.get("checked_in_at", time.monotonic())
        sock = getattr(dbapi_connection, "_usock", None)
        try:
            if sock is None or idle_seconds > settings.db_ping_after_idle_seconds:
                engine.dialect.do_ping(dbapi_connection)
            elif select.select([sock], [], [], 0)[0]:
                raise DisconnectionError("the server closed the connection while it was idle")
        except (OSError, engine.dialect.loaded_dbapi.Error) as exc:
            # The pool discards this connection and checks out a fresh one.
            raise DisconnectionError(str(exc)) from exc

    @event.listens_for(engine, "checkin")
    def _note_idle_since(dbapi_connection: Any, connection_record: Any) -> None:
        connection_record.info["checked_in_at"] = time.monotonic()


def _sqlite_engine(url: URL, settings: Settings) -> Engine:
    # A busy timeout lets several local workers share one SQLite file.
    engine = create_engine(url, connect_args={"timeout": settings.db_connect_timeout}, hide_parameters=True)

    # SQLite takes the write lock only at the first write, and two transactions that both
    # read first then deadlock ("database is locked") instead of waiting. Taking it at BEGIN
    # makes concurrent writers queue behind the busy timeout, as row locks do on Postgres.
    @event.listens_for(engine, "connect")
    def _let_sqlalchemy_begin(dbapi_connection: Any, connection_record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _connect_with_current_secret(engine: Engine, settings: Settings) -> None:
    """Take the credentials from the (cached) secret for every new connection.

    After a rotation the cached password is refused (SQLSTATE 28P01) until the cache expires, so
    a refusal re-reads the secret past the cache and tries once more with what it holds now.
    """

    from learning_sessions.data import pg8000_dialect

    @event.listens_for(engine, "do_connect")
    def _connect(dialect: Any, conn_rec: Any, cargs: Any, cparams: dict[str, Any]) -> Any:
        cparams.update(secret_connect_params(read_database_secret(settings), settings))
        try:
            return dialect.connect(*cargs, **cparams)
        except dialect.loaded_dbapi.DatabaseError as exc:
            if pg8000_dialect.sqlstate(exc) not in pg8000_dialect.AUTHENTICATION_FAILED:
                raise
        cparams.update(secret_connect_params(read_database_secret(settings, force_fetch=True), settings))
        return dialect.connect(*cargs, **cparams)


@lru_cache(maxsize=1)
def get_engine() -> Engine:
    return create_db_engine(get_settings())
