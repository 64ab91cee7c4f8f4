"""GET /api/sessions/: newest first, keyset-paginated, optionally filtered by status."""

from typing import Annotated

from learning_sessions import service
from learning_sessions.api import (
    COLLECTION_PATHS,
    Query,
    Response,
    create_resolver,
    json_response,
    lambda_entry,
    request_owner,
)
from learning_sessions.database import get_engine
from learning_sessions.openapi import LIST_NO_SLASH_OPERATION, LIST_OPERATION, LIST_RESPONSES
from learning_sessions.schemas import Session, SessionPage
from learning_sessions.status import SessionStatus

app = create_resolver()
engine = get_engine()


@app.get(COLLECTION_PATHS[0], responses=LIST_RESPONSES, operation_id=LIST_OPERATION)
@app.get(COLLECTION_PATHS[1], responses=LIST_RESPONSES, operation_id=LIST_NO_SLASH_OPERATION)
def list_sessions(
    limit: Annotated[int, Query(ge=1, le=100, description="Page size.")] = 50,
    cursor: Annotated[str | None, Query(max_length=200, description="next_cursor of the previous page.")] = None,
    status: Annotated[SessionStatus | None, Query(description="Only sessions in this status.")] = None,
) -> Response[str]:
    rows, next_cursor = service.list_sessions(
        engine, owner=request_owner(app), limit=limit, status=status, cursor=cursor
    )
    page = SessionPage(data=[Session.model_validate(row) for row in rows], next_cursor=next_cursor)
    return json_response(200, page)


lambda_handler = lambda_entry(app)
