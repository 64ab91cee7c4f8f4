"""The practical limit for Python: the Learning Sessions API with stdlib json and hand-written SQL.

One module for every route (dispatch on the HTTP API's routeKey), pg8000's native API on Postgres,
sqlite3 on SQLite. It answers the benchmarked requests exactly as the project does: the same
status codes, headers (Content-Type, ETag, Location) and JSON, field order included, and the same
opaque cursors. It validates what the project validates, by hand, so that the comparison is with
a handler that does the same job, not with one that skips it.

The database work is the least each request needs: one autocommitted statement for a read, a
create or a delete, and BEGIN / SELECT ... FOR UPDATE / UPDATE / COMMIT for a PATCH, whose rules
(lifecycle timestamps, chronology, If-Match) need the current row. On Postgres each parameterised
statement is prepared once per connection, so that it then costs one round trip, and timestamps
are parsed with datetime.fromisoformat, as the project's pg8000 dialect does.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

MAX_ID = 2**53 - 1
MAX_BODY_BYTES = 1024 * 1024
STATUSES = ("planned", "in_progress", "completed")
COLUMNS = (
    "id",
    "title",
    "status",
    "description",
    "difficulty",
    "started_at",
    "completed_at",
    "created_at",
    "updated_at",
)
SELECT_COLUMNS = ", ".join((*COLUMNS, "version"))
UPDATABLE = ("title", "description", "status", "difficulty", "started_at", "completed_at")
JSON_HEADERS = {"Content-Type": "application/json"}
CANONICAL_DECIMAL = re.compile("[1-9][0-9]*")
_ENTITY_TAG = re.compile(r'\s*(W/)?"([\x21\x23-\x7e\x80-\xff]*)"\s*(?:,|$)')


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details or []


def validation_error(loc: list[str | int], error_type: str, message: str) -> ApiError:
    return ApiError(
        422, "validation_error", "Request validation failed", [{"loc": loc, "type": error_type, "message": message}]
    )


# ---------------------------------------------------------------- database


class Postgres:
    """pg8000's native connection: one per execution environment, made at init, remade if it died."""

    placeholder = "%s"

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self._params: dict[str, Any] = {
            "user": unquote(parts.username or "postgres"),
            "password": unquote(parts.password) if parts.password else None,
            "host": parts.hostname or "127.0.0.1",
            "port": parts.port or 5432,
            "database": parts.path.lstrip("/") or None,
            "timeout": 5,
            "application_name": "learning-sessions-bare",
            "startup_params": {"statement_timeout": "3000"},
            "ssl_context": _ssl_context(os.environ.get("POSTGRES_SSLMODE", "disable")),
        }
        # One round trip per statement, as the project's dialect does (DB_PREPARED_STATEMENTS=false
        # turns it off for RDS Proxy there, and here).
        self._prepare = os.environ.get("DB_PREPARED_STATEMENTS", "true").lower() not in ("false", "0", "no")
        self._prepared: dict[str, Any] = {}
        self._row_count = 0
        self._conn = self._connect()
        self._in_transaction = False

    def _connect(self) -> Any:
        import pg8000.native
        from pg8000.converters import TIMESTAMPTZ

        connection = pg8000.native.Connection(**self._params)
        # pg8000 parses timestamptz text with strptime; fromisoformat is some 60 times faster, and
        # the project's dialect does the same.
        connection.register_in_adapter(TIMESTAMPTZ, _timestamptz_in)
        return connection

    def rows(self, sql: str, *args: Any) -> list[list[Any]]:
        try:
            return self._run(sql, args)
        except (OSError, self._interface_error()):
            if self._in_transaction:
                raise
            # A connection dropped while the environment was frozen: reconnect once.
            self._conn = self._connect()
            self._prepared = {}
            return self._run(sql, args)

    def _run(self, sql: str, args: tuple[Any, ...]) -> list[list[Any]]:
        if not args:
            result = self._conn.run(sql)
            self._row_count = self._conn.row_count
        elif self._prepare:
            # Prepared once per connection: later runs are one round trip, with no SQL rewriting.
            statement = self._prepared.get(sql)
            if statement is None:
                statement = self._prepared[sql] = self._conn.prepare(_numbered(sql))
            result = statement.run(**{f"p{i}": value for i, value in enumerate(args)})
            self._row_count = statement._context.row_count
        else:
            result = self._conn.run(_numbered(sql), **{f"p{i}": value for i, value in enumerate(args)})
            self._row_count = self._conn.row_count
        return result if result is not None else []

    @staticmethod
    def _interface_error() -> type[Exception]:
        import pg8000.exceptions

        error: type[Exception] = pg8000.exceptions.InterfaceError
        return error

    def begin(self) -> None:
        self.rows("BEGIN")
        self._in_transaction = True

    def commit(self) -> None:
        self._in_transaction = False
        self._conn.run("COMMIT")

    def rollback(self) -> None:
        self._in_transaction = False
        self._conn.run("ROLLBACK")

    @staticmethod
    def to_db(value: datetime) -> Any:
        return value

    @staticmethod
    def from_db(value: Any) -> str | None:
        return None if value is None else value.astimezone(UTC).isoformat(timespec="microseconds")

    @staticmethod
    def parse_db(value: Any) -> datetime | None:
        parsed: datetime | None = value
        return parsed

    @property
    def for_update(self) -> str:
        return " FOR UPDATE"

    def rowcount(self) -> int:
        return int(self._row_count)


