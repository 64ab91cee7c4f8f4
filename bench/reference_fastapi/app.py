"""The Learning Sessions API as most users would write it instead: FastAPI + Mangum + SQLAlchemy ORM.

Idiomatic, not tuned: sync path operations (FastAPI runs them in its thread pool), a Session per
request from a dependency, declarative ORM model, response_model validation, Mangum as the Lambda
adapter. One function serves every route, as a Mangum app usually does. It answers the benchmarked
requests as the project does (status codes, Content-Type/ETag/Location headers, JSON fields and
format, cursors), so the timings compare the same work.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from mangum import Mangum
from pydantic import AfterValidator, BaseModel, ConfigDict, PlainSerializer, StringConstraints
from sqlalchemy import BigInteger, DateTime, Dialect, Integer, String, Text, create_engine, select, tuple_
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator
from starlette.exceptions import HTTPException as StarletteHTTPException

MAX_ID = 2**53 - 1


# ---------------------------------------------------------------- database


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC in and out; SQLite has no time zones, so values are stored as naive UTC there."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class LearningSession(Base):
    __tablename__ = "learning_sessions"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    difficulty: Mapped[str | None] = mapped_column(String(50))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer)
    owner: Mapped[str] = mapped_column(String(255))


def _engine_url(raw: str) -> str:
    # The layer ships pg8000, whatever driver the URL names.
    for prefix in ("postgresql+pg8000://", "postgresql://", "postgres://"):
        if raw.startswith(prefix):
            return "postgresql+pg8000://" + raw[len(prefix) :]
    return raw


_url = _engine_url(os.environ["DATABASE_URL"])
engine = (
    create_engine(_url)
    if _url.startswith("sqlite")
    else create_engine(_url, pool_size=1, max_overflow=0, connect_args={"timeout": 5})
)
SessionLocal = sessionmaker(engine, expire_on_commit=False)


def get_db() -> Any:
    with SessionLocal() as db:
        yield db


DB = Annotated[Session, Depends(get_db)]


def get_owner(request: Request) -> str:
    """The caller: the `sub` claim the HTTP API's JWT authorizer passed on (Mangum keeps the event)."""
    try:
        owner = request.scope["aws.event"]["requestContext"]["authorizer"]["jwt"]["claims"]["sub"]
    except (KeyError, TypeError):
        owner = None
    if not isinstance(owner, str) or not 0 < len(owner) <= 255:
        raise ApiError(401, "unauthorized", "The request carries no verified caller")
    return owner


Owner = Annotated[str, Depends(get_owner)]


def owned(db: Session, id: int, owner: str, *, for_update: bool = False) -> LearningSession | None:
    statement = select(LearningSession).where(LearningSession.id == id, LearningSession.owner == owner)
    return db.scalars(statement.with_for_update() if for_update else statement).one_or_none()


# ---------------------------------------------------------------- schemas


class SessionStatus(StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _format_utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("String must not contain NUL characters")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("String must not be blank")
    return value


UtcDateTime = Annotated[
    datetime, AfterValidator(_as_utc), PlainSerializer(_format_utc, return_type=str, when_used="json")
]
Title = Annotated[
    str, StringConstraints(min_length=1, max_length=200), AfterValidator(_no_nul), AfterValidator(_not_blank)
]
Description = Annotated[str, AfterValidator(_no_nul)]
Difficulty = Annotated[str, StringConstraints(max_length=50), AfterValidator(_no_nul)]


class SessionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    description: Description | None = None
    status: SessionStatus = SessionStatus.PLANNED
    difficulty: Difficulty | None = None
    started_at: UtcDateTime | None = None
    completed_at: UtcDateTime | None = None


class SessionUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    description: Description | None = None
    status: SessionStatus | None = None
    difficulty: Difficulty | None = None
    started_at: UtcDateTime | None = None
    completed_at: UtcDateTime | None = None


class SessionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

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
    data: SessionOut


class SessionPage(BaseModel):
    data: list[SessionOut]
    next_cursor: str | None


# ---------------------------------------------------------------- errors


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details or []


def not_found(session_id: int) -> ApiError:
    return ApiError(404, "not_found", f"Learning session {session_id} does not exist")


app = FastAPI(title="Learning Sessions")


def _error(status: int, code: str, message: str, details: list[dict[str, Any]]) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, "details": details}}, status_code=status)


