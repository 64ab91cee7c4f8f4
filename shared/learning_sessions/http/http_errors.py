"""The one place where errors become HTTP responses: {"error": {"code", "message", "details"}}."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestUnsupportedContentType, RequestValidationError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from learning_sessions.config.database_config import SecretUnreadable
from learning_sessions.config.settings import ConfigError
from learning_sessions.domain.errors import (
    ApiError,
    BadRequest,
    NotFound,
    ServiceUnavailable,
    UnsupportedMediaType,
    ValidationFailed,
)

JSON = "application/json"
RETRY_AFTER_SECONDS = "5"
_BODY_SHAPE_ERRORS = {"model_attributes_type", "dict_type", "model_type", "missing"}
# Postgres SQLSTATEs that mean "try again": connection exceptions (08), query cancelled by the
# statement timeout or the server shutting down or starting (57), serialization failure and
# deadlock (40), insufficient resources (53: 53300 too many connections, 53400 a configured limit,
# 53200 out of memory, 53100 disk full: the request was fine, the server cannot take it now), and
# 55P03 lock_not_available (a lock_timeout, e.g. behind a migration's DDL). Not the rest of class 55
# (object in use, wrong state): those do not clear by waiting a few seconds.
_TRANSIENT_SQLSTATE_PREFIXES = ("08", "57", "40", "53", "55P03")
# undefined_table and undefined_column: the database was never migrated, or not to this release.
_SCHEMA_MISSING_SQLSTATES = ("42P01", "42703")
_SCHEMA_MISSING_SQLITE_MESSAGES = ("no such table", "no such column")


def error_body(code: str, message: str, details: Sequence[dict[str, Any]] = ()) -> str:
    return json.dumps({"error": {"code": code, "message": message, "details": list(details)}}, separators=(",", ":"))


def api_error_response(exc: ApiError) -> Response[str]:
    return Response(
        status_code=exc.status,
        content_type=JSON,
        body=error_body(exc.code, exc.message, exc.details),
        headers=exc.headers,
    )


def api_error_proxy_result(exc: ApiError) -> dict[str, Any]:
    """The same error as an HTTP API proxy result, for requests refused before routing."""
    return {
        "statusCode": exc.status,
        "headers": {"Content-Type": JSON, **exc.headers},
        "body": error_body(exc.code, exc.message, exc.details),
        "isBase64Encoded": False,
    }


def classify_validation_error(errors: Sequence[dict[str, Any]]) -> ApiError:
    """Powertools' validation errors: a missing or non-object body is 400, the rest 422.

    (Malformed JSON never gets here: api.parse_json_object refuses it first.)
    """
    if any(tuple(err.get("loc", ())) == ("body",) and err.get("type") in _BODY_SHAPE_ERRORS for err in errors):
        return BadRequest("Request body must be a JSON object")
    details = [
        {
            "loc": [str(part) if not isinstance(part, int) else part for part in err.get("loc", ())],
            "type": str(err.get("type", "invalid")),
            "message": str(err.get("msg") or err.get("type", "invalid")),
        }
        for err in errors
    ]
    return ValidationFailed("Request validation failed", details)


def sqlstate(exc: BaseException | None) -> str:
    """pg8000_dialect.sqlstate, imported at the first error: on SQLite pg8000 need not be loaded at all."""
    from learning_sessions.data import pg8000_dialect

    return pg8000_dialect.sqlstate(exc)


def is_database_unavailable(exc: BaseException) -> bool:
    if exc.__cause__ is not None and is_database_unavailable(exc.__cause__):
        # A wrapped database error counts by its cause.
        return True
    # OSError: pg8000 lets some socket errors (reset, timeout) through unwrapped.
    if isinstance(exc, (OperationalError, InterfaceError, PoolTimeoutError, OSError, SecretUnreadable)):
        return True
    if isinstance(exc, DBAPIError):
        return exc.connection_invalidated or sqlstate(exc.orig).startswith(_TRANSIENT_SQLSTATE_PREFIXES)
    return False


def is_schema_missing(exc: BaseException) -> bool:
    """The tables are not there: no retry helps until someone runs the migrations."""
    if exc.__cause__ is not None and is_schema_missing(exc.__cause__):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    # SQLite has no SQLSTATE; its message is all there is.
    return sqlstate(exc.orig) in _SCHEMA_MISSING_SQLSTATES or (
        isinstance(exc, OperationalError) and str(exc.orig).startswith(_SCHEMA_MISSING_SQLITE_MESSAGES)
    )


def register_error_handlers(app: APIGatewayHttpResolver, logger: Logger) -> None:
    @app.exception_handler(ApiError)
    def _api_error(exc: ApiError) -> Response[str]:
        return api_error_response(exc)

    @app.exception_handler(RequestValidationError)
    def _validation_error(exc: RequestValidationError) -> Response[str]:
        return api_error_response(classify_validation_error(exc.errors()))

    @app.exception_handler(RequestUnsupportedContentType)
    def _unsupported_content_type(exc: RequestUnsupportedContentType) -> Response[str]:
        return api_error_response(UnsupportedMediaType("Content-Type must be application/json"))

    @app.exception_handler(NotFoundError)
    def _no_route(exc: NotFoundError) -> Response[str]:
        return api_error_response(NotFound("No such route"))

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response[str]:
        if is_schema_missing(exc):
            logger.error("Database schema missing: run the migrations", error=type(exc).__name__)
            return api_error_response(
                ServiceUnavailable("The database schema is missing or out of date; the migrations must run")
            )
        if isinstance(exc, ConfigError) and not isinstance(exc, SecretUnreadable):
            # Found only when connecting (the secret's content): its message names the variable.
            logger.error("Invalid configuration", reason=str(exc))
            return api_error_response(ServiceUnavailable("The service's database configuration is invalid"))
        if is_database_unavailable(exc):
            # Connection loss, timeouts and the like: nothing was committed and a retry may work.
            logger.warning("Database unavailable", exc_info=exc)
            return api_error_response(
                ServiceUnavailable(
                    "The database is unavailable; retry later", headers={"Retry-After": RETRY_AFTER_SECONDS}
                )
            )
        logger.exception("Unhandled error")
        return api_error_response(ApiError("Internal server error"))
