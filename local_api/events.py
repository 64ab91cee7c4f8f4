"""HTTP API (payload 2.0) events: samcli builds them; this module fixes where it differs from AWS."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Request

from local_api._samcli import construct_v2_event_http

# Measured on real HTTP APIs: only these arrive as text; every other body, including one without
# a Content-Type and form posts, arrives base64-encoded with isBase64Encoded=true. (samcli instead
# applies a REST API's BinaryMediaTypes, which an HTTP API does not have, and fails on bytes.)
_TEXT_MEDIA_TYPES = frozenset({"application/json", "application/xml", "application/javascript"})
# Keys API Gateway leaves out of the event when they would be empty.
_OMITTED_WHEN_EMPTY = ("cookies", "pathParameters", "stageVariables")


def is_binary_body(request: Request) -> bool:
    body = request.get_data(cache=True)
    if not body:
        return False
    mimetype = request.mimetype
    if not (mimetype.startswith("text/") or mimetype in _TEXT_MEDIA_TYPES):
        return True
    # A "text" body that is not UTF-8 cannot be put in the event as a string (samcli would fail
    # with a 502); it travels base64-encoded, and the function decides what to make of it.
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def build_v2_event(
    request: Request, *, route_key: str, port: int, stage_name: str | None, stage_variables: dict[str, str] | None
) -> dict[str, Any]:
    now = datetime.now(UTC)
    event: dict[str, Any] = construct_v2_event_http(
        flask_request=request,
        port=port,
        binary_types=["*/*"] if is_binary_body(request) else [],
        stage_name=stage_name,
        stage_variables=stage_variables,
        route_key=route_key,
        # samcli's defaults for these two are evaluated once, at import: every event would carry
        # the server's start time. API Gateway's timeEpoch is in milliseconds.
        request_time_epoch=int(now.timestamp() * 1000),
        request_time=now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
    )
    return _match_api_gateway(event, request)


def _match_api_gateway(event: dict[str, Any], request: Request) -> dict[str, Any]:
    # HTTP APIs deliver header names in lower case.
    headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
    if request.remote_addr:
        headers.setdefault("x-forwarded-for", request.remote_addr)
    event["headers"] = headers
    context = event["requestContext"]
    # samcli's RequestContextV2 default request id is also fixed at import time.
    context["requestId"] = str(uuid.uuid4())
    context["http"]["userAgent"] = request.headers.get("User-Agent", "")
    for key in _OMITTED_WHEN_EMPTY:
        if not event.get(key):
            event.pop(key, None)
    if not request.get_data(cache=True):
        event.pop("body", None)
    return event
