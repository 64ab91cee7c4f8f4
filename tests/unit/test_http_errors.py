"""A request refused before routing gets the very answer the resolver gives for the same error."""

from __future__ import annotations

import json
import sqlite3
from typing import Any, cast

import pytest
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.utilities.typing import LambdaContext
from sqlalchemy.exc import OperationalError

from learning_sessions.domain.errors import ApiError, ServiceUnavailable
from learning_sessions.http.http_errors import (
    api_error_proxy_result,
    api_error_response,
    is_database_unavailable,
    is_schema_missing,
)
from tests.support.client import LambdaApiClient
from tests.support.lambda_functions import FakeLambdaContext, load_handlers
from tools.http_api_events import http_api_event


def resolver_answer(error: ApiError) -> dict[str, Any]:
    app = APIGatewayHttpResolver()

    @app.get("/refused")
    def refused() -> Any:
        return api_error_response(error)

    answer: dict[str, Any] = app.resolve(http_api_event("GET", "/refused"), cast(LambdaContext, FakeLambdaContext()))
    return answer


def test_the_proxy_result_of_an_error_is_the_resolvers_answer_to_it() -> None:
    error = ServiceUnavailable("Try later", details=[{"loc": ["header", "x"]}], headers={"Retry-After": "1"})
    answer = resolver_answer(error)
    answer.pop("cookies", None)  # the resolver's empty list of cookies: nothing to set
    assert api_error_proxy_result(error) == answer
    assert answer == {
        "statusCode": 503,
        "headers": {"Content-Type": "application/json", "Retry-After": "1"},
        "body": '{"error":{"code":"service_unavailable","message":"Try later","details":[{"loc":["header","x"]}]}}',
        "isBase64Encoded": False,
    }


def test_an_error_wrapping_a_database_outage_counts_as_the_outage() -> None:
    # Powertools' idempotency layer, for one, raises its own error from the driver's.
    outage = OperationalError("SELECT 1", None, ConnectionRefusedError("the database is down"))
    wrapped = RuntimeError("the idempotency record could not be read")
    wrapped.__cause__ = outage
    assert is_database_unavailable(outage)
    assert is_database_unavailable(wrapped)
    assert not is_database_unavailable(RuntimeError("a bug"))


def test_only_a_missing_table_is_a_missing_schema() -> None:
    missing = OperationalError("SELECT 1", None, sqlite3.OperationalError("no such table: learning_sessions"))
    wrapped = RuntimeError("the idempotency record could not be read")
    wrapped.__cause__ = missing
    assert is_schema_missing(missing)
    assert is_schema_missing(wrapped)
    assert not is_schema_missing(OperationalError("SELECT 1", None, sqlite3.OperationalError("database is locked")))


@pytest.mark.parametrize(
    "event", [{}, {"requestContext": {}}, {"requestContext": {"http": {}}}], ids=["empty", "no-http", "no-method"]
)
def test_an_event_that_is_not_api_gateways_is_refused_with_a_401_not_a_crash(event: dict[str, Any]) -> None:
    # A console test event or a direct invoke: no route, no caller, and still a JSON error.
    for name, handler in load_handlers({"DATABASE_URL": "sqlite://"}).items():
        answer = handler(event, FakeLambdaContext())
        assert answer["statusCode"] == 401, name
        assert json.loads(answer["body"])["error"]["code"] == "unauthorized", name


def test_a_freshly_started_function_parses_bodies_with_the_strict_parser() -> None:
    # The handler fixtures of the other tests start each function once per run; this one starts them here,
    # so that the resolver's set-up (its JSON parser) is checked by a test that runs it.
    api = LambdaApiClient(load_handlers({"DATABASE_URL": "sqlite://"}))
    for body, message in (
        ('{"title": "x", "difficulty": NaN}', "Request body contains NaN, which is not JSON"),
        ('{"title": "x", "title": "y"}', "Request body has duplicate keys"),
    ):
        answer = api.request("POST", "/api/sessions/", raw_body=body)
        assert answer.status == 400, body
        assert answer.json()["error"]["message"] == message
