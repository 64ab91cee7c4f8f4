"""GET /api/sessions/: newest first, keyset-paginated, optionally filtered by status."""

from typing import Annotated

from learning_sessions.data.database import get_engine
from learning_sessions.data.status import SessionStatus
from learning_sessions.domain import service
from learning_sessions.http.api import (
    COLLECTION_PATHS,
    PageSize,
    Query,
    Response,
    create_resolver,
    lambda_entry,
    page_response,
    request_owner,
)
from learning_sessions.http.openapi import LIST_NO_SLASH_OPERATION, LIST_OPERATION, documented, list_responses

app = create_resolver()
engine = get_engine()


@app.get(COLLECTION_PATHS[0], responses=documented(list_responses), operation_id=LIST_OPERATION)
@app.get(COLLECTION_PATHS[1], responses=documented(list_responses), operation_id=LIST_NO_SLASH_OPERATION)
def handle_list_sessions(
    limit: PageSize = 50,
    cursor: Annotated[
        str | None, Query(max_length=200, description="next_cursor of the previous page, under the same status filter.")
    ] = None,
    status: Annotated[SessionStatus | None, Query(description="Only sessions in this status.")] = None,
) -> Response[str]:
    return page_response(
        service.list_sessions(engine, owner=request_owner(app), limit=limit, status=status, cursor=cursor)
    )


lambda_handler = lambda_entry(app)
