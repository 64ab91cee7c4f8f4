"""Creating sessions, once per Idempotency-Key when the client sends one."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from sqlalchemy import Engine

from learning_sessions import service
from learning_sessions.errors import Conflict, ValidationFailed, field_error
from learning_sessions.etags import etag_for
from learning_sessions.schemas import Session, SessionCreate, SessionEnvelope
from learning_sessions.settings import Settings

if TYPE_CHECKING:
    from learning_sessions.idempotency import IdempotentCall


class SessionCreator:
    def __init__(self, engine: Engine, settings: Settings):
        self._engine = engine
        self._settings = settings

    @cached_property
    def _create_once(self) -> IdempotentCall:
        # Built on the first request with a key: Powertools' idempotency package imports its
        # DynamoDB store and boto3 (some 65 ms), which a cold start without a key need not pay.
        from learning_sessions.idempotency import make_idempotent

        return make_idempotent(self._create_stored, settings=self._settings, engine=self._engine)

    def create(
        self, payload: SessionCreate, *, idempotency_key: str | None, context: LambdaContext
    ) -> tuple[SessionEnvelope, str]:
        """The created session and its ETag; a replayed key returns the first response."""
        if idempotency_key is None:
            row = service.create_session(self._engine, payload)
            return SessionEnvelope(data=Session.model_validate(row)), etag_for(row)
        body = payload.model_dump(mode="json", exclude_unset=True)
        stored = self._run_once(idempotency_key, body, context)
        return SessionEnvelope.model_validate({"data": stored["data"]}), stored["etag"]

    def _run_once(self, key: str, body: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        """Powertools' idempotency outcomes, as the API's errors."""
        create_once = self._create_once  # imports Powertools' idempotency package
        from aws_lambda_powertools.utilities.idempotency.exceptions import (
            IdempotencyAlreadyInProgressError,
            IdempotencyValidationError,
        )

        try:
            return create_once(key, body, context)
        except IdempotencyValidationError:
            raise ValidationFailed(
                "This Idempotency-Key was already used with a different request body",
                [
                    field_error(
                        ["header", "idempotency-key"], "idempotency_key_reused", "Use a new key for a new request"
                    )
                ],
            ) from None
        except IdempotencyAlreadyInProgressError:
            raise Conflict(
                "A request with this Idempotency-Key is still in progress", headers={"Retry-After": "1"}
            ) from None

    def _create_stored(self, body: dict[str, Any]) -> dict[str, Any]:
        # What the idempotency store keeps: JSON, enough to rebuild the same response.
        row = service.create_session(self._engine, SessionCreate.model_validate(body))
        return {"data": Session.model_validate(row).model_dump(mode="json"), "etag": etag_for(row)}
