"""The database schema, shared by the queries and by Alembic's autogenerate check."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.types import TypeDecorator

from learning_sessions.data.status import SESSION_STATUSES

# Named constraints make Alembic migrations reproducible on every backend.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[datetime]):
    """Always UTC in, always timezone-aware UTC out, on Postgres and on SQLite.

    SQLite has no time zones: SQLAlchemy would store an aware value's wall clock as is
    and hand it back naive, so values are normalised to UTC on the way in and tagged
    as UTC on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# BIGINT on Postgres, INTEGER (the rowid alias that autoincrements) on SQLite.
IdType = BigInteger().with_variant(Integer(), "sqlite")

_status_values = ", ".join(f"'{status}'" for status in SESSION_STATUSES)

learning_sessions = Table(
    "learning_sessions",
    metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=True),
    # A CHECK over VARCHAR rather than a native ENUM: identical on SQLite and Postgres,
    # and `downgrade base` leaves no orphaned enum type behind to break the next upgrade.
    Column("status", String(20), nullable=False),
    Column("difficulty", String(50), nullable=True),
    Column("started_at", UTCDateTime, nullable=True),
    Column("completed_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # Bumped on every update; the source of the ETag and of optimistic concurrency.
    Column("version", Integer, nullable=False, server_default="1"),
    # Who the session belongs to: the `sub` claim of the token that created it. Every query names
    # it; it is never part of a response. No server default: a row must never get an owner by accident.
    Column("owner", String(255), nullable=False),
    CheckConstraint(f"status IN ({_status_values})", name="status"),
    # Keyset pagination walks one owner's (created_at DESC, id DESC), optionally within one status;
    # leading with the owner, these indexes seek straight to one caller's page, so a page costs the
    # same at any table size and any number of users.
    Index("ix_learning_sessions_owner_created_at_id", "owner", "created_at", "id"),
    Index("ix_learning_sessions_owner_status_created_at_id", "owner", "status", "created_at", "id"),
    # Ids are never reused after a delete, as on Postgres, so old links cannot point at new rows: on
    # SQLite the table is AUTOINCREMENT, which only its DDL states (migrations 0001 and 0005; Alembic
    # does not compare it). Not as sqlite_autoincrement=True here: a dialect's keyword makes
    # SQLAlchemy import that dialect's package to check it, at every cold start on Postgres too.
)


# One row per Idempotency-Key, inserted in the same transaction as the session it created, so
# the key and the row commit together or not at all. Keys are scoped by owner: a client can
# only ever replay (or be refused by) its own keys. The stored response is the 201 exactly as
# it was sent, replayed as is; session_id gives its Location. An expired key may be reused.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("owner", String(255), primary_key=True),
    Column("idempotency_key", String(255), primary_key=True),
    # sha256 (hex) of the request as sent, so the same key with another body is refused.
    Column("request_hash", String(64), nullable=False),
    Column("session_id", IdType, nullable=False),
    Column("response_body", Text, nullable=False),
    Column("response_etag", String(64), nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)
