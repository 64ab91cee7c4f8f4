"""What each operation can answer, for the OpenAPI document: statuses, headers, the error envelope.

Powertools adds its own 422 schema unless a route declares its responses, so every route
declares them here, from the same models the handlers use. Only for the document, though: see
documented().
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel, ConfigDict, RootModel

from learning_sessions.domain.schemas import PAGE_BYTE_BUDGET, ErrorEnvelope, SessionEnvelope, SessionPage

JSON = "application/json"

_ETAG = {"ETag": {"description": "The session's version, for If-Match.", "schema": {"type": "string"}}}
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "string"}}}
_ERROR_DESCRIPTIONS = {
    400: "Malformed body: not a JSON object, not UTF-8 text, with duplicate keys, nested too deeply, "
    "or with an integer literal of over 4,300 digits.",
    404: "No session with this id.",
    412: "If-Match does not name the session's current ETag.",
    413: "Request body over 1 MB.",
    415: "A body without Content-Type, with one other than application/json, with a charset other than "
    "UTF-8, or content-encoded.",
    422: "A field, parameter or header is invalid; details list each one.",
    503: "The database is unavailable; nothing was changed. Retry after Retry-After seconds.",
}
_ERROR_HEADERS = {412: _ETAG, 503: _RETRY_AFTER}

# Every route is behind API Gateway's JWT authorizer (template.yaml): a bearer token is required.
# (The scheme itself is declared by tools/openapi.py: its Powertools model costs ~70 ms to import.)
BEARER_SCHEME = "bearerAuth"
SECURITY: list[dict[str, list[str]]] = [{BEARER_SCHEME: []}]

# True only while tools/openapi.py loads the functions to build the document.
_documenting = False


@contextmanager
def building_the_document() -> Iterator[None]:
    """Routes declare their responses (see documented) while the functions are loaded in here.

    Only in here: a function loaded afterwards in the same process (the test suite's) is as on Lambda.
    """
    global _documenting
    _documenting = True
    try:
        yield
    finally:
        _documenting = False


def documented(responses: Callable[[], dict[int, OpenAPIResponse]]) -> dict[int, OpenAPIResponse] | None:
    """A route's responses when the document is being built; None in a function, which never builds it.

    The resolver reads a route's responses for the document alone (validation never does), yet
    at the route's first request Powertools turns each response model into a TypeAdapter all the
    same: about a millisecond of every cold start, for nothing. They are built here, not at import,
    so a function never builds them either (and mutation testing sees the code that does).
    """
    return responses() if _documenting else None


class GatewayUnauthorized(BaseModel):
    """What API Gateway's JWT authorizer itself answers: the function never sees the request."""

    # Built only for the document, as the models it names are (schemas.DEFERRED).
    model_config = ConfigDict(title="GatewayUnauthorized", defer_build=True)

    message: str


# Not RootModel[GatewayUnauthorized | ErrorEnvelope]: pydantic builds a parametrised class as it
# makes it, deferred or not. The root annotation gives the same model and schema.
class UnauthorizedBody(RootModel):  # type: ignore[type-arg]
    model_config = ConfigDict(title="UnauthorizedBody", defer_build=True)

    root: GatewayUnauthorized | ErrorEnvelope


_UNAUTHORIZED: dict[str, Any] = {
    "description": "No valid bearer token. Deployed, API Gateway's authorizer answers this itself, before any "
    'function, with `{"message": "Unauthorized"}` and a `WWW-Authenticate: Bearer ...` header. A function '
    "invoked without the authorizer's claims (never through the deployed API) answers the error envelope "
    'with code "unauthorized" and `WWW-Authenticate: Bearer`.',
    "headers": {"WWW-Authenticate": {"description": "The bearer challenge (RFC 6750).", "schema": {"type": "string"}}},
    "content": {JSON: {"model": UnauthorizedBody}},
}


def _error(status: int) -> OpenAPIResponse:
    response: dict[str, Any] = {
        "description": _ERROR_DESCRIPTIONS[status],
        "content": {JSON: {"model": ErrorEnvelope}},
    }
    if status in _ERROR_HEADERS:
        response["headers"] = _ERROR_HEADERS[status]
    return response  # type: ignore[return-value]


def _success(
    description: str,
    model: type[BaseModel] | None,
    headers: dict[str, Any] | None = None,
    *,
    links: dict[str, Any] | None = None,
) -> OpenAPIResponse:
    # The body's model is named here rather than taken from the return annotation: handlers
    # return bodies already serialised (see api.json_response), annotated as str.
    response: dict[str, Any] = {
        "description": description,
        "content": {JSON: {"model": model}} if model is not None else {},
    }
    if headers:
        response["headers"] = headers
    if links:
        response["links"] = links
    return response  # type: ignore[return-value]


# Operation ids, named so that links (and generated clients) can refer to them.
LIST_OPERATION = "listSessions"
LIST_NO_SLASH_OPERATION = "listSessionsWithoutSlash"
CREATE_OPERATION = "createSession"
CREATE_NO_SLASH_OPERATION = "createSessionWithoutSlash"
GET_OPERATION = "getSession"
UPDATE_OPERATION = "updateSession"
DELETE_OPERATION = "deleteSession"


def _links_to_the_session(id_from: str, *, etag: bool) -> dict[str, Any]:
    """OpenAPI links from a response that holds a session to the operations on it."""
    target = {"id": id_from} | ({"header.If-Match": "$response.header.ETag"} if etag else {})
    return {
        "GetSession": {"operationId": GET_OPERATION, "parameters": {"id": id_from}},
        "UpdateSession": {"operationId": UPDATE_OPERATION, "parameters": target},
        "DeleteSession": {"operationId": DELETE_OPERATION, "parameters": target},
    }


def _responses(success: tuple[int, OpenAPIResponse], *errors: int) -> dict[int, OpenAPIResponse]:
    status, response = success
    # 401 on every operation: every route is behind the authorizer.
    errors_by_status: dict[int, OpenAPIResponse] = {code: _error(code) for code in errors}
    errors_by_status[401] = _UNAUTHORIZED  # type: ignore[assignment]
    return {status: response} | dict(sorted(errors_by_status.items()))


def list_responses() -> dict[int, OpenAPIResponse]:
    page = _success(
        "A page of sessions, newest first: at most `limit` rows, and fewer when more would take the "
        f"page over {PAGE_BYTE_BUDGET:,} bytes as Lambda may encode it (under its 6 MB response limit); "
        "`next_cursor` then leads to the rest. A page always has at least one row if any remain.",
        SessionPage,
    )
    return _responses((200, page), 422, 503)


def create_responses() -> dict[int, OpenAPIResponse]:
    created = _success(
        "The created session (or, for a repeated Idempotency-Key, the first response).",
        SessionEnvelope,
        {"Location": {"description": "The session's URL.", "schema": {"type": "string"}}, **_ETAG},
        links=_links_to_the_session("$response.body#/data/id", etag=True),
    )
    return _responses((201, created), 400, 413, 415, 422, 503)


def get_responses() -> dict[int, OpenAPIResponse]:
    session = _success("The session.", SessionEnvelope, _ETAG, links=_session_links())
    return _responses((200, session), 404, 422, 503)


def update_responses() -> dict[int, OpenAPIResponse]:
    updated = _success("The updated session.", SessionEnvelope, _ETAG, links=_session_links())
    return _responses((200, updated), 400, 404, 412, 413, 415, 422, 503)


def delete_responses() -> dict[int, OpenAPIResponse]:
    return _responses((204, _success("Deleted.", None)), 404, 412, 422, 503)


def _session_links() -> dict[str, Any]:
    return _links_to_the_session("$request.path.id", etag=True)
