"""API Gateway HTTP API (payload 2.0) events, built as API Gateway builds them."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

# Whom an in-process request comes from unless a test says otherwise: API Gateway's JWT
# authorizer passes the token's claims to the function, and `sub` is the session's owner.
TEST_USER = "test-user"


def http_api_event(
    method: str,
    path: str,
    *,
    route: str | None = None,
    body: Any = None,
    headers: Mapping[str, str | None] | None = None,
    query: dict[str, str] | None = None,
    path_parameters: dict[str, str] | None = None,
    base64_body: bool = False,
    user: str | None = TEST_USER,
) -> dict[str, Any]:
    """An event for `user`'s request, or (user=None) one that never passed an authorizer."""
    if body is not None and not isinstance(body, (str, bytes)):
        body = json.dumps(body)
    if isinstance(body, bytes):
        body, base64_body = base64.b64encode(body).decode(), True
    elif base64_body and body is not None:
        body = base64.b64encode(body.encode()).decode()
    all_headers = {"host": "localhost", "user-agent": "pytest"}
    if body is not None:
        all_headers["content-type"] = "application/json"
    # A header given as None is left out, even the content-type added above.
    for key, value in (headers or {}).items():
        all_headers.pop(key.lower(), None)
        if value is not None:
            all_headers[key.lower()] = value
    route_key = f"{method} {route or path}"
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": urlencode(query or {}, errors="surrogatepass"),
        "headers": all_headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": "localhost",
            "domainPrefix": "localhost",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "pytest",
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": route_key,
            "stage": "$default",
            "time": "26/Nov/2026:12:00:00 +0000",
            "timeEpoch": 1795694400000,
        },
        "isBase64Encoded": base64_body,
    }
    if user is not None:
        # As the HTTP API's JWT authorizer passes a verified token's claims (all strings).
        event["requestContext"]["authorizer"] = {"jwt": {"claims": {"sub": user}, "scopes": None}}
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = path_parameters
    if body is not None:
        event["body"] = body
    return event