@app.exception_handler(ApiError)
def _api_error(request: Request, exc: ApiError) -> JSONResponse:
    return _error(exc.status, exc.code, exc.message, exc.details)


@app.exception_handler(RequestValidationError)
def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    details = [
        {"loc": [str(p) if not isinstance(p, int) else p for p in e["loc"]], "type": e["type"], "message": e["msg"]}
        for e in exc.errors()
    ]
    return _error(422, "validation_error", "Request validation failed", details)


@app.exception_handler(StarletteHTTPException)
def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = "not_found" if exc.status_code == 404 else "bad_request"
    return _error(exc.status_code, code, "No such route" if exc.status_code == 404 else str(exc.detail), [])


# ---------------------------------------------------------------- rules shared by the routes


def etag(row: LearningSession) -> str:
    return f'"{row.id}.{row.version}"'


def check_if_match(if_match: str | None, row: LearningSession) -> None:
    if if_match is None or if_match.strip() == "*":
        return
    tags = {tag.strip() for tag in if_match.split(",")}
    if etag(row) not in tags:
        raise ApiError(412, "precondition_failed", "If-Match does not match the session's current ETag")


def apply_lifecycle(values: dict[str, Any], previous_status: str | None, sent: Any, now: datetime) -> None:
    """On a status change, the timestamps not sent follow the status, never contradicting each other."""
    status = values["status"]
    if status == previous_status:
        return
    if status != SessionStatus.COMPLETED and "completed_at" not in sent:
        values["completed_at"] = None
    if status == SessionStatus.PLANNED and "started_at" not in sent:
        values["started_at"] = None
    started, completed = values.get("started_at"), values.get("completed_at")
    if status == SessionStatus.IN_PROGRESS and "started_at" not in sent and started is None:
        values["started_at"] = now if completed is None else min(now, completed)
    if status == SessionStatus.COMPLETED and "completed_at" not in sent and completed is None:
        values["completed_at"] = now if started is None else max(now, started)


def check_chronology(values: dict[str, Any]) -> None:
    started, completed = values.get("started_at"), values.get("completed_at")
    if started is not None and completed is not None and completed < started:
        raise ApiError(
            422,
            "validation_error",
            "completed_at must not be earlier than started_at",
            [
                {
                    "loc": ["body", "completed_at"],
                    "type": "completed_before_started",
                    "message": "completed_at is earlier than started_at",
                }
            ],
        )


def owner_tag(owner: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(owner.encode()).digest()[:8]).rstrip(b"=").decode("ascii")


def list_filter(owner: str, status: SessionStatus | None) -> dict[str, str | None]:
    """What a cursor is valid under: the caller (a short hash) and the status filter."""
    return {"owner": owner_tag(owner), "status": None if status is None else status.value}


def encode_cursor(created_at: datetime, session_id: int, filter: dict[str, str | None]) -> str:
    raw = json.dumps([created_at.isoformat(), session_id, filter], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def invalid_cursor(error_type: str, message: str) -> ApiError:
    details = [{"loc": ["query", "cursor"], "type": error_type, "message": message}]
    return ApiError(422, "validation_error", "Invalid cursor", details)


def decode_cursor(cursor: str, filter: dict[str, str | None]) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at_text, session_id, issued_under = json.loads(raw)
        created_at = datetime.fromisoformat(created_at_text)
        if created_at.tzinfo is None or type(session_id) is not int or not 1 <= session_id <= MAX_ID:
            raise ValueError(cursor)
        if not isinstance(issued_under, dict):
            raise TypeError(cursor)
        created_at = created_at.astimezone(UTC)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError, RecursionError, OverflowError):
        raise invalid_cursor("cursor_invalid", "Cursor is not one this API returned") from None
    if issued_under.get("owner") != filter["owner"]:
        raise invalid_cursor("cursor_invalid", "Cursor was not issued to this caller")
    if issued_under != filter:
        raise invalid_cursor("cursor_filter_mismatch", "Cursor was issued for a list with other filters (status)")
    return created_at, session_id


