"""Deployed, every request leaves CloudWatch embedded-metric lines on stdout; locally, nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from learning_sessions.http.api import create_resolver, lambda_entry, logger
from tests.support.lambda_functions import FakeLambdaContext, Handler
from tools.http_api_events import http_api_event

NAMESPACE = "LearningSessionsTest"


def handler_with_routes() -> Handler:
    app = create_resolver()

    @app.get("/ok")
    def ok() -> dict[str, str]:
        return {"ok": "yes"}

    @app.get("/broken")
    def fails() -> dict[str, str]:
        raise RuntimeError("a bug")

    handler: Handler = lambda_entry(app)
    return handler


def emf_lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith('{"_aws"')]


def test_each_request_counts_with_its_latency_and_errors_carry_their_status(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", NAMESPACE)
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    handler = handler_with_routes()
    capsys.readouterr()
    assert handler(http_api_event("GET", "/ok"), FakeLambdaContext())["statusCode"] == 200
    assert handler(http_api_event("GET", "/missing"), FakeLambdaContext())["statusCode"] == 404
    lines = emf_lines(capsys.readouterr().out)
    requests = [line for line in lines if "Requests" in line]
    assert [line["Requests"] for line in requests] == [[1.0], [1.0]]
    assert [line["ServerErrors"] for line in requests] == [[0.0], [0.0]]
    assert all(line["Latency"][0] >= 0 for line in requests)
    (error,) = [line for line in lines if "Errors" in line]
    assert error["StatusCode"] == "404"
    (directive,) = error["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == NAMESPACE
    assert ["StatusCode", "service"] in [sorted(dimensions) for dimensions in directive["Dimensions"]]


def test_a_5xx_counts_as_a_server_error(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", NAMESPACE)
    handler = handler_with_routes()
    capsys.readouterr()
    assert handler(http_api_event("GET", "/broken"), FakeLambdaContext())["statusCode"] == 500
    lines = emf_lines(capsys.readouterr().out)
    (request,) = [line for line in lines if "Requests" in line]
    assert request["ServerErrors"] == [1.0]
    (error,) = [line for line in lines if "Errors" in line]
    assert error["StatusCode"] == "500"


def test_without_a_namespace_nothing_is_printed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("POWERTOOLS_METRICS_NAMESPACE", raising=False)
    handler = handler_with_routes()
    capsys.readouterr()
    handler(http_api_event("GET", "/missing"), FakeLambdaContext())
    assert emf_lines(capsys.readouterr().out) == []


def test_the_metric_lines_in_full(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Names, units, dimensions and namespace are what the template's alarms and dashboard read; a 400
    is the lowest status that counts as an error."""
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", NAMESPACE)
    handler = handler_with_routes()
    capsys.readouterr()
    event = http_api_event("POST", "/ok", headers={"Content-Type": "application/json"})
    event.update(body="not base64!", isBase64Encoded=True)  # refused before routing: 400
    assert handler(event, FakeLambdaContext())["statusCode"] == 400
    request, error = emf_lines(capsys.readouterr().out)

    assert request["_aws"]["CloudWatchMetrics"] == [
        {
            "Namespace": NAMESPACE,
            "Dimensions": [["service"]],
            "Metrics": [
                {"Name": "Requests", "Unit": "Count"},
                {"Name": "ServerErrors", "Unit": "Count"},
                {"Name": "Latency", "Unit": "Milliseconds"},
            ],
        }
    ]
    assert (request["service"], request["Requests"], request["ServerErrors"]) == (logger.service, [1.0], [0.0])
    (directive,) = error["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == NAMESPACE
    assert directive["Metrics"] == [{"Name": "Errors", "Unit": "Count"}]
    assert sorted(map(sorted, directive["Dimensions"])) == [["StatusCode", "service"]]
    assert (error["service"], error["StatusCode"], error["Errors"]) == (logger.service, "400", [1.0])
