"""UTCDateTime stores the instant it is given in UTC, whatever the value's offset and the process's zone.

The service only ever binds aware UTC values; these are the values it does not send today, which the
type promises to store correctly all the same.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Dialect, create_engine

from learning_sessions.data.tables import UTCDateTime

KATHMANDU = timezone(timedelta(hours=5, minutes=45))
# Dialects without a database: binding a value needs none.
DIALECTS: dict[str, Dialect] = {
    "sqlite": create_engine("sqlite://").dialect,
    "postgresql": create_engine("postgresql+pg8000://nobody@127.0.0.1/none").dialect,
}
INSTANT = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)


@pytest.fixture
def process_in_kathmandu(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A process whose local zone is not UTC: a naive value read as local time would move."""
    monkeypatch.setenv("TZ", "Asia/Kathmandu")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def bind(value: datetime, dialect_name: str) -> datetime | None:
    return UTCDateTime().process_bind_param(value, DIALECTS[dialect_name])


@pytest.mark.usefixtures("process_in_kathmandu")
@pytest.mark.parametrize(
    "value",
    [INSTANT, INSTANT.astimezone(KATHMANDU), INSTANT.replace(tzinfo=None)],
    ids=["utc", "another-offset", "naive-as-utc"],
)
def test_any_value_is_bound_as_its_utc_instant(value: datetime) -> None:
    assert bind(value, "sqlite") == INSTANT.replace(tzinfo=None)  # SQLite: the UTC wall clock, no zone
    bound = bind(value, "postgresql")
    assert bound == INSTANT
    assert bound is not None
    assert bound.utcoffset() == timedelta(0)