# ---------------------------------------------------------------- routes

SessionId = Annotated[int, Path(ge=1, le=MAX_ID)]


@app.get("/api/sessions", response_model=SessionPage)
@app.get("/api/sessions/", response_model=SessionPage, include_in_schema=False)
def list_sessions(
    db: DB,
    owner: Owner,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    status: SessionStatus | None = None,
) -> Any:
    table = LearningSession
    statement = (
        select(table).where(table.owner == owner).order_by(table.created_at.desc(), table.id.desc()).limit(limit + 1)
    )
    if status is not None:
        statement = statement.where(table.status == status.value)
    filter = list_filter(owner, status)
    if cursor is not None:
        statement = statement.where(tuple_(table.created_at, table.id) < tuple_(*decode_cursor(cursor, filter)))
    rows = list(db.scalars(statement))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1].created_at, rows[-1].id, filter)
    return {"data": rows, "next_cursor": next_cursor}


@app.post("/api/sessions", status_code=201, response_model=SessionEnvelope)
@app.post("/api/sessions/", status_code=201, response_model=SessionEnvelope, include_in_schema=False)
def create_session(payload: SessionCreate, response: Response, db: DB, owner: Owner) -> Any:
    now = datetime.now(UTC)
    values = payload.model_dump()
    apply_lifecycle(values, None, payload.model_fields_set, now)
    check_chronology(values)
    row = LearningSession(**values, created_at=now, updated_at=now, version=1, owner=owner)
    db.add(row)
    db.commit()
    response.headers["Location"] = f"/api/sessions/{row.id}"
    response.headers["ETag"] = etag(row)
    return {"data": row}


@app.get("/api/sessions/{id}", response_model=SessionEnvelope)
def get_session(id: SessionId, response: Response, db: DB, owner: Owner) -> Any:
    row = owned(db, id, owner)
    if row is None:
        raise not_found(id)
    response.headers["ETag"] = etag(row)
    return {"data": row}


@app.patch("/api/sessions/{id}", response_model=SessionEnvelope)
def update_session(
    id: SessionId,
    payload: SessionUpdate,
    response: Response,
    db: DB,
    owner: Owner,
    if_match: Annotated[str | None, Header()] = None,
) -> Any:
    row = owned(db, id, owner, for_update=True)
    if row is None:
        raise not_found(id)
    check_if_match(if_match, row)
    changes = payload.model_dump(exclude_unset=True)
    current = {name: getattr(row, name) for name in SessionUpdate.model_fields}
    merged = current | changes
    now = datetime.now(UTC)
    apply_lifecycle(merged, row.status, changes.keys(), now)
    check_chronology(merged)
    for name, value in merged.items():
        setattr(row, name, value)
    row.updated_at = max(now, row.updated_at + timedelta(microseconds=1))
    row.version += 1
    db.commit()
    response.headers["ETag"] = etag(row)
    return {"data": row}


@app.delete("/api/sessions/{id}", status_code=204)
def delete_session(id: SessionId, db: DB, owner: Owner, if_match: Annotated[str | None, Header()] = None) -> Response:
    row = owned(db, id, owner, for_update=True)
    if row is None:
        raise not_found(id)
    check_if_match(if_match, row)
    db.delete(row)
    db.commit()
    return Response(status_code=204)


lambda_handler = Mangum(app, lifespan="off")
