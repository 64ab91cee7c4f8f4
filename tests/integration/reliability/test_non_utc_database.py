"""A Postgres database whose default time zone is not UTC (issue 8 item 2), through the 5xx check.

Before the fix the extreme years answered 500 with the row committed behind it, which the
no-write check of tests/support/no_write.py reports as such.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import create_engine, text

from tests.integration.reliability.conftest import env_for
from tests.support.client import LambdaApiClient
from tests.support.databases import fresh_postgres_database, migrate
from tests.support.lambda_functions import load_handlers

pytestmark = pytest.mark.postgres


@pytest.mark.parametrize(
    ("zone", "value"),
    [("America/New_York", "0001-01-01T02:00:00Z"), ("Asia/Tokyo", "9999-12-31T23:59:59.999999Z")],
)
def test_extreme_years_round_trip_whatever_the_database_time_zone(zone: str, value: str) -> None:
    with fresh_postgres_database() as url:
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text(f"ALTER DATABASE \"{url.database}\" SET timezone TO '{zone}'"))
        migrate(url)
        try:
            api = LambdaApiClient(load_handlers(env_for(url)), no_write_on_5xx=engine)
            created = api.post("/api/sessions/", {"title": zone, "started_at": value})
            assert created.status == 201, created.body
            started_at = created.json()["data"]["started_at"]
            assert started_at.endswith("+00:00")
            assert datetime.fromisoformat(started_at) == datetime.fromisoformat(value)
            fetched = api.get(f"/api/sessions/{created.json()['data']['id']}")
            assert fetched.json() == created.json()
            assert api.get("/api/sessions/").json()["data"] == [created.json()["data"]]
        finally:
            engine.dispose()
