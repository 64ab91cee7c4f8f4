"""Request and response models: the API contract, in one place, used for validation and OpenAPI."""

from __future__ import annotations

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

from learning_sessions.status import SessionStatus

# Ids stay within what every JSON client can hold exactly (JavaScript's safe integers),
# far below BIGINT's limit; larger ones cannot exist, so they are refused before any query.
MAX_ID = 2**53 - 1


def _parse_iso_datetime(value: Any) -> Any:
    # Only ISO-8601 strings: Pydantic's lax mode would also take numbers as Unix times.
    if isinstance(value, datetime) or value is None:
        return value
    if not isinstance(value, str):
        raise PydanticCustomError("datetime_type", "Input should be an ISO-8601 datetime string")
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise PydanticCustomError(
            "datetime_parsing", "Input should be an ISO-8601 datetime, e.g. 2025-11-12T15:30:00Z"
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


def _no_nul(value: str) -> str:
    # Postgres text cannot hold NUL; refusing it here keeps both databases alike.
    if "\x00" in value:
        raise PydanticCustomError("string_nul", "String must not contain NUL characters")
    return value


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
# The validators give readable errors; the patterns state the same rules in the OpenAPI
# document (Python regex semantics: `\s` is exactly what str.strip() removes), so clients
# and fuzzers know a blank or NUL-bearing string is refused.
_NO_NUL = r"^[^\x00]*$"
_NOT_BLANK_NO_NUL = r"^[^\x00]*[^\s\x00][^\x00]*$"
Title = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200),
    AfterValidator(_no_nul),
    AfterValidator(_not_blank),
    WithJsonSchema({"type": "string", "minLength": 1, "maxLength": 200, "pattern": _NOT_BLANK_NO_NUL}),
]
Description = Annotated[str, AfterValidator(_no_nul), WithJsonSchema({"type": "string", "pattern": _NO_NUL})]
Difficulty = Annotated[
    str,
    StringConstraints(max_length=50),
    AfterValidator(_no_nul),
    WithJsonSchema({"type": "string", "maxLength": 50, "pattern": _NO_NUL}),
]


class SessionCreate(BaseModel):
    """Body of POST /api/sessions/."""

    model_config = ConfigDict(extra="forbid", title="SessionCreate")

    title: Title
    description: Description | None = None
    status: SessionStatus = SessionStatus.PLANNED
    difficulty: Difficulty | None = None
    started_at: UtcDateTime | None = None
    completed_at: UtcDateTime | None = None


class SessionUpdate(BaseModel):
    """Body of PATCH /api/sessions/{id}: only the fields sent change; null clears optional ones."""

    model_config = ConfigDict(extra="forbid", title="SessionUpdate")

    # Optional but never null. The None default only means "not sent": defaults are not
    # validated, while a null that is sent fails like any other wrong type. A `| None`
    # union would instead accept null and nest every error under a union branch.
    # Values are read only through changes(), so None never escapes as a title.
    title: Title = Field(default=None)  # type: ignore[assignment]
    description: Description | None = None
    status: SessionStatus = Field(default=None)  # type: ignore[assignment]
    difficulty: Difficulty | None = None
    started_at: UtcDateTime | None = None
    completed_at: UtcDateTime | None = None

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class Session(BaseModel):
    """A learning session as the API returns it: exactly the nine fields of the data model."""

    model_config = ConfigDict(from_attributes=True, title="Session")

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
    model_config = ConfigDict(title="SessionEnvelope")

    data: Session


class SessionPage(BaseModel):
    model_config = ConfigDict(title="SessionPage")

    data: list[Session]
    next_cursor: str | None = Field(description="Pass as `cursor` to get the next page; null on the last page.")


class ErrorDetail(BaseModel):
    loc: list[str | int] = Field(description="Where the problem is, e.g. ['body', 'title'] or ['query', 'limit'].")
    type: str = Field(description="A stable machine-readable error type.")
    message: str


class Error(BaseModel):
    code: str
    message: str
    details: list[ErrorDetail]


class ErrorEnvelope(BaseModel):
    model_config = ConfigDict(title="ErrorEnvelope")

    error: Error