def _timestamptz_in(text: str) -> Any:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        # infinity, or a year outside Python's range: pg8000's own parser.
        from pg8000.converters import timestamptz_in

        return timestamptz_in(text)


def _ssl_context(sslmode: str) -> Any:
    """False for "disable": pg8000's default (None) would still try TLS, and load the CA bundle to do so."""
    if sslmode == "disable":
        return False
    import ssl

    if sslmode == "verify-full":
        return ssl.create_default_context()
    # "require": encrypted, unverified, so there is no CA bundle to load.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


_NUMBERED_CACHE: dict[str, str] = {}


def _numbered(sql: str) -> str:
    # pg8000.native takes :name parameters; the SQL here is written with %s, rewritten once per statement.
    cached = _NUMBERED_CACHE.get(sql)
    if cached is None:
        parts = sql.split("%s")
        cached = parts[0] + "".join(f":p{i}{part}" for i, part in enumerate(parts[1:]))
        _NUMBERED_CACHE[sql] = cached
    return cached


class Sqlite:
    placeholder = "?"

    def __init__(self, url: str) -> None:
        import sqlite3

        path = url.split(":///", 1)[1]
        # Autocommit; PATCH takes the write lock at BEGIN IMMEDIATE, as the project does.
        self._conn = sqlite3.connect(path, timeout=5, isolation_level=None)
        self._rowcount = 0

    def rows(self, sql: str, *args: Any) -> list[Any]:
        cursor = self._conn.execute(sql.replace("%s", "?"), args)
        rows = cursor.fetchall()
        self._rowcount = cursor.rowcount
        return rows

    def begin(self) -> None:
        self._conn.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self._conn.execute("COMMIT")

    def rollback(self) -> None:
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")

    @staticmethod
    def to_db(value: datetime) -> Any:
        # SQLAlchemy's storage format for DATETIME on SQLite, so both write the same text.
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    @staticmethod
    def from_db(value: Any) -> str | None:
        # Stored as "YYYY-MM-DD HH:MM:SS.ffffff" in UTC.
        return None if value is None else f"{value[:10]}T{value[11:26]}+00:00"

    @staticmethod
    def parse_db(value: Any) -> datetime | None:
        return None if value is None else datetime.fromisoformat(value).replace(tzinfo=UTC)

    @property
    def for_update(self) -> str:
        return ""

    def rowcount(self) -> int:
        return self._rowcount


def connect(url: str) -> Postgres | Sqlite:
    return Sqlite(url) if url.startswith("sqlite") else Postgres(url)


db = connect(os.environ["DATABASE_URL"])


# ---------------------------------------------------------------- JSON out


def respond(status: int, body: str | None, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": JSON_HEADERS if headers is None else headers,
        "body": body,
        "isBase64Encoded": False,
    }


