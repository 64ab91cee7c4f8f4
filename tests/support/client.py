"""A test client that routes requests to the Lambda handlers as API Gateway would."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from tests.support.lambda_functions import FakeLambdaContext, Handler
from tests.support.no_write import assert_no_write_on_server_error
from tools.http_api_events import TEST_USER, http_api_event

_UNSET: Any = object()

# A session as the API returns it: exactly these fields, in this order (the feature spec's).
SESSION_FIELDS = (
    "id",
    "title",
    "status",
    "description",
    "difficulty",
    "started_at",
    "completed_at",
    "created_at",
    "updated_at",
)


@dataclass
class ApiResponse:
    status: int
    headers: dict[str, str]
    body: str

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        return {key.lower(): value for key, value in self.headers.items()}.get(name.lower())


class LambdaApiClient:
    """Requests as `user` (the token's `sub`), unless a request names another user (None: no authorizer)."""

    def __init__(self, handlers: dict[str, Handler], *, user: str = TEST_USER, no_write_on_5xx: Engine | None = None):
        """``no_write_on_5xx``: the database to check is unchanged by every request answered with a 5xx."""
        self.handlers = handlers
        self.user = user
        self.no_write_on_5xx = no_write_on_5xx
        self.last_context: FakeLambdaContext | None = None

    def _route(self, method: str, path: str) -> tuple[str, str, dict[str, str] | None]:
        if path in ("/api/sessions", "/api/sessions/"):
            name = {"GET": "list_sessions", "POST": "create_session"}[method]
            return name, path, None
        session_id = path.removeprefix("/api/sessions/")
        name = {"GET": "get_session", "PATCH": "update_session", "DELETE": "delete_session"}[method]
        return name, "/api/sessions/{id}", {"id": session_id}

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = _UNSET,
        raw_body: str | bytes | None = None,
        headers: Mapping[str, str | None] | None = None,
        query: dict[str, str] | None = None,
        base64_body: bool = False,
        user: str | None = _UNSET,
    ) -> ApiResponse:
        return assert_no_write_on_server_error(
            self.no_write_on_5xx,
            lambda: self._send(method, path, json_body, raw_body, headers, query, base64_body, user),
            lambda response: response.status,
            f"{method} {path}",
        )

    def _send(
        self,
        method: str,
        path: str,
        json_body: Any,
        raw_body: str | bytes | None,
        headers: Mapping[str, str | None] | None,
        query: dict[str, str] | None,
        base64_body: bool,
        user: str | None,
    ) -> ApiResponse:
        name, route, path_parameters = self._route(method, path)
        body: Any = raw_body if json_body is _UNSET else json.dumps(json_body)
        event = http_api_event(
            method,
            path,
            route=route,
            body=body,
            headers=headers,
            query=query,
            path_parameters=path_parameters,
            base64_body=base64_body,
            user=self.user if user is _UNSET else user,
        )
        self.last_context = FakeLambdaContext(function_name=name)
        result = self.handlers[name](event, self.last_context)
        assert result.get("isBase64Encoded") in (None, False)
        return ApiResponse(
            status=result["statusCode"], headers=result.get("headers") or {}, body=result.get("body") or ""
        )

    def get(self, path: str, **kwargs: Any) -> ApiResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json_body: Any = _UNSET, **kwargs: Any) -> ApiResponse:
        return self.request("POST", path, json_body=json_body, **kwargs)

    def patch(self, path: str, json_body: Any = _UNSET, **kwargs: Any) -> ApiResponse:
        return self.request("PATCH", path, json_body=json_body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> ApiResponse:
        return self.request("DELETE", path, **kwargs)

    def as_user(self, user: str) -> LambdaApiClient:
        """The same functions, with requests from another caller."""
        return LambdaApiClient(self.handlers, user=user, no_write_on_5xx=self.no_write_on_5xx)

    def create(self, **fields: Any) -> dict[str, Any]:
        response = self.post("/api/sessions/", {"title": "Learn Flask", **fields})
        assert response.status == 201, response.body
        data: dict[str, Any] = response.json()["data"]
        return data
