"""POST /api/sessions/: create a session; 201 with its Location and ETag."""

from datetime import timedelta
from typing import Annotated

from learning_sessions.config.settings import get_settings
from learning_sessions.data.database import get_engine
from learning_sessions.domain import service
from learning_sessions.domain.schemas import SessionCreate, build_models
from learning_sessions.http.api import (
    COLLECTION_PATHS,
    Body,
    IdempotencyKey,
    Response,
    create_resolver,
    created_response,
    lambda_entry,
    request_owner,
)
from learning_sessions.http.openapi import CREATE_NO_SLASH_OPERATION, CREATE_OPERATION, create_responses, documented

build_models(SessionCreate)  # this route's body: see schemas.DEFERRED
app = create_resolver()
engine = get_engine()
key_lifetime = timedelta(seconds=get_settings().idempotency_expiry_seconds)


@app.post(COLLECTION_PATHS[0], status_code=201, responses=documented(create_responses), operation_id=CREATE_OPERATION)
@app.post(
    COLLECTION_PATHS[1], status_code=201, responses=documented(create_responses), operation_id=CREATE_NO_SLASH_OPERATION
)
def handle_create_session(
    payload: Annotated[SessionCreate, Body(embed=False)], idempotency_key: IdempotencyKey = None
) -> Response[str]:
    return created_response(
        service.create_session(
            engine, payload, owner=request_owner(app), idempotency_key=idempotency_key, key_lifetime=key_lifetime
        )
    )


lambda_handler = lambda_entry(app)
