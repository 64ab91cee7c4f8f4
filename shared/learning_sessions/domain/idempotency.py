"""Idempotency-Key on POST: a key is honoured exactly once, and its outcomes.

The key is stored in the same transaction as the session it created (see service.create_session),
so either both commit or neither does: whatever fails, a retry never finds a row without its key
or a key without its row. A repeated key then replays the first 201 byte for byte, or, if the
request differs, is refused; an expired key is free again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from learning_sessions.domain.errors import ValidationFailed, field_error
from learning_sessions.domain.etags import etag_for
from learning_sessions.domain.schemas import SessionCreate
from learning_sessions.domain.session_json import envelope_json


@dataclass(frozen=True)
class CreatedSession:
    """A 201 for POST: the body exactly as sent, the new session's id and its ETag."""

    session_id: int
    body: str
    etag: str

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> CreatedSession:
        return cls(session_id=row["id"], body=envelope_json(row), etag=etag_for(row))


@dataclass(frozen=True)
class IdempotentRequest:
    """A POST under a key: who sent it, the key, and a fingerprint of what was sent.

    Keys are the caller's own (the owner is the token's `sub`), so no client can ever claim,
    replay or block another client's key.
    """

    owner: str
    key: str
    request_hash: str

    @classmethod
    def of(cls, payload: SessionCreate, *, owner: str, key: str) -> IdempotentRequest:
        return cls(owner=owner, key=key, request_hash=request_hash(payload))

    def record(self, created: CreatedSession, *, now: datetime, lifetime: timedelta) -> dict[str, Any]:
        """The idempotency_keys row that remembers this request's response until it expires."""
        return {
            "owner": self.owner,
            "idempotency_key": self.key,
            "request_hash": self.request_hash,
            "session_id": created.session_id,
            "response_body": created.body,
            "response_etag": created.etag,
            "expires_at": now + lifetime,
        }

    def replay(self, record: Mapping[Any, Any]) -> CreatedSession:
        """The first response to this key, if this request is the same one; 422 if it is not."""
        if record["request_hash"] != self.request_hash:
            raise ValidationFailed(
                "This Idempotency-Key was already used with a different request body",
                [
                    field_error(
                        ["header", "idempotency-key"], "idempotency_key_reused", "Use a new key for a new request"
                    )
                ],
            )
        return CreatedSession(
            session_id=record["session_id"], body=record["response_body"], etag=record["response_etag"]
        )


def request_hash(payload: SessionCreate) -> str:
    """sha256 of the validated body as sent: fields left out stay out, so defaults may change safely."""
    canonical = json.dumps(payload.model_dump(mode="json", exclude_unset=True), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
