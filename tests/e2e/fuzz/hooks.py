"""Schemathesis hooks for the fuzz run."""

from __future__ import annotations

import calendar
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import schemathesis

from learning_sessions.domain.etags import IF_MATCH_PATTERN

_KEY_HEADER = "idempotency-key"
_MAX_KEY_LENGTH = 255
_IF_MATCH = re.compile(IF_MATCH_PATTERN)
_LIST_OPERATIONS = {"listSessions", "listSessionsWithoutSlash"}
_CREATE_OPERATIONS = {"createSession", "createSessionWithoutSlash"}
_BODY_OPERATIONS = _CREATE_OPERATIONS | {"updateSession"}
_TEXT_FIELDS = ("title", "description", "difficulty")
_TIME_FIELDS = ("started_at", "completed_at")
# NUL and lone surrogates: the document's text patterns exclude them with a surrogate range, which
# schemathesis cannot turn into a Python pattern and drops ("Unsupported regex patterns"), so it
# generates them as valid. The server's refusal of both is checked against the document's own
# patterns under an ECMA-262 engine (tests/unit/openapi/test_patterns_ecma.py) and in the
# hostile-input suites.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """Make every generated Idempotency-Key unique.

    The generator reuses short values ("0", "") across unrelated requests, and the same key with
    another body is rightly refused (422, tested in tests/integration/handlers). Keys that are invalid on
    purpose (empty, too long) are left alone so that their refusal is still checked.
    """
    headers = case.headers or {}
    for name, value in list(headers.items()):
        suffix = f"-{uuid.uuid4().hex}"
        if (
            name.lower() == _KEY_HEADER
            and isinstance(value, str)
            and value
            and len(value) + len(suffix) <= _MAX_KEY_LENGTH
        ):
            headers[name] = value + suffix
        elif (
            name.lower() == "if-match" and _is_positive(case) and isinstance(value, str) and not _IF_MATCH.match(value)
        ):
            # The coverage phase puts only letters and digits in headers, so it cannot build an
            # entity tag (which is quoted) and sends e.g. `0` as "valid". Quote it: a well-formed
            # tag of no current version, which must get 412.
            headers[name] = '"' + value.replace('"', "") + '"'
    if _is_positive(case):
        _make_stateless_rules_hold(case)


def _make_stateless_rules_hold(case: Any) -> None:
    """Keep a positive case positive under the rules the schema cannot state, so it must be a 2xx.

    A cursor is valid only as this API issued it, so a generated one is rightly 422: positive
    list cases carry none (the handler tests walk real cursors). A create whose completed_at is
    earlier than its started_at is rightly 422: the two are put in order.
    """
    operation_id = case.operation.definition.raw.get("operationId")
    if operation_id in _LIST_OPERATIONS and isinstance(case.query, dict):
        case.query.pop("cursor", None)
    if operation_id in _BODY_OPERATIONS and isinstance(case.body, dict):
        _make_storable_and_real(case.body)
    if operation_id in _CREATE_OPERATIONS and isinstance(case.body, dict):
        started, completed = _instant(case.body.get("started_at")), _instant(case.body.get("completed_at"))
        if started is not None and completed is not None and completed < started:
            case.body["started_at"], case.body["completed_at"] = case.body["completed_at"], case.body["started_at"]


def _make_storable_and_real(body: dict[str, Any]) -> None:
    """What the patterns do not give schemathesis: no NUL or lone surrogate and a title that is not
    blank (see _UNSTORABLE), a day that exists in its month, and an instant that stays within
    years 1 to 9999 once converted to UTC (the server refuses the others with 422, tested in
    tests/integration/handlers)."""
    for name in _TEXT_FIELDS:
        value = body.get(name)
        if isinstance(value, str):
            body[name] = _UNSTORABLE.sub("", value)
    # The title's pattern (not blank) goes with the others.
    if isinstance(body.get("title"), str) and not body["title"].strip():
        body["title"] = "x"
    for name in _TIME_FIELDS:
        value = body.get(name)
        if isinstance(value, str) and (date := _DATE.match(value)):
            year, month, day = (int(part) for part in date.groups())
            if 1 <= month <= 12 and day > calendar.monthrange(max(year, 1), month)[1]:
                value = f"{date.group(1)}-{date.group(2)}-28" + value[date.end() :]
            if _instant(value) is None and _DATE.match(value):
                value = _with_utc_offset(value)
            body[name] = value


def _with_utc_offset(value: str) -> str:
    """The same wall time in UTC: an offset that pushed it past year 1 or 9999 is dropped."""
    return re.sub(r"([zZ]|[+-]\d{2}:\d{2})$", "", value) + "Z"


def _instant(value: Any) -> datetime | None:
    """The instant a request's datetime names, as the server reads it (no offset: UTC)."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
        return (parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def _is_positive(case: Any) -> bool:
    meta = getattr(case, "meta", None)
    return bool(meta is not None and meta.generation.mode.is_positive)
