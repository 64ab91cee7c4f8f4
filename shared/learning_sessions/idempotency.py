"""Idempotency-Key for POST, through Powertools' idempotency utility.

Deployed, records live in DynamoDB (IDEMPOTENCY_TABLE). Locally and in tests they live
in our own database through SqlPersistenceLayer, so the feature behaves the same there.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import STATUS_CONSTANTS, DataRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from sqlalchemy import Engine, and_, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from learning_sessions.settings import Settings
from learning_sessions.tables import idempotency_records as records

IdempotentCall = Callable[[str, dict[str, Any], LambdaContext], dict[str, Any]]


class SqlPersistenceLayer(BasePersistenceLayer):
    """Powertools persistence on SQLAlchemy Core, with DynamoDB's conditional-put semantics."""

    def __init__(self, engine: Engine):
        super().__init__()  # type: ignore[no-untyped-call]
        self.engine = engine
        dialect_insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        self._insert_new = dialect_insert(records).on_conflict_do_nothing(index_elements=[records.c.id])

    def _get_record(self, idempotency_key: str) -> DataRecord:
        with self.engine.connect() as conn:
            row = conn.execute(select(records).where(records.c.id == idempotency_key)).one_or_none()
        if row is None:
            raise IdempotencyItemNotFoundError
        return DataRecord(
            idempotency_key=row.id,
            status=row.status,
            expiry_timestamp=row.expiration,
            in_progress_expiry_timestamp=row.in_progress_expiration,
            response_data=row.data or "",
            payload_hash=row.validation or "",
        )

    def _put_record(self, data_record: DataRecord) -> None:
        values = {
            "id": data_record.idempotency_key,
            "status": data_record.status,
            "expiration": data_record.expiry_timestamp,
            "in_progress_expiration": data_record.in_progress_expiry_timestamp,
            "data": None,
            "validation": data_record.payload_hash or None,
        }
        now = time.time()
        with self.engine.begin() as conn:
            if conn.execute(self._insert_new.values(**values)).rowcount == 1:
                return
            # Take over a record that has expired, or an in-progress one whose invocation timed out.
            takeover = (
                update(records)
                .where(records.c.id == data_record.idempotency_key)
                .where(
                    or_(
                        records.c.expiration < int(now),
                        and_(
                            records.c.status == STATUS_CONSTANTS["INPROGRESS"],
                            records.c.in_progress_expiration.is_not(None),
                            records.c.in_progress_expiration < int(now * 1000),
                        ),
                    )
                )
                .values(**values)
            )
            if conn.execute(takeover).rowcount == 1:
                return
        raise IdempotencyItemAlreadyExistsError

    def _update_record(self, data_record: DataRecord) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(records)
                .where(records.c.id == data_record.idempotency_key)
                .values(
                    status=data_record.status, expiration=data_record.expiry_timestamp, data=data_record.response_data
                )
            )

    def _delete_record(self, data_record: DataRecord) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(records).where(records.c.id == data_record.idempotency_key))


def persistence_layer(settings: Settings, engine: Engine) -> BasePersistenceLayer:
    if settings.idempotency_table:
        # Imported only when configured: it pulls in boto3.
        from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

        return DynamoDBPersistenceLayer(table_name=settings.idempotency_table)
    return SqlPersistenceLayer(engine)


def make_idempotent(
    action: Callable[[dict[str, Any]], dict[str, Any]], *, settings: Settings, engine: Engine
) -> IdempotentCall:
    """Wrap action(body) so that one Idempotency-Key runs it once and replays its result.

    The key selects the record; the body is hashed so the same key with another body is refused.
    """
    config = IdempotencyConfig(
        event_key_jmespath="key",
        payload_validation_jmespath="body",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=settings.idempotency_expiry_seconds,
    )

    @idempotent_function(
        data_keyword_argument="request", config=config, persistence_store=persistence_layer(settings, engine)
    )
    def run_once(request: dict[str, Any]) -> dict[str, Any]:
        return action(request["body"])

    def call(key: str, body: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        # Lets Powertools expire an in-progress record when this invocation times out.
        config.register_lambda_context(context)
        result: dict[str, Any] = run_once(request={"key": key, "body": body})
        return result

    return call