def session_json(row: Any) -> str:
    to_text = db.from_db
    return json.dumps(
        {
            "id": row[0],
            "title": row[1],
            "status": row[2],
            "description": row[3],
            "difficulty": row[4],
            "started_at": to_text(row[5]),
            "completed_at": to_text(row[6]),
            "created_at": to_text(row[7]),
            "updated_at": to_text(row[8]),
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )


def etag(row: Any) -> str:
    return f'"{row[0]}.{row[9]}"'


def one_session(status: int, row: Any, extra: dict[str, str] | None = None) -> dict[str, Any]:
    headers = {"Content-Type": "application/json", "ETag": etag(row), **(extra or {})}
    return respond(status, '{"data":' + session_json(row) + "}", headers)


def error_response(exc: ApiError) -> dict[str, Any]:
    body = {"error": {"code": exc.code, "message": exc.message, "details": exc.details}}
    return respond(exc.status, json.dumps(body, separators=(",", ":")))


# ---------------------------------------------------------------- JSON in


def canonical_int(loc: list[str | int], text: str, low: int, high: int) -> int:
    """Decimal digits without sign or leading zero, then the range: 01, +1, 1_0 are not ids."""
    if not CANONICAL_DECIMAL.fullmatch(text):
        message = "Input should be a whole number written as decimal digits without sign or leading zero"
        raise validation_error(loc, "int_canonical", message)
    # Over 16 digits is out of range anyway: no int() of thousands of digits.
    value = int(text) if len(text) <= 16 else high + 1
    if not low <= value <= high:
        raise validation_error(loc, "less_than_equal" if value > high else "greater_than_equal", "Out of range")
    return value


def path_id(event: dict[str, Any]) -> int:
    return canonical_int(["path", "id"], (event.get("pathParameters") or {}).get("id", ""), 1, MAX_ID)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) != len(pairs):
        raise ApiError(400, "bad_request", "Request body has duplicate keys")
    return value


def _reject_constant(name: str) -> Any:
    raise ApiError(400, "bad_request", f"Request body contains {name}, which is not JSON")


