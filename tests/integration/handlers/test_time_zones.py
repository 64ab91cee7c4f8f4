"""Timestamps round-trip whatever time zone the database's sessions default to.

Postgres prints a timestamptz in the session's TimeZone. Under America/New_York the year 1 in
UTC is a BC year (the zone's offset then was -04:56), under Asia/Tokyo the last microsecond of
9999 is in the year 10000, and neither parses as a Python datetime. The service must therefore
run every connection in UTC, whatever the server or the database says.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import URL

from tests.support.client import LambdaApiClient
from tests.support.databases import fresh_postgres_database, migrate
from tests.support.lambda_functions import load_handlers

EXTREMES = [
    pytest.param("0001-01-01T02:00:00Z", "0001-01-01T02:00:00.000000+00:00", id="year-1"),
    pytest.param("9999-12-31T23:59:59.999999Z", "9999-12-31T23:59:59.999999+00:00", id="year-9999"),
]


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("America/New_York", id="postgres-new-york", marks=pytest.mark.postgres),
        pytest.param("Asia/Tokyo", id="postgres-tokyo", marks=pytest.mark.postgres),
    ],
)
def zoned_api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LambdaApiClient]:
    """The handlers on a database of their own, whose default time zone is the parameter's."""
    if request.param == "sqlite":
        url: URL | str = f"sqlite:///{tmp_path_factory.mktemp('zones') / 'zones.db'}"
        migrate(url)
        yield LambdaApiClient(load_handlers({"DATABASE_URL": str(url)}))
        return
    with fresh_postgres_database(time_zone=request.param) as pg_url:
        migrate(pg_url)
        yield LambdaApiClient(load_handlers({"DATABASE_URL": pg_url.render_as_string(hide_password=False)}))


@pytest.mark.parametrize(("given", "stored"), EXTREMES)
def test_extreme_years_round_trip_on_create_get_and_list(zoned_api: LambdaApiClient, given: str, stored: str) -> None:
    created = zoned_api.post("/api/sessions/", {"title": "edge", "started_at": given})
    assert created.status == 201, created.body
    data = created.json()["data"]
    assert data["started_at"] == stored
    fetched = zoned_api.get(f"/api/sessions/{data['id']}")
    assert fetched.status == 200, fetched.body
    assert fetched.json()["data"] == data
    listed = zoned_api.get("/api/sessions/", query={"limit": "100"})
    assert listed.status == 200, listed.body
    assert data in listed.json()["data"]
