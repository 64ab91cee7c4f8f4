"""Rows go to JSON without Pydantic, in exactly the bytes the validated path gives (issue 12).

The validated path is the contract: Session.model_validate(row), put in its envelope or page, then
model_dump_json(). session_json must write the same bytes for every row the database can hold,
in every response that carries sessions: one session, a page, and the 201 body that an
Idempotency-Key stores and replays.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any, cast

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from learning_sessions.data.status import SESSION_STATUSES, SessionStatus
from learning_sessions.domain.cursor import list_filter
from learning_sessions.domain.idempotency import CreatedSession
from learning_sessions.domain.schemas import PAGE_BYTE_BUDGET, Session, SessionEnvelope, SessionPage
from learning_sessions.domain.service import Page
from learning_sessions.http import api

# What escapes differently in one JSON encoder or another: quotes, backslashes, every C0 control,
# DEL, the C1 controls, the line and paragraph separators JavaScript once refused, and characters
# of 2, 3 and 4 bytes in UTF-8 (astral ones are a surrogate pair in \u escapes).
TRICKY = st.sampled_from(
    ['"', "\\", "/", "\x7f", "\x85", "\u2028", "\u2029", "é", "€", "\ufeff", "\U0001f600", "\U0010ffff"]
    + [chr(code) for code in range(0x20)]
)
# Any character either database stores: no lone surrogates (neither stores them as UTF-8).
CHARACTER = st.characters(codec="utf-8") | TRICKY
TEXT = st.text(CHARACTER, max_size=40) | st.builds(
    lambda text, n: text * n, st.text(CHARACTER, min_size=1, max_size=3), st.integers(1_000, 20_000)
)

EXTREMES = [
    datetime(1, 1, 1, tzinfo=UTC),
    datetime(1, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
    datetime(2000, 2, 29, 12, 0, 0, 500000, tzinfo=UTC),
]


def _convertible_to_utc(moment: datetime) -> bool:
    try:
        moment.astimezone(UTC)
    except OverflowError:  # year 1 ahead of UTC or year 9999 behind it: not a time either database holds
        return False
    return True


OFFSETS = st.builds(lambda minutes: timezone(timedelta(minutes=minutes)), st.integers(-23 * 60 - 59, 23 * 60 + 59))
# What the data layer returns is aware and in UTC on both databases (UTCDateTime, pg8000's timestamptz);
# naive values (SQLite without that type) and other offsets are covered too, as the validated path reads them.
MOMENT = (
    st.sampled_from(EXTREMES)
    | st.datetimes(timezones=st.just(UTC))
    | st.datetimes(timezones=st.just(UTC)).map(lambda moment: moment.replace(microsecond=0))
    | st.datetimes()
    | st.datetimes(timezones=OFFSETS).filter(_convertible_to_utc)
)

ROW = st.fixed_dictionaries(
    {
        "id": st.integers(1, 2**63 - 1),  # BIGINT's range, beyond the API's MAX_ID
        "title": TEXT,
        "status": st.sampled_from([*SESSION_STATUSES, *SessionStatus]),
        "description": TEXT | st.none(),
        "difficulty": TEXT | st.none(),
        "started_at": MOMENT | st.none(),
        "completed_at": MOMENT | st.none(),
        "created_at": MOMENT,
        "updated_at": MOMENT,
        "version": st.integers(1, 2**31 - 1),
        "owner": st.text(max_size=5),  # columns beyond Session's are not in the response
    }
)
# The row as a dict, or as a mapping that is not one (SQLAlchemy's RowMapping is a Mapping, not a dict).
AsMapping = Callable[[dict[str, Any]], Mapping[str, Any]]
AS_MAPPING = st.sampled_from([dict, MappingProxyType])
PROPERTY = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(autouse=True, scope="module")
def local_time_not_utc() -> Iterator[None]:
    """The process's local time 3½ hours behind UTC: a naive value read as local time would show."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TZ", "America/St_Johns")
        time.tzset()
        yield
    time.tzset()


def validated(row: Mapping[str, Any]) -> Session:
    return Session.model_validate(row)


@given(row=ROW, as_mapping=AS_MAPPING)
@PROPERTY
def test_one_session_is_the_validated_bytes(row: dict[str, Any], as_mapping: AsMapping) -> None:
    response = api.session_response(200, as_mapping(row))
    assert response.body == SessionEnvelope(data=validated(row)).model_dump_json()


@given(row=ROW, as_mapping=AS_MAPPING)
@PROPERTY
def test_the_created_body_an_idempotency_key_stores_is_the_validated_bytes(
    row: dict[str, Any], as_mapping: AsMapping
) -> None:
    created = CreatedSession.from_row(as_mapping(row))
    assert created.body == SessionEnvelope(data=validated(row)).model_dump_json()
    assert created.session_id == row["id"]


@given(rows=st.lists(ROW, max_size=4), more=st.booleans(), as_mapping=AS_MAPPING)
@PROPERTY
def test_a_page_is_the_validated_bytes(rows: list[dict[str, Any]], more: bool, as_mapping: AsMapping) -> None:
    page = Page(
        rows=cast(Any, [as_mapping(row) for row in rows]),
        more=more and bool(rows),
        filter=list_filter(owner="someone", status=None),
    )
    body = api.page_response(page).body
    expected = SessionPage(data=[validated(row) for row in rows], next_cursor=page.next_cursor(len(rows)))
    assert body == expected.model_dump_json()


def test_a_page_over_the_byte_budget_is_cut_where_the_validated_rows_would_be() -> None:
    # Six rows of a megabyte of quotes (each escaped twice over): the budget holds fewer.
    moment = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    rows: list[dict[str, Any]] = [
        {
            "id": n,
            "title": f"big {n}",
            "status": "planned",
            "description": '"' * 1_000_000,
            "difficulty": None,
            "started_at": None,
            "completed_at": None,
            "created_at": moment - timedelta(seconds=n),
            "updated_at": moment,
            "version": 1,
        }
        for n in range(1, 7)
    ]
    page = Page(rows=cast(Any, rows), more=False, filter=list_filter(owner="someone", status=None))
    body = api.page_response(page).body
    sessions = [validated(row) for row in rows]
    # The rule, applied to the validated path's bytes: as many rows as fit, escaped again as the runtime may.
    used, count = 0, 0
    for session in sessions:
        used += len(json.dumps(session.model_dump_json())) + 1
        if used > PAGE_BYTE_BUDGET:
            break
        count += 1
    assert 1 <= count < len(rows)
    assert body == SessionPage(data=sessions[:count], next_cursor=page.next_cursor(count)).model_dump_json()
