"""POST /api/sessions/: create a session; 201 with its Location and ETag."""

from typing import Annotated

from learning_sessions.api import (
    COLLECTION_PATHS,
    Body,
    IdempotencyKey,
    Response,
    create_resolver,
    json_response,
    lambda_entry,
    location_of,
)
from learning_sessions.creation import SessionCreator
from learning_sessions.database import get_engine
from learning_sessions.openapi import CREATE_NO_SLASH_OPERATION, CREATE_OPERATION, CREATE_RESPONSES
from learning_sessions.schemas import SessionCreate
from learning_sessions.settings import get_settings

app = create_resolver()
creator = SessionCreator(get_engine(), get_settings())


@app.post(COLLECTION_PATHS[0], status_code=201, responses=CREATE_RESPONSES, operation_id=CREATE_OPERATION)
@app.post(COLLECTION_PATHS[1], status_code=201, responses=CREATE_RESPONSES, operation_id=CREATE_NO_SLASH_OPERATION)
def create_session(
    payload: Annotated[SessionCreate, Body(embed=False)], idempotency_key: IdempotencyKey = None
) -> Response[str]:
    envelope, etag = creator.create(payload, idempotency_key=idempotency_key, context=app.lambda_context)
    return json_response(201, envelope, {"Location": location_of(envelope.data.id), "ETag": etag})


lambda_handler = lambda_entry(app)
