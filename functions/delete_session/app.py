"""DELETE /api/sessions/{id}: 204 when deleted."""

from learning_sessions.data.database import get_engine
from learning_sessions.domain import service
from learning_sessions.http.api import (
    ITEM_PATH,
    IfMatch,
    Response,
    SessionId,
    create_resolver,
    lambda_entry,
    no_content_response,
    request_owner,
)
from learning_sessions.http.openapi import DELETE_OPERATION, delete_responses, documented

app = create_resolver()
engine = get_engine()


@app.delete(ITEM_PATH, responses=documented(delete_responses), operation_id=DELETE_OPERATION)
def handle_delete_session(id: SessionId, if_match: IfMatch = None) -> Response[None]:
    service.delete_session(engine, id, owner=request_owner(app), if_match=if_match)
    return no_content_response()


lambda_handler = lambda_entry(app)
