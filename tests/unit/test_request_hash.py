"""The Idempotency-Key's request hash is a stored format: it must not change between releases.

A key's first request is remembered for 24 hours with this hash; if a deployment changed the
canonical form, every retry that crosses the deployment would be refused as "another body" (422).
"""

from __future__ import annotations

import hashlib

from learning_sessions.domain.idempotency import request_hash
from learning_sessions.domain.schemas import SessionCreate


def test_the_hash_is_sha256_of_the_fields_sent_sorted_without_spaces() -> None:
    payload = SessionCreate.model_validate(
        {"title": "Learn SQL", "started_at": "2026-01-02T03:04:05Z", "difficulty": "easy"}
    )
    canonical = '{"difficulty":"easy","started_at":"2026-01-02T03:04:05.000000+00:00","title":"Learn SQL"}'
    assert request_hash(payload) == hashlib.sha256(canonical.encode()).hexdigest()


def test_a_default_left_out_is_not_the_default_sent() -> None:
    """Fields left out stay out, so a default may change without breaking stored keys."""
    left_out = SessionCreate.model_validate({"title": "Learn SQL"})
    assert request_hash(left_out) == hashlib.sha256(b'{"title":"Learn SQL"}').hexdigest()
    assert request_hash(SessionCreate.model_validate({"title": "Learn SQL", "status": "planned"})) != request_hash(
        left_out
    )
