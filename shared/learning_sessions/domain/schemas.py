"""Request and response models: the API contract, in one place, used for validation and OpenAPI."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from learning_sessions.data.status import SessionStatus

# Ids stay within what every JSON client can hold exactly (JavaScript's safe integers),
# far below BIGINT's limit; larger ones cannot exist, so they are refused before any query.
MAX_ID = 2**53 - 1
MAX_PAGE_SIZE = 100
# Lambda refuses a synchronous response over 6 MB (6,291,456 bytes), and API Gateway then answers
# 500. The Python runtime sends the handler's proxy result as JSON, escaping the body once more:
# with ensure_ascii=False on python3.12 only, ensure_ascii=True on the others (awslambdaric's
# marshaller), so the worst case is assumed. A page's rows stay within this many such bytes; the
# rest of the response (envelope, cursor, headers: under 1 KB) leaves over a megabyte to spare.
# One row always fits: a 1 MB request body stores at most about 3.2 MB of them.
PAGE_BYTE_BUDGET = 5_000_000


def _canonical_decimal(value: Any) -> Any:
    """Path and query integers as canonical decimal digits only.

    Pydantic's lax int would take 1_0 (as 10), +1, 01, " 1" and 1.0: other spellings of an id
    are not ids. The range (ge/le) is checked after this, by the parameter's own bounds.
    """
    if not isinstance(value, str):
        return value
    if not _CANONICAL_DECIMAL.fullmatch(value):
        raise PydanticCustomError(
            "int_canonical", "Input should be a whole number written as decimal digits without sign or leading zero"
        )
    # Longer than any bound: a stand-in that fails the range check, never int() of 4,300+ digits.
    return int(value) if len(value) <= _MAX_BOUND_DIGITS else 10**_MAX_BOUND_DIGITS


_CANONICAL_DECIMAL = re.compile("[1-9][0-9]*")
_MAX_BOUND_DIGITS = len(str(MAX_ID))
# The check of every integer path or query parameter. Its bounds go before it as Ge/Le, not in
# Path()/Query(): after a validator, Pydantic writes them into the schema as "ge"/"le" instead
# of minimum/maximum.
CANONICAL_DECIMAL = BeforeValidator(_canonical_decimal)


# RFC 3339's date-time, except that the offset may be left out (the time is then taken as UTC).
# Up to 6 fraction digits: the microseconds stored; more would be cut off silently. [0-9], not
# \d: Python's \d also matches other scripts' digits. The document states this same pattern; the
# server matches it with fullmatch, since Python's $ would also match before a final newline.
# Fields are bounded as far as a pattern can; a day the month lacks (02-30), a leap second, and a
# time that leaves years 1-9999 once converted to UTC are refused by the parser and the UTC check.
_TWO_DIGITS_TO_59 = "[0-5][0-9]"
_HOUR = "([01][0-9]|2[0-3])"
_YEAR_1_TO_9999 = "([0-9]{3}[1-9]|[0-9]{2}[1-9][0-9]|[0-9][1-9][0-9]{2}|[1-9][0-9]{3})"  # no lookahead: fuzzers
_DATETIME_BODY = (
    f"{_YEAR_1_TO_9999}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    f"[Tt]{_HOUR}:{_TWO_DIGITS_TO_59}:{_TWO_DIGITS_TO_59}"
    r"(\.[0-9]{1,6})?"
    f"([Zz]|[+-]{_HOUR}:{_TWO_DIGITS_TO_59})?"
)
DATETIME_PATTERN = f"^{_DATETIME_BODY}$"
_DATETIME = re.compile(_DATETIME_BODY)


def _parse_iso_datetime(value: Any) -> Any:
    # Only RFC 3339 strings: Pydantic's lax mode would also take numbers as Unix times, and
    # fromisoformat alone would take a bare date, a week date or an ordinal date.
    if isinstance(value, datetime) or value is None:
        return value
    if not isinstance(value, str):
        raise PydanticCustomError("datetime_type", "Input should be an RFC 3339 date-time string")
    try:
        if not _DATETIME.fullmatch(value):
            raise ValueError(value)
        # fromisoformat takes t but not a lowercase z.
        return datetime.fromisoformat(value[:-1] + "Z" if value[-1] == "z" else value)
    except ValueError:
        raise PydanticCustomError(
            "datetime_parsing", "Input should be an RFC 3339 date-time, e.g. 2025-11-12T15:30:00Z"
        ) from None


def _as_utc(value: datetime) -> datetime:
    # A naive time is taken as UTC; an offset is converted.
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise PydanticCustomError("datetime_range", "Datetime is out of range once converted to UTC") from None


def _format_utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


# Characters no stored string may hold: NUL (Postgres text cannot), and lone UTF-16 surrogates
# (JSON's \udfff escapes make them; neither database can store them as UTF-8).
_UNSTORABLE_CLASS = r"\x00\ud800-\udfff"
_UNSTORABLE = re.compile(f"[{_UNSTORABLE_CLASS}]")


def _storable(value: str) -> str:
    found = _UNSTORABLE.search(value)
    if found is None:
        return value
    if found.group() == "\x00":
        raise PydanticCustomError("string_nul", "String must not contain NUL characters")
    # The type Pydantic itself gives a surrogate in a constrained string (title, difficulty).
    raise PydanticCustomError("string_unicode", "String must not contain lone surrogates (U+D800 to U+DFFF)")


def _not_blank(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("string_blank", "String must not be blank")
    return value


UtcDateTime = Annotated[
    datetime,
    BeforeValidator(_parse_iso_datetime),
    AfterValidator(_as_utc),
    PlainSerializer(_format_utc, return_type=str, when_used="json"),
]
# In requests only (the responses' are always UTC, ending in +00:00): the form accepted. No
# `format: date-time`: that one requires an offset, which requests may leave out.
RequestDateTime = Annotated[
    UtcDateTime,
    WithJsonSchema(
        {
            "type": "string",
            "pattern": DATETIME_PATTERN,
            "description": "RFC 3339 date-time (T or t, up to 6 fraction digits, offset Z, z or ±HH:MM); "
            "without an offset the time is taken as UTC.",
        },
        mode="validation",
    ),
]

# The validators give readable errors; the patterns state the same rules in the OpenAPI document
# in ECMA-262 (the regex dialect of OpenAPI 3.1), with explicit classes since \s differs
# between ECMA-262 and Python. WHITESPACE is exactly what str.strip() removes (str.isspace()).
WHITESPACE = r"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_STORABLE_TEXT = f"^[^{_UNSTORABLE_CLASS}]*$"
_NOT_BLANK_STORABLE_TEXT = f"^[^{_UNSTORABLE_CLASS}]*[^{WHITESPACE}{_UNSTORABLE_CLASS}][^{_UNSTORABLE_CLASS}]*$"
Title = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200),
    AfterValidator(_storable),
    AfterValidator(_not_blank),
    WithJsonSchema({"type": "string", "minLength": 1, "maxLength": 200, "pattern": _NOT_BLANK_STORABLE_TEXT}),
]
Description = Annotated[str, AfterValidator(_storable), WithJsonSchema({"type": "string", "pattern": _STORABLE_TEXT})]
Difficulty = Annotated[
    str,
    StringConstraints(max_length=50),
    AfterValidator(_storable),
    WithJsonSchema({"type": "string", "maxLength": 50, "pattern": _STORABLE_TEXT}),
]


# Stated in the document on both bodies' status, and in the README; service.apply_lifecycle does it.
LIFECYCLE_RULE = (
    "When a request changes the status (on create: always), timestamps it does not send follow the "
    "status: any status but `completed` clears `completed_at`, and `planned` also clears `started_at`; "
    "entering `in_progress` sets an empty `started_at` to now (or to `completed_at`, if that is "
    "earlier), entering `completed` sets an empty `completed_at` to now (or to `started_at`, if that "
    "is later). Timestamps the request sends are kept as sent, and `completed_at` earlier than "
    "`started_at` is 422, which can only come from values the client sent."
)


# Every model here is built (its validator and serializer compiled by pydantic-core) when first
# used, not when this module is imported. Every function imports them all, yet at run time uses at
# most its request body's (responses are written by session_json); the rest serve the OpenAPI
# document and the tests, and building them cost every cold start about 3 ms. A function that
# takes a body builds its model at import (build_models): Powertools validates the body through
# a TypeAdapter, which compiles a model not yet built without completing it, and the model would
# then be compiled a second time at its first model_dump.
DEFERRED = ConfigDict(defer_build=True)


def build_models(*models: type[BaseModel]) -> None:
    """Build these models now, at init, rather than at their first use."""
    for model in models:
        model.model_rebuild()


class SessionCreate(BaseModel):
    """Body of POST /api/sessions/."""

    model_config = DEFERRED | ConfigDict(extra="forbid", title="SessionCreate")

    title: Title
    description: Description | None = None
    status: SessionStatus = Field(default=SessionStatus.PLANNED, description=LIFECYCLE_RULE)
    difficulty: Difficulty | None = None
    started_at: RequestDateTime | None = None
    completed_at: RequestDateTime | None = None


class SessionUpdate(BaseModel):
    """Body of PATCH /api/sessions/{id}: only the fields sent change; null clears optional ones."""

    model_config = DEFERRED | ConfigDict(extra="forbid", title="SessionUpdate")

    # Optional but never null. The None default only means "not sent": defaults are not
    # validated, while a null that is sent fails like any other wrong type. A `| None`
    # union would instead accept null and nest every error under a union branch.
    # Values are read only through changes(), so None never escapes as a title.
    title: Title = Field(default=None)  # type: ignore[assignment]
    description: Description | None = None
    status: SessionStatus = Field(default=None, description=LIFECYCLE_RULE)  # type: ignore[assignment]
    difficulty: Difficulty | None = None
    started_at: RequestDateTime | None = None
    completed_at: RequestDateTime | None = None

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class Session(BaseModel):
    """A learning session as the API returns it: exactly the nine fields of the data model."""

    model_config = DEFERRED | ConfigDict(from_attributes=True, title="Session")

    id: int
    title: str
    status: SessionStatus
    description: str | None
    difficulty: str | None
    started_at: UtcDateTime | None
    completed_at: UtcDateTime | None
    created_at: UtcDateTime
    updated_at: UtcDateTime


class SessionEnvelope(BaseModel):
    model_config = DEFERRED | ConfigDict(title="SessionEnvelope")

    data: Session


class SessionPage(BaseModel):
    model_config = DEFERRED | ConfigDict(title="SessionPage")

    data: list[Session]
    next_cursor: str | None = Field(
        description="Pass as `cursor`, with the same `status`, to get the next page; null on the last page. "
        "A page can have fewer than `limit` rows and a cursor: see the page byte budget."
    )


class ErrorDetail(BaseModel):
    model_config = DEFERRED

    loc: list[str | int] = Field(description="Where the problem is, e.g. ['body', 'title'] or ['query', 'limit'].")
    type: str = Field(description="A stable machine-readable error type.")
    message: str


class Error(BaseModel):
    model_config = DEFERRED

    code: str
    message: str
    details: list[ErrorDetail]


class ErrorEnvelope(BaseModel):
    model_config = DEFERRED | ConfigDict(title="ErrorEnvelope")

    error: Error
