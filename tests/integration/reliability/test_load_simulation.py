"""The short load simulation (the full one is `make load-sim`): more execution environments than
connection slots, a burst of creates and reads, no 5xx but 503 with Retry-After, no lost write."""

from __future__ import annotations

import pytest

from tests.support.databases import PostgresUnavailable, postgres_admin_url, postgres_unavailable
from tests.support.load_sim import app_role_database, simulate

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def test_a_burst_beyond_the_connection_slots_answers_503_and_loses_no_write() -> None:
    admin = postgres_admin_url()
    try:
        with app_role_database(admin, slots=4, limit_database=True) as (database, as_role):
            result = simulate(database, as_role, per_function=3, requests=90, slots=4)
    except PostgresUnavailable as exc:
        postgres_unavailable(str(exc))
    print(result.report())
    assert result.bad_5xx == []
    assert result.missing == []
    assert result.created, "no create succeeded: the simulation proved nothing"
    assert any(status == 503 for _, status in result.statuses), "the slots never ran out: raise the load"
