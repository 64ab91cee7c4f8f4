"""GET /api/sessions/{id}: one session."""

from learning_sessions.data.database import get_engine
from learning_sessions.domain import service
from learning_sessions.http.api import (
    ITEM_PATH,
    Response,
    SessionId,
    create_resolver,
    lambda_entry,
    request_owner,
    session_response,
)
from learning_sessions.http.openapi import GET_OPERATION, documented, get_responses

app = create_resolver()
engine = get_engine()


@app.get(ITEM_PATH, responses=documented(get_responses), operation_id=GET_OPERATION)
def handle_get_session(id: SessionId) -> Response[str]:
    return session_response(200, service.get_session(engine, id, owner=request_owner(app)))


lambda_handler = lambda_entry(app)
