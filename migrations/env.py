"""Alembic environment: the URL comes from the service's own settings, the schema from its tables."""

from __future__ import annotations

import os
from logging.config import fileConfig
from pathlib import Path

from alembic import context
from sqlalchemy import Connection, create_engine, pool

from learning_sessions.database import resolve_database_url
from learning_sessions.settings import Settings, read_env_file
from learning_sessions.tables import metadata

config = context.config

if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    # Keep loggers created before this point (Powertools' in the migrate function) alive.
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _database_url() -> str:
    configured = config.get_main_option("sqlalchemy.url")
    if configured:
        return configured
    # A local .env applies when run from a checkout; real environment variables win.
    env_file = Path(config.config_file_name or "alembic.ini").resolve().parent / ".env"
    settings = Settings.from_environ({**read_env_file(env_file), **os.environ})
    return resolve_database_url(settings).render_as_string(hide_password=False)


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
