"""PATCH /api/sessions/{id}: partial update; only the fields sent change."""

from typing import Annotated

from learning_sessions.data.database import get_engine
from learning_sessions.domain import service
from learning_sessions.domain.schemas import SessionUpdate, build_models
from learning_sessions.http.api import (
    ITEM_PATH,
    Body,
    IfMatch,
    Response,
    SessionId,
    create_resolver,
    lambda_entry,
    request_owner,
    session_response,
)
from learning_sessions.http.openapi import UPDATE_OPERATION, documented, update_responses

build_models(SessionUpdate)  # this route's body: see schemas.DEFERRED
app = create_resolver()
engine = get_engine()


@app.patch(ITEM_PATH, responses=documented(update_responses), operation_id=UPDATE_OPERATION)
def handle_update_session(
    id: SessionId, payload: Annotated[SessionUpdate, Body(embed=False)], if_match: IfMatch = None
) -> Response[str]:
    return session_response(
        200, service.update_session(engine, id, payload, owner=request_owner(app), if_match=if_match)
    )


lambda_handler = lambda_entry(app)
