"""Every JSON log line of a request is the line Powertools' inject_lambda_context gave (issue 12).

lambda_entry used to be wrapped in logger.inject_lambda_context(correlation_id_path=
API_GATEWAY_HTTP, clear_state=True); RequestLogContext puts the same keys for less. The same
requests go through both, from a cold start, with the log level at DEBUG (so the per-request line
shows too), and their lines must be the same but for the time they were written: the same keys,
in the same order, with the same values.
"""

from __future__ import annotations

import io
import itertools
import json
import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.logging import logger as powertools_logger
from aws_lambda_powertools.logging.formatter import BasePowertoolsFormatter
from sqlalchemy.exc import OperationalError

from learning_sessions.domain.errors import NotFound
from learning_sessions.http import request_logs
from learning_sessions.http.api import create_resolver, lambda_entry, logger
from tests.support.lambda_functions import FakeLambdaContext, Handler
from tools.http_api_events import http_api_event


def handler_with_routes() -> Handler:
    app = create_resolver()

    @app.get("/ok")
    def ok() -> dict[str, str]:
        logger.info("handled", route="ok")
        return {"ok": "yes"}

    @app.get("/gone")
    def gone() -> dict[str, str]:
        raise NotFound("No such thing")

    @app.get("/unavailable")
    def unavailable() -> dict[str, str]:
        raise OperationalError("SELECT 1", {}, ConnectionResetError("connection reset by peer"))

    @app.get("/unmigrated")
    def unmigrated() -> dict[str, str]:
        raise OperationalError("SELECT 1", {}, Exception("no such table: learning_sessions"))

    @app.get("/broken")
    def broken() -> dict[str, str]:
        raise RuntimeError("a bug")

    @app.get("/sticky")
    def sticky() -> dict[str, str]:
        # Keys a request adds must not outlive it.
        logger.append_keys(left_behind="by /sticky")
        logger.thread_safe_append_keys(thread_left_behind="by /sticky")
        logger.warning("appended keys")
        return {"ok": "yes"}

    handler: Handler = lambda_entry(app)
    return handler


# (method, path, user, expected status): success, the 4xx refused before and after routing, the
# logged 5xx and 503s, keys appended in one request and gone in the next, and a missing requestId.
REQUESTS = [
    ("GET", "/ok", "alice", 200),
    ("GET", "/gone", "alice", 404),
    ("GET", "/ok", None, 401),
    ("GET", "/nowhere", "alice", 404),
    ("GET", "/unavailable", "alice", 503),
    ("GET", "/unmigrated", "alice", 503),
    ("GET", "/broken", "alice", 500),
    ("GET", "/sticky", "alice", 200),
    ("GET", "/ok", "bob", 200),
    ("GET", "/ok", "bob", 200),
]


def events() -> Iterator[tuple[dict[str, Any], FakeLambdaContext, int]]:
    for n, (method, path, user, status) in enumerate(REQUESTS):
        event = http_api_event(method, path, user=user)
        event["requestContext"]["requestId"] = f"api-gateway-request-{n}"
        if n == len(REQUESTS) - 1:
            del event["requestContext"]["requestId"]
        yield event, FakeLambdaContext(function_name="logs-test", aws_request_id=f"lambda-request-{n}"), status


def log_lines(handler: Handler) -> list[list[tuple[str, Any]]]:
    """Each line's keys and values, in order, but its timestamp."""
    buffer = io.StringIO()
    previous = logger.registered_handler.setStream(buffer)  # type: ignore[attr-defined]
    level = logger.log_level
    logger.setLevel("DEBUG")
    try:
        for event, context, status in events():
            assert handler(event, context)["statusCode"] == status
    finally:
        logger.setLevel(level)
        logger.registered_handler.setStream(previous)  # type: ignore[attr-defined]
    return [
        [item for item in json.loads(line).items() if item[0] != "timestamp"] for line in buffer.getvalue().splitlines()
    ]


@pytest.fixture
def trace_id(monkeypatch: pytest.MonkeyPatch) -> None:
    # Lambda's X-Ray trace header: its root goes on every line too.
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")


def decorated_handler(patch: pytest.MonkeyPatch) -> Handler:
    """As before: the decorator around the handler, and no RequestLogContext, from a cold start."""
    patch.setattr(request_logs.RequestLogContext, "start", lambda self, event, context: None)
    patch.setattr(powertools_logger, "is_cold_start", True)
    handler: Handler = logger.inject_lambda_context(
        handler_with_routes(), correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True
    )
    return handler


def decorated_lines(monkeypatch: pytest.MonkeyPatch) -> list[list[tuple[str, Any]]]:
    with monkeypatch.context() as patch:
        return log_lines(decorated_handler(patch))


