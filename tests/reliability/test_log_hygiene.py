"""Logs never carry the database password or a large request body, even when requests fail."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest
from sqlalchemy import URL, Engine

from learning_sessions.settings import ConfigError
from tests.client import LambdaApiClient
from tests.lambda_functions import load_handlers
from tests.reliability.conftest import env_for, lock_held
from tests.tcp_proxy import FaultyProxy, Mode

PASSWORD = "pa55-Word-that-must-not-leak"
BIG = "B" * 600_000


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    from learning_sessions.api import logger

    buffer = io.StringIO()
    handler = logger.registered_handler
    previous = handler.setStream(buffer)  # type: ignore[attr-defined]
    try:
        yield buffer
    finally:
        handler.setStream(previous)  # type: ignore[attr-defined]


def test_outage_logs_neither_password_nor_body(pg_url: URL, proxy: FaultyProxy, captured_logs: io.StringIO) -> None:
    url = pg_url.set(host="127.0.0.1", port=proxy.port, password=PASSWORD)  # trust auth ignores it
    api = LambdaApiClient(load_handlers(env_for(url, DB_CONNECT_TIMEOUT="1")))
    assert api.post("/api/sessions/", {"title": "ok"}).status == 201
    proxy.set_mode(Mode.DOWN)
    assert api.post("/api/sessions/", {"title": "big", "description": BIG}).status == 503
    logs = captured_logs.getvalue()
    assert "Database unavailable" in logs
    assert PASSWORD not in logs
    assert BIG[:100] not in logs


def test_failed_statement_logs_no_bound_values(pg_url: URL, pg_engine: Engine, captured_logs: io.StringIO) -> None:
    api = LambdaApiClient(load_handlers(env_for(pg_url, DB_STATEMENT_TIMEOUT_MS="200")))
    # SHARE mode blocks INSERT, so the failing statement is the one carrying the body.
    with lock_held(pg_engine, "LOCK TABLE learning_sessions IN SHARE MODE"):
        assert api.post("/api/sessions/", {"title": "big", "description": BIG}).status == 503
    lines = [json.loads(line) for line in captured_logs.getvalue().splitlines()]
    assert any(line["message"] == "Database unavailable" for line in lines)
    assert BIG[:100] not in captured_logs.getvalue()


def test_request_log_line_has_no_body(pg_url: URL, captured_logs: io.StringIO) -> None:
    api = LambdaApiClient(load_handlers(env_for(pg_url)))
    assert api.post("/api/sessions/", {"title": "t", "description": BIG}).status == 201
    assert BIG[:100] not in captured_logs.getvalue()
    assert len(captured_logs.getvalue()) < 10_000


@pytest.mark.parametrize("character", "@/:?#%")
@pytest.mark.parametrize("encoded", [False, True], ids=["raw", "percent-encoded"])
def test_no_part_of_a_password_with_a_special_character_reaches_an_error_or_a_log(
    character: str, encoded: bool, captured_logs: io.StringIO
) -> None:
    """Refused at cold start (an unencoded @), or served and never printed: no third way."""
    password = f"alpha%{ord(character):02X}bravo" if encoded else f"alpha{character}bravo"
    # The discard port: nothing listens on it here, so every request meets an outage.
    url = f"postgresql://app:{password}@127.0.0.1:9/sessions"
    messages = []
    try:
        api = LambdaApiClient(load_handlers({"DATABASE_URL": url, "DB_CONNECT_TIMEOUT": "1"}))
    except ConfigError as exc:
        assert "DATABASE_URL" in str(exc)
        assert (character, encoded) == ("@", False), "only an unencoded @ is ambiguous"
        messages.append(str(exc))
    else:
        assert api.get("/api/sessions/").status == 503
        assert "Database unavailable" in captured_logs.getvalue()
    messages.append(captured_logs.getvalue())
    for text in messages:
        assert "alpha" not in text
        assert "bravo" not in text
