"""Alembic environment: the URL comes from the service's own settings, the schema from its tables.

The whole upgrade runs in one transaction on both databases: on Postgres DDL is transactional anyway,
and the service's SQLite engine (database.py) hands transactions to SQLAlchemy, so pysqlite's legacy
handling cannot commit each CREATE TABLE on its own. A run that fails partway leaves the database as
it was, and a re-run starts from the same point.
"""

from __future__ import annotations

import os
from logging.config import fileConfig
from pathlib import Path

from alembic import context
from alembic.util import CommandError
from sqlalchemy import Connection, Engine

from learning_sessions.config.database_config import resolve_database_url
from learning_sessions.config.settings import ConfigError, Settings
from learning_sessions.data.database import create_db_engine
from learning_sessions.data.migrating import run_with_lock_retry, serialise_migrations
from learning_sessions.data.tables import metadata

config = context.config

if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    # Keep loggers created before this point (Powertools' in the migrate function) alive.
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _settings() -> Settings:
    environ = dict(os.environ)
    env_file = Path(config.config_file_name or "alembic.ini").resolve().parent / ".env"
    if env_file.is_file():
        # A checkout's .env (local development only: no Lambda artifact has one, nor python-dotenv).
        from dotenv import dotenv_values

        environ = {key: value for key, value in dotenv_values(env_file).items() if value is not None} | environ
    configured = config.get_main_option("sqlalchemy.url")
    if configured:
        environ["DATABASE_URL"] = configured
    settings = Settings.from_environ(environ)
    if "db_statement_timeout_ms" not in settings.model_fields_set:
        # The API's 3 s statement default is not meant for DDL; lock_timeout bounds the waits instead.
        settings = settings.model_copy(update={"db_statement_timeout_ms": 0})
    return settings


def _run(connection: Connection, lock_timeout_ms: int) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things in place; batch mode rebuilds tables instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        serialise_migrations(connection, lock_timeout_ms)
        context.run_migrations()


def _connect_or_explain(engine: Engine, settings: Settings) -> Connection:
    """A connection, or one line saying where the database was not reachable (never the password)."""
    try:
        return engine.connect()
    except Exception as exc:
        url = engine.url
        where = url.database if url.get_backend_name() == "sqlite" else f"{url.host}:{url.port or 5432}"
        cause = getattr(exc, "orig", None) or exc
        detail = cause.args[0] if cause.args else type(cause).__name__
        if isinstance(detail, dict):
            # pg8000 passes Postgres' error fields: M is the message, C the SQLSTATE.
            detail = f"{detail.get('M')} (SQLSTATE {detail.get('C')})"
        raise CommandError(
            f"Cannot connect to the {url.get_backend_name()} database at {where} "
            f"(DB_CONNECT_TIMEOUT={settings.db_connect_timeout:g}s): {detail}"
        ) from None


def run_migrations_offline() -> None:
    url = resolve_database_url(_settings()).render_as_string(hide_password=False)
    context.configure(url=url, target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        # The caller (the migrate function) owns the transaction, its timeouts and its retries.
        _run(connection, config.attributes["lock_timeout_ms"])
        return
    try:
        settings = _settings()
        # The service's own engine: DB_CONNECT_TIMEOUT bounds the connect and every read, so a database
        # that accepts TCP and never answers fails instead of hanging.
        engine = create_db_engine(settings)
    except ConfigError as exc:
        # Its message names the variable, never a secret: one line, as alembic prints a CommandError.
        raise CommandError(str(exc)) from None

    def upgrade_in_one_transaction() -> None:
        with _connect_or_explain(engine, settings) as conn, conn.begin():
            _run(conn, settings.migration_lock_timeout_ms)

    try:
        run_with_lock_retry(upgrade_in_one_transaction, settings.migration_attempts)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
