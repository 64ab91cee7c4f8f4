"""Domain errors. Each carries the HTTP status it maps to; http_errors.py turns them into responses."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class ApiError(Exception):
    status: int = 500
    code: str = "internal_error"

    def __init__(self, message: str, details: Sequence[dict[str, Any]] = (), headers: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.details = list(details)
        self.headers = headers or {}


class BadRequest(ApiError):
    status = 400
    code = "bad_request"


class Unauthorized(ApiError):
    status = 401
    code = "unauthorized"


class NotFound(ApiError):
    status = 404
    code = "not_found"


class PreconditionFailed(ApiError):
    status = 412
    code = "precondition_failed"


class PayloadTooLarge(ApiError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(ApiError):
    status = 415
    code = "unsupported_media_type"


class ValidationFailed(ApiError):
    status = 422
    code = "validation_error"


class ServiceUnavailable(ApiError):
    status = 503
    code = "service_unavailable"


def field_error(location: Sequence[str | int], error_type: str, message: str) -> dict[str, Any]:
    return {"loc": list(location), "type": error_type, "message": message}