def json_body(event: dict[str, Any]) -> dict[str, Any]:
    body = event.get("body")
    headers = event.get("headers") or {}
    content_type = headers.get("content-type")
    if content_type is not None and content_type.split(";", 1)[0].strip().lower() != "application/json":
        raise ApiError(415, "unsupported_media_type", "Content-Type must be application/json")
    if headers.get("content-encoding", "identity").strip().lower() not in ("", "identity"):
        raise ApiError(415, "unsupported_media_type", "Content-Encoding is not supported")
    if not body:
        raise ApiError(400, "bad_request", "Request body must be a JSON object")
    try:
        raw = base64.b64decode(body, validate=True) if event.get("isBase64Encoded") else body.encode()
        if len(raw) > MAX_BODY_BYTES:
            raise ApiError(413, "payload_too_large", f"Request body must be at most {MAX_BODY_BYTES} bytes")
        value = json.loads(raw, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
    except (binascii.Error, UnicodeError):
        raise ApiError(400, "bad_request", "Request body is not valid UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ApiError(400, "bad_request", f"Request body is not valid JSON: {exc.msg}") from None
    if not isinstance(value, dict):
        raise ApiError(400, "bad_request", "Request body must be a JSON object")
    return value


def _text(name: str, value: Any, *, max_length: int | None, required: bool) -> str:
    if not isinstance(value, str):
        raise validation_error(["body", name], "string_type", "Input should be a valid string")
    if required and not value:
        raise validation_error(["body", name], "string_too_short", "String should have at least 1 character")
    if max_length is not None and len(value) > max_length:
        raise validation_error(["body", name], "string_too_long", f"String should have at most {max_length} characters")
    if "\x00" in value:
        raise validation_error(["body", name], "string_nul", "String must not contain NUL characters")
    if required and not value.strip():
        raise validation_error(["body", name], "string_blank", "String must not be blank")
    return value


def _timestamp(name: str, value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise validation_error(["body", name], "datetime_type", "Input should be an ISO-8601 datetime string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise validation_error(["body", name], "datetime_parsing", "Input should be an ISO-8601 datetime") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def session_fields(body: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    """The validated fields that were sent, as Python values (the SessionCreate/SessionUpdate rules)."""
    unknown = body.keys() - set(UPDATABLE)
    if unknown:
        name = sorted(unknown)[0]
        raise validation_error(["body", name], "extra_forbidden", "Extra inputs are not permitted")
    if not partial and "title" not in body:
        raise validation_error(["body", "title"], "missing", "Field required")
    values: dict[str, Any] = {}
    for name, value in body.items():
        if name == "title":
            values[name] = _text(name, value, max_length=200, required=True)
        elif name == "status":
            if value not in STATUSES:
                raise validation_error(
                    ["body", name], "enum", "Input should be 'planned', 'in_progress' or 'completed'"
                )
            values[name] = value
        elif value is None:
            if partial and name not in ("description", "difficulty", "started_at", "completed_at"):
                raise validation_error(["body", name], "string_type", "Input should be a valid string")
            values[name] = None
        elif name == "description":
            values[name] = _text(name, value, max_length=None, required=False)
        elif name == "difficulty":
            values[name] = _text(name, value, max_length=50, required=False)
        else:
            values[name] = _timestamp(name, value)
    return values


def apply_lifecycle(values: dict[str, Any], previous_status: str | None, sent: set[str] | Any, now: datetime) -> None:
    """On a status change, the timestamps not sent follow the status, never contradicting each other."""
    status = values["status"]
    if status == previous_status:
        return
    if status != "completed" and "completed_at" not in sent:
        values["completed_at"] = None
    if status == "planned" and "started_at" not in sent:
        values["started_at"] = None
    started, completed = values.get("started_at"), values.get("completed_at")
    if status == "in_progress" and "started_at" not in sent and started is None:
        values["started_at"] = now if completed is None else min(now, completed)
    if status == "completed" and "completed_at" not in sent and completed is None:
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


# ---------------------------------------------------------------- cursors


def owner_tag(owner: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(owner.encode()).digest()[:8]).rstrip(b"=").decode("ascii")


def list_filter(owner: str, status: str | None) -> dict[str, str | None]:
    """What a cursor is valid under: the caller (a short hash) and the status filter."""
    return {"owner": owner_tag(owner), "status": status}


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


def owner_of(event: dict[str, Any]) -> str:
    """The caller: the `sub` claim the HTTP API's JWT authorizer passed on."""
    try:
        owner = event["requestContext"]["authorizer"]["jwt"]["claims"]["sub"]
    except (KeyError, TypeError):
        owner = None
    if not isinstance(owner, str) or not 0 < len(owner) <= 255:
        raise ApiError(401, "unauthorized", "The request carries no verified caller")
    return owner


# ---------------------------------------------------------------- routes


def list_sessions(event: dict[str, Any]) -> dict[str, Any]:
    owner = owner_of(event)
    query = event.get("queryStringParameters") or dict(parse_qsl(event.get("rawQueryString", "")))
    limit = canonical_int(["query", "limit"], query.get("limit", "50"), 1, 100)
    status = query.get("status")
    if status is not None and status not in STATUSES:
        raise validation_error(["query", "status"], "enum", "Input should be 'planned', 'in_progress' or 'completed'")
    cursor = query.get("cursor")
    if cursor is not None and len(cursor) > 200:
        raise validation_error(["query", "cursor"], "string_too_long", "String should have at most 200 characters")
    where = ["owner = %s"]
    args: list[Any] = [owner]
    if status is not None:
        where.append("status = %s")
        args.append(status)
    filter = list_filter(owner, status)
    if cursor is not None:
        created_at, last_id = decode_cursor(cursor, filter)
        where.append("(created_at, id) < (%s, %s)")
        args += [db.to_db(created_at), last_id]
    sql = f"SELECT {SELECT_COLUMNS} FROM learning_sessions WHERE " + " AND ".join(where)
    sql += " ORDER BY created_at DESC, id DESC LIMIT %s"
    rows = db.rows(sql, *args, limit + 1)
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        last_created_at = db.parse_db(last[7])
        assert last_created_at is not None
        next_cursor = encode_cursor(last_created_at.astimezone(UTC), last[0], filter)
    body = (
        '{"data":[' + ",".join(session_json(row) for row in rows) + '],"next_cursor":' + json.dumps(next_cursor) + "}"
    )
    return respond(200, body)


def get_session(event: dict[str, Any]) -> dict[str, Any]:
    owner = owner_of(event)
    session_id = path_id(event)
    rows = db.rows(f"SELECT {SELECT_COLUMNS} FROM learning_sessions WHERE id = %s AND owner = %s", session_id, owner)
    if not rows:
        raise ApiError(404, "not_found", f"Learning session {session_id} does not exist")
    return one_session(200, rows[0])


def create_session(event: dict[str, Any]) -> dict[str, Any]:
    owner = owner_of(event)
    fields = session_fields(json_body(event), partial=False)
    values: dict[str, Any] = {
        "description": None,
        "status": "planned",
        "difficulty": None,
        "started_at": None,
        "completed_at": None,
    }
    values.update(fields)
    now = datetime.now(UTC)
    apply_lifecycle(values, None, fields.keys(), now)
    check_chronology(values)
    to_db = db.to_db
    row = db.rows(
        "INSERT INTO learning_sessions (title, description, status, difficulty, started_at, completed_at,"
        " created_at, updated_at, version, owner) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 1, %s)"
        f" RETURNING {SELECT_COLUMNS}",
        values["title"],
        values["description"],
        values["status"],
        values["difficulty"],
        None if values["started_at"] is None else to_db(values["started_at"]),
        None if values["completed_at"] is None else to_db(values["completed_at"]),
        to_db(now),
        to_db(now),
        owner,
    )[0]
    return one_session(201, row, {"Location": f"/api/sessions/{row[0]}"})


def strong_tags(header: str) -> set[str]:
    tags: set[str] = set()
    position = 0
    while position < len(header):
        match = _ENTITY_TAG.match(header, position)
        if match is None or match.end() == position:
            raise ApiError(400, "bad_request", 'If-Match must be "*" or a list of entity tags such as "12.3"')
        weak, opaque = match.groups()
        if not weak:
            tags.add(f'"{opaque}"')
        position = match.end()
    return tags


def check_if_match(if_match: str | None, row: Any) -> None:
    if if_match is None or if_match.strip() == "*":
        return
    if etag(row) not in strong_tags(if_match):
        raise ApiError(412, "precondition_failed", "If-Match does not match the session's current ETag")


def update_session(event: dict[str, Any]) -> dict[str, Any]:
    owner = owner_of(event)
    session_id = path_id(event)
    changes = session_fields(json_body(event), partial=True)
    if_match = (event.get("headers") or {}).get("if-match")
    db.begin()
    try:
        rows = db.rows(
            f"SELECT {SELECT_COLUMNS} FROM learning_sessions WHERE id = %s AND owner = %s{db.for_update}",
            session_id,
            owner,
        )
        if not rows:
            raise ApiError(404, "not_found", f"Learning session {session_id} does not exist")
        current = rows[0]
        check_if_match(if_match, current)
        parse = db.parse_db
        merged = {
            "title": current[1],
            "status": current[2],
            "description": current[3],
            "difficulty": current[4],
            "started_at": parse(current[5]),
            "completed_at": parse(current[6]),
        }
        merged.update(changes)
        now = datetime.now(UTC)
        apply_lifecycle(merged, current[2], changes.keys(), now)
        check_chronology(merged)
        previous_update = parse(current[8])
        assert previous_update is not None
        updated_at = max(now, previous_update + timedelta(microseconds=1))
        to_db = db.to_db
        row = db.rows(
            "UPDATE learning_sessions SET title = %s, description = %s, status = %s, difficulty = %s,"
            " started_at = %s, completed_at = %s, updated_at = %s, version = %s"
            f" WHERE id = %s AND owner = %s RETURNING {SELECT_COLUMNS}",
            merged["title"],
            merged["description"],
            merged["status"],
            merged["difficulty"],
            None if merged["started_at"] is None else to_db(merged["started_at"]),
            None if merged["completed_at"] is None else to_db(merged["completed_at"]),
            to_db(updated_at),
            current[9] + 1,
            session_id,
            owner,
        )[0]
        db.commit()
    except BaseException:
        db.rollback()
        raise
    return one_session(200, row)


def delete_session(event: dict[str, Any]) -> dict[str, Any]:
    owner = owner_of(event)
    session_id = path_id(event)
    if_match = (event.get("headers") or {}).get("if-match")
    if if_match is not None:
        db.begin()
        try:
            rows = db.rows(
                f"SELECT {SELECT_COLUMNS} FROM learning_sessions WHERE id = %s AND owner = %s{db.for_update}",
                session_id,
                owner,
            )
            if not rows:
                raise ApiError(404, "not_found", f"Learning session {session_id} does not exist")
            check_if_match(if_match, rows[0])
            db.rows("DELETE FROM learning_sessions WHERE id = %s AND owner = %s", session_id, owner)
            db.commit()
        except BaseException:
            db.rollback()
            raise
        return respond(204, None, {})
    db.rows("DELETE FROM learning_sessions WHERE id = %s AND owner = %s", session_id, owner)
    if db.rowcount() != 1:
        raise ApiError(404, "not_found", f"Learning session {session_id} does not exist")
    return respond(204, None, {})


ROUTES = {
    "GET /api/sessions": list_sessions,
    "GET /api/sessions/": list_sessions,
    "POST /api/sessions": create_session,
    "POST /api/sessions/": create_session,
    "GET /api/sessions/{id}": get_session,
    "PATCH /api/sessions/{id}": update_session,
    "DELETE /api/sessions/{id}": delete_session,
}


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    route = ROUTES.get(event.get("routeKey", ""))
    if route is None:
        return error_response(ApiError(404, "not_found", "No such route"))
    try:
        return route(event)
    except ApiError as exc:
        return error_response(exc)
