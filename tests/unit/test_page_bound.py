"""The cheap bound that spares most pages from measuring never underestimates a row."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from learning_sessions.domain.schemas import MAX_ID, Session
from learning_sessions.http import api

TEXT = st.text(st.characters(codec="utf-8"), max_size=60)
MOMENTS = st.datetimes(timezones=st.just(UTC)) | st.none()


@given(
    title=TEXT.filter(bool),
    description=TEXT | st.none(),
    difficulty=TEXT | st.none(),
    started_at=MOMENTS,
    session_id=st.integers(1, MAX_ID),
)
@settings(max_examples=300, deadline=None)
def test_the_bound_holds_for_any_row(
    title: str, description: str | None, difficulty: str | None, started_at: datetime | None, session_id: int
) -> None:
    moment = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    session = Session(
        id=session_id,
        title=title,
        status="in_progress",
        description=description,
        difficulty=difficulty,
        started_at=started_at,
        completed_at=moment,
        created_at=moment,
        updated_at=moment,
    )
    # As the runtime sends it at worst: the body escaped again with ensure_ascii, and a comma.
    exact = len(json.dumps(session.model_dump_json())) + 1
    text = len(title) + len(description or "") + len(difficulty or "")
    assert exact <= api._ROW_BYTES_BESIDES_TEXT + api._WORST_BYTES_PER_CHARACTER * text