@pytest.mark.usefixtures("trace_id")
def test_the_log_lines_are_the_decorators(monkeypatch: pytest.MonkeyPatch) -> None:
    expected = decorated_lines(monkeypatch)
    actual = log_lines(handler_with_routes())
    assert actual == expected
    # What the comparison covers: a line per log call, with the keys under test, from a cold start.
    # A "request" line each, "handled" from the three /ok that were routed, two 503s, the 500, /sticky.
    assert len(actual) == len(REQUESTS) + 3 + 4
    first, later = dict(actual[0]), dict(actual[-1])
    assert first["cold_start"] is True
    assert first["function_request_id"] == "lambda-request-0"
    assert first["correlation_id"] == "api-gateway-request-0"
    assert first["xray_trace_id"] == "1-5759e988-bd862e3fe1be46a994272793"
    assert later["cold_start"] is False
    assert later["function_request_id"] == f"lambda-request-{len(REQUESTS) - 1}"
    assert "correlation_id" not in later
    assert not any("left_behind" in dict(line) for line in actual[-4:])


def test_debug_is_sampled_again_for_each_warm_request_as_the_decorator_does(monkeypatch: pytest.MonkeyPatch) -> None:
    # POWERTOOLS_LOGGER_SAMPLE_RATE=0.5, and the dice fall out, in, out, ...: only the requests
    # sampled in write their DEBUG line. The cold one keeps the level it was given.
    monkeypatch.setattr(logger, "sampling_rate", "0.5")

    def sampled_lines(handler: Callable[[pytest.MonkeyPatch], Handler]) -> list[list[tuple[str, Any]]]:
        with monkeypatch.context() as patch:
            patch.setattr(random, "random", itertools.cycle([0.9, 0.1]).__next__)
            return log_lines(handler(patch))

    expected = sampled_lines(decorated_handler)
    actual = sampled_lines(lambda patch: handler_with_routes())
    assert actual == expected
    debug_lines = [line for line in actual if dict(line)["level"] == "DEBUG"]
    assert 1 < len(debug_lines) < len(REQUESTS)


def test_provisioned_concurrency_never_has_a_cold_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", "provisioned-concurrency")
    expected = decorated_lines(monkeypatch)
    actual = log_lines(handler_with_routes())
    assert actual == expected
    assert dict(actual[0])["cold_start"] is False


def test_another_alias_of_the_same_environment_logs_its_own_arn() -> None:
    handler = handler_with_routes()
    buffer = io.StringIO()
    previous = logger.registered_handler.setStream(buffer)  # type: ignore[attr-defined]
    try:
        for arn in (
            "arn:aws:lambda:us-east-1:123456789012:function:f:live",
            "arn:aws:lambda:us-east-1:123456789012:function:f:7",
        ):
            handler(http_api_event("GET", "/ok"), FakeLambdaContext(invoked_function_arn=arn))
    finally:
        logger.registered_handler.setStream(previous)  # type: ignore[attr-defined]
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    arns = [line["function_arn"] for line in lines if line["message"] == "handled"]
    assert [arn.rsplit(":", 1)[1] for arn in arns] == ["live", "7"]


def test_the_correlation_id_is_read_as_jmespath_reads_it() -> None:
    from aws_lambda_powertools.utilities.jmespath_utils import query

    events: list[dict[str, Any]] = [
        {"requestContext": {"requestId": "abc"}},
        {"requestContext": {"requestId": None}},
        {"requestContext": {}},
        {"requestContext": "not an object"},
        {"requestContext": ["not", "an", "object"]},
        {"requestContext": None},
        {},
    ]
    for event in events:
        assert request_logs.correlation_id(event) == query(event, correlation_paths.API_GATEWAY_HTTP), event


def test_a_logger_without_powertools_json_formatter_is_refused_at_once() -> None:
    # Its keys would otherwise be set on a formatter that never prints them: lines without request ids.
    import logging

    from aws_lambda_powertools import Logger

    plain = Logger(service=f"plain-{random.randrange(10**9)}", logger_formatter=_PlainFormatter())
    with pytest.raises(TypeError, match=r"^RequestLogContext sets the keys of Powertools' own JSON formatter$"):
        request_logs.RequestLogContext(plain)
    assert isinstance(plain.registered_formatter, logging.Formatter)


class _PlainFormatter(BasePowertoolsFormatter):
    """A formatter of Powertools' base class that is not its JSON formatter."""

    def append_keys(self, **additional_keys: Any) -> None: ...

    def clear_state(self) -> None: ...

    def get_current_keys(self) -> dict[str, Any]:
        return {}

    def remove_keys(self, keys: Any) -> None: ...
