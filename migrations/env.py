"""Alembic environment: the URL comes from the service's own settings, the schema from its tables."""

from __future__ import annotations

import os
from logging.config import fileConfig
from pathlib import Path

from alembic import context
from sqlalchemy import Connection, create_engine, pool

from learning_sessions.database_config import resolve_database_url
from learning_sessions.settings import Settings
from learning_sessions.tables import metadata

config = context.config

if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    # Keep loggers created before this point (Powertools' in the migrate function) alive.
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _database_url() -> str:
    configured = config.get_main_option("sqlalchemy.url")
    if configured:
        return configured
    environ = dict(os.environ)
    env_file = Path(config.config_file_name or "alembic.ini").resolve().parent / ".env"
    if env_file.is_file():
        # A checkout's .env (local development only: no Lambda artifact has one, nor python-dotenv).
        from dotenv import dotenv_values

        environ = {key: value for key, value in dotenv_values(env_file).items() if value is not None} | environ
    return resolve_database_url(Settings.from_environ(environ)).render_as_string(hide_password=False)


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things in place; batch mode rebuilds tables instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    context.configure(url=_database_url(), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(_database_url(), poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            _run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
