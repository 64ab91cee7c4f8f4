from __future__ import annotations

import pytest
from sqlalchemy import URL, Engine

from tests.support.client import LambdaApiClient
from tests.support.lambda_functions import Handler, load_handlers


def _env(database_url: URL) -> dict[str, str]:
    return {"DATABASE_URL": database_url.render_as_string(hide_password=False)}


@pytest.fixture(scope="session")
def handlers(database_url: URL) -> dict[str, Handler]:
    """The five handlers, cold-started once per backend and then reused warm, as on Lambda."""
    return load_handlers(_env(database_url))


@pytest.fixture
def api(handlers: dict[str, Handler], clean_db: Engine) -> LambdaApiClient:
    return LambdaApiClient(handlers, no_write_on_5xx=clean_db)


@pytest.fixture(scope="session")
def second_handlers(database_url: URL) -> dict[str, Handler]:
    return load_handlers(_env(database_url))


@pytest.fixture
def other_api(second_handlers: dict[str, Handler], clean_db: Engine) -> LambdaApiClient:
    """Separate execution environments of the same functions, on the same database."""
    return LambdaApiClient(second_handlers, no_write_on_5xx=clean_db)
