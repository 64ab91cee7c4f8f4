"""The no-write-on-5xx check itself (tests/support/no_write.py) can fail: a 5xx after a commit is caught."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from tests.support.client import LambdaApiClient


def test_a_5xx_after_a_committed_write_fails_the_test(api: LambdaApiClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from learning_sessions.domain import service

    real_create = service.create_session

    def create_then_fail(*args: object, **kwargs: object) -> object:
        real_create(*args, **kwargs)  # type: ignore[arg-type]
        raise RuntimeError("the response could not be built")

    monkeypatch.setattr(service, "create_session", create_then_fail)
    with pytest.raises(AssertionError, match=r"POST /api/sessions/ answered 500 but wrote:\n  learning_sessions: \+"):
        api.post("/api/sessions/", {"title": "committed behind a 500"})


def test_a_5xx_that_wrote_nothing_passes(api: LambdaApiClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from learning_sessions.domain import service

    def fail(*args: object, **kwargs: object) -> object:
        raise RuntimeError("before any write")

    monkeypatch.setattr(service, "create_session", fail)
    assert api.post("/api/sessions/", {"title": "never stored"}).status == 500


def test_the_check_is_on_for_the_handler_tests(api: LambdaApiClient, clean_db: Engine) -> None:
    assert api.no_write_on_5xx is clean_db
