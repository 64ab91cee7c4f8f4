from __future__ import annotations

import pytest
from sqlalchemy import URL, Engine

from tests.client import LambdaApiClient
from tests.lambda_functions import Handler, load_handlers


@pytest.fixture(scope="session")
def handlers(database_url: URL) -> dict[str, Handler]:
    """The five handlers, cold-started once per backend and then reused warm, as on Lambda."""
    return load_handlers({"DATABASE_URL": database_url.render_as_string(hide_password=False)})


@pytest.fixture
def api(handlers: dict[str, Handler], clean_db: Engine) -> LambdaApiClient:
    return LambdaApiClient(handlers)
