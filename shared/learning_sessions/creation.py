"""Creating sessions, once per Idempotency-Key when the client sends one."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from sqlalchemy import Engine

from learning_sessions import service
from learning_sessions.etags import etag_for
from learning_sessions.idempotency import make_idempotent
from learning_sessions.schemas import Session, SessionCreate, SessionEnvelope
from learning_sessions.settings import Settings


class SessionCreator:
    def __init__(self, engine: Engine, settings: Settings):
        self._engine = engine
        self._create_once = make_idempotent(self._create_stored, settings=settings, engine=engine)

    def create(
        self, payload: SessionCreate, *, idempotency_key: str | None, context: LambdaContext
    ) -> tuple[SessionEnvelope, str]:
        """The created session and its ETag; a replayed key returns the first response."""
        if idempotency_key is None:
            row = service.create_session(self._engine, payload)
            return SessionEnvelope(data=Session.model_validate(row)), etag_for(row)
        body = payload.model_dump(mode="json", exclude_unset=True)
        stored = self._create_once(idempotency_key, body, context)
        return SessionEnvelope.model_validate({"data": stored["data"]}), stored["etag"]

    def _create_stored(self, body: dict[str, Any]) -> dict[str, Any]:
        # What the idempotency store keeps: JSON, enough to rebuild the same response.
        row = service.create_session(self._engine, SessionCreate.model_validate(body))
        return {"data": Session.model_validate(row).model_dump(mode="json"), "etag": etag_for(row)}
