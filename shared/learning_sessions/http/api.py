"""What every function's handler is built from: the resolver, the body guard and the entry point."""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any

from annotated_types import Ge, Le
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path, Query
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from learning_sessions import init_complete
from learning_sessions.config.settings import get_settings
from learning_sessions.data import snapstart
from learning_sessions.domain.errors import ApiError, BadRequest, PayloadTooLarge, Unauthorized, UnsupportedMediaType
from learning_sessions.domain.etags import IF_MATCH_PATTERN, etag_for
from learning_sessions.domain.schemas import (
    CANONICAL_DECIMAL,
    MAX_ID,
    MAX_PAGE_SIZE,
    PAGE_BYTE_BUDGET,
)
from learning_sessions.domain.session_json import envelope_json, page_json, session_json
from learning_sessions.http.http_errors import (
    JSON,
    api_error_proxy_result,
    register_error_handlers,
)
from learning_sessions.http.request_logs import RequestLogContext
from learning_sessions.http.tracing import traced

if TYPE_CHECKING:
    from learning_sessions.domain.idempotency import CreatedSession
    from learning_sessions.domain.service import Page

# Handlers import these from here, so that their first import is this package (see __init__).
__all__ = ["Body", "Query", "Response"]

# POWERTOOLS_SERVICE_NAME (set in template.yaml) wins; the default names local runs too.
logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME") or "learning-sessions")

# API Gateway matches paths exactly, so the collection answers with and without the slash.
COLLECTION_PATHS = ("/api/sessions/", "/api/sessions")
ITEM_PATH = "/api/sessions/<id>"
# Path and query integers: canonical decimal digits, then the range (schemas.CANONICAL_DECIMAL).
SessionId = Annotated[
    int,
    Ge(1),
    Le(MAX_ID),
    CANONICAL_DECIMAL,
    Path(description="The session's id, in decimal digits without sign or leading zero."),
]
PageSize = Annotated[
    int,
    Ge(1),
    Le(MAX_PAGE_SIZE),
    CANONICAL_DECIMAL,
    Query(description="Page size, in decimal digits without sign or leading zero."),
]
IfMatch = Annotated[
    str | None,
    Header(
        max_length=1024,
        pattern=IF_MATCH_PATTERN,
        description='Apply only if the session\'s ETag is one of these (or "*"); else 412.',
    ),
]
# A header value's characters (RFC 9110: no control characters but HTAB). NUL in particular
# could not be stored as a key in Postgres.
IDEMPOTENCY_KEY_PATTERN = r"^[^\x00-\x08\x0a-\x1f\x7f]+$"
IdempotencyKey = Annotated[
    str | None,
    Header(
        min_length=1,
        max_length=255,
        pattern=IDEMPOTENCY_KEY_PATTERN,
        description=(
            "Repeat a POST safely: the first request with a key creates the session; the same key and body "
            "again return that first response without a new row, the same key with another body is refused "
            "(422 idempotency_key_reused). Keys are remembered for 24 hours by default."
        ),
    ),
]

# OpenID Connect Core 1.0, section 2: a `sub` "MUST NOT exceed 255 ASCII characters"; also the owner columns' size.
MAX_OWNER_LENGTH = 255
# The one user of `sam local start-api`, the same as local_api's LOCAL_USER (`make dev` without AUTH).
SAM_LOCAL_OWNER = "local-user"
# Postgres text holds neither NUL nor a lone surrogate (which has no UTF-8 form): a `sub` with one
# could own nothing, so it is refused like a missing one rather than failing at the first INSERT.
_STORABLE_OWNER = re.compile(r"[^\x00\ud800-\udfff]+\Z")

# Bodies sent with these are ignored, so they are not checked either.
_METHODS_WITHOUT_BODY = frozenset({"GET", "HEAD", "DELETE", "OPTIONS"})

LambdaHandler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


class _WholeSegmentResolver(APIGatewayHttpResolver):
    """Routes matched as API Gateway matches them.

    API Gateway hands the function rawPath percent-decoded and routes {id} to any one path
    segment. Powertools' route patterns end in $, which Python also matches before a final
    newline, and take only some characters into a parameter: /api/sessions/1%0A would be session
    1. Here a parameter is the whole segment, whatever it holds, so its own validation decides
    (422), and the path must end where the route ends.
    """

    @staticmethod
    def _compile_regex(rule: str, base_regex: str = r"^{}\Z") -> re.Pattern[str]:
        return re.compile(base_regex.format(re.sub(r"(<\w+>)", r"(?P\1[^/]+)", rule)))


def create_resolver() -> APIGatewayHttpResolver:
    app = _WholeSegmentResolver(enable_validation=True, json_body_deserializer=parse_json_object)
    register_error_handlers(app, logger)
    return app


def caller_of(event: Mapping[str, Any]) -> str:
    """Who sends this request, and so owns what it reads and writes: the token's `sub` claim.

    API Gateway's JWT authorizer (or local_api's emulation of it) verified the token and put its
    claims here; the function trusts that and never verifies the token again. A request without
    them never reached us through the authorizer, so it gets no default owner, only a 401.

    Except under `sam local start-api`, which skips JWT authorizers: there (AWS_SAM_LOCAL is "true"
    in its containers, never on Lambda) a request without claims is the local user's, as in `make dev`.
    """
    try:
        claims = event["requestContext"]["authorizer"]["jwt"]["claims"]
    except (KeyError, TypeError):
        claims = None
    if claims is None and os.environ.get("AWS_SAM_LOCAL") == "true":
        return SAM_LOCAL_OWNER
    owner = claims.get("sub") if isinstance(claims, Mapping) else None
    if not isinstance(owner, str) or not 0 < len(owner) <= MAX_OWNER_LENGTH or not _STORABLE_OWNER.match(owner):
        raise Unauthorized("The request carries no verified caller", headers={"WWW-Authenticate": "Bearer"})
    return owner


def request_owner(app: APIGatewayHttpResolver) -> str:
    """The caller of the request being routed, as lambda_entry read it (see caller_of)."""
    owner: str = app.context["owner"]
    return owner


def json_response(status_code: int, body: str, headers: dict[str, str] | None = None) -> Response[str]:
    """The body already written as JSON (session_json: the rows' bytes as Session's, without a model).

    Handing Powertools a model instead would validate it again and walk it through
    jsonable_encoder and json.dumps: up to a tenth of a warm request. Routes are therefore
    annotated -> Response[str], and openapi.py names the body's model for the document.
    """
    return Response(status_code=status_code, content_type=JSON, body=body, headers=headers)


# The page byte budget (schemas.PAGE_BYTE_BUDGET) counts a row's bytes as the runtime may encode
# them at worst: the body is escaped once more inside the proxy result's JSON, and with
# ensure_ascii a character outside the BMP costs 12 bytes (a \uXXXX pair), another non-ASCII one
# 6, a control character 7 (\u001f, its backslash escaped again), a quote 4.
_WORST_BYTES_PER_CHARACTER = 12
# A row's escaped size besides its three free-text fields: keys, id, status, four timestamps.
_ROW_BYTES_BESIDES_TEXT = 512


def page_response(page: Page) -> Response[str]:
    """A page of sessions within PAGE_BYTE_BUDGET: fewer rows, and a cursor to the rest, if need be."""
    sessions = [session_json(row) for row in page.rows]
    count = _rows_within_budget(page.rows, sessions)
    return json_response(200, page_json(sessions[:count], page.next_cursor(count)))


def _rows_within_budget(rows: Sequence[Mapping[Any, Any]], sessions: list[str]) -> int:
    # Usually a bound from the text fields' lengths settles it; only a page that might be over the
    # budget has its rows (sessions: their JSON) measured as the runtime would encode them.
    bound = sum(
        _ROW_BYTES_BESIDES_TEXT
        + _WORST_BYTES_PER_CHARACTER
        * (len(row["title"]) + len(row["description"] or "") + len(row["difficulty"] or ""))
        for row in rows
    )
    if bound <= PAGE_BYTE_BUDGET:
        return len(sessions)
    used = 0
    for count, session in enumerate(sessions):
        used += len(json.dumps(session)) + 1  # and a comma
        if used > PAGE_BYTE_BUDGET:
            return max(count, 1)
    return len(sessions)


def session_response(status_code: int, row: Mapping[Any, Any]) -> Response[str]:
    """One session in the envelope, with the ETag of its version."""
    return json_response(status_code, envelope_json(row), {"ETag": etag_for(row)})


def location_of(session_id: int) -> str:
    return f"/api/sessions/{session_id}"


def created_response(created: CreatedSession) -> Response[str]:
    """201 for a new session, or the very same bytes again for a replayed Idempotency-Key."""
    headers = {"Location": location_of(created.session_id), "ETag": created.etag}
    return Response(status_code=201, content_type=JSON, body=created.body, headers=headers)


def no_content_response() -> Response[None]:
    """204: done, nothing to send back (a DELETE)."""
    return Response(status_code=204, body=None)


def parse_json_object(text: str) -> dict[str, Any]:
    """Strict JSON: one object, no duplicate keys, no NaN, bounded nesting."""
    try:
        value = json.loads(text, object_pairs_hook=_without_duplicate_keys, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise BadRequest(f"Request body is not valid JSON: {exc.msg} at position {exc.pos}") from None
    except RecursionError:
        raise BadRequest("Request body is nested too deeply") from None
    except ValueError:
        # Not a JSONDecodeError: an integer literal over Python's int-conversion limit (4,300 digits).
        raise BadRequest("Request body has a number too long to read") from None
    if not isinstance(value, dict):
        raise BadRequest("Request body must be a JSON object")
    return value


def _without_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) != len(pairs):
        raise BadRequest("Request body has duplicate keys")
    return value


def _reject_constant(name: str) -> Any:
    raise BadRequest(f"Request body contains {name}, which is not JSON")


def _check_media_type(content_type: str | None) -> None:
    """application/json, in UTF-8: no charset parameter, or charset=utf-8 (any case, quoted or not)."""
    if content_type is None:
        raise UnsupportedMediaType("A request body needs Content-Type: application/json")
    media_type, *parameters = content_type.split(";")
    if media_type.strip().lower() != JSON:
        raise UnsupportedMediaType("Content-Type must be application/json")
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() != "utf-8":
            raise UnsupportedMediaType("The body must be UTF-8: send charset=utf-8 or no charset")


def with_decoded_body(event: Mapping[Any, Any], max_bytes: int) -> dict[str, Any]:
    """Refuse bodies we cannot read as small UTF-8 JSON before any parsing; return the event with a text body."""
    body = event.get("body")
    if not body:
        return dict(event)
    headers = {key.lower(): value for key, value in (event.get("headers") or {}).items()}
    encoding = headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise UnsupportedMediaType(f"Content-Encoding {encoding!r} is not supported; send identity-encoded JSON")
    _check_media_type(headers.get("content-type"))
    too_large = PayloadTooLarge(f"Request body must be at most {max_bytes} bytes")
    try:
        if event.get("isBase64Encoded"):
            if len(body) > (max_bytes + 2) // 3 * 4:
                raise too_large
            raw = base64.b64decode(body, validate=True)
        else:
            raw = body.encode("utf-8")
        if len(raw) > max_bytes:
            raise too_large
        text = raw.decode("utf-8")
    except (binascii.Error, UnicodeError):
        raise BadRequest("Request body is not valid UTF-8 text") from None
    # Media types are case-insensitive, Powertools' body parser is not: hand it the canonical one.
    headers["content-type"] = JSON
    return {**event, "headers": headers, "body": text, "isBase64Encoded": False}


class RequestMetrics:
    """Requests, 5xx, latency and errors by status code, as CloudWatch embedded metric format lines on stdout.

    CloudWatch Logs turns them into metrics: no API call, nothing to wait for. One line per request,
    and one more for an error (its status code is a dimension, and a line has one dimension set).
    The namespace is Powertools' own setting, POWERTOOLS_METRICS_NAMESPACE.
    """

    def __init__(self, service: str) -> None:
        self._requests = EphemeralMetrics(service=service)
        self._service = service

    def record(self, status_code: int, latency_ms: float) -> None:
        self._requests.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
        # 0 or 1, so that its average is the 5xx rate (the alarm that rolls back a release watches it).
        self._requests.add_metric(name="ServerErrors", unit=MetricUnit.Count, value=int(status_code >= 500))
        self._requests.add_metric(name="Latency", unit=MetricUnit.Milliseconds, value=latency_ms)
        self._requests.flush_metrics()
        if status_code >= 400:
            errors = EphemeralMetrics(service=self._service)
            errors.add_dimension(name="StatusCode", value=str(status_code))
            errors.add_metric(name="Errors", unit=MetricUnit.Count, value=1)
            errors.flush_metrics()


def request_metrics() -> RequestMetrics | None:
    """Metrics when a namespace is configured (template.yaml sets one); locally and in tests, none."""
    return RequestMetrics(logger.service) if os.environ.get("POWERTOOLS_METRICS_NAMESPACE") else None


def lambda_entry(app: APIGatewayHttpResolver) -> LambdaHandler:
    """The Lambda handler for a function's resolver: JSON logs with the request id, body guard, routing, metrics."""
    settings = get_settings()
    handler = RequestHandler(app, settings.max_body_bytes, request_metrics())
    snapstart.register()
    init_complete()
    return traced(handler, logger.service) if settings.enable_tracer else handler


class RequestHandler:
    """One request, from the event to the proxy result.

    A class rather than a closure in lambda_entry: lambda_entry runs once, when a function is
    loaded, and mutation testing tells which tests reach a function by its calls, so a closure's
    lines would count as tested only by the tests that happened to load the functions.
    """

    def __init__(self, app: APIGatewayHttpResolver, max_body_bytes: int, metrics: RequestMetrics | None) -> None:
        self._app = app
        self._max_body_bytes = max_body_bytes
        self._metrics = metrics
        # The request's keys on every log line, as logger.inject_lambda_context would put them, for less.
        self._log_context = RequestLogContext(logger)

    def __call__(self, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        self._log_context.start(event, context)
        started = time.perf_counter()
        http = event.get("requestContext", {}).get("http", {})
        try:
            owner = caller_of(event)
            if http.get("method") not in _METHODS_WITHOUT_BODY:
                event = with_decoded_body(event, self._max_body_bytes)
        except ApiError as exc:
            result = api_error_proxy_result(exc)
        else:
            # Cleared by resolve() when the request is done, so it never outlives it.
            self._app.context["owner"] = owner
            result = self._app.resolve(event, context)
        # DEBUG: formatting a JSON line per request costs about a sixth of a warm GET, and API
        # Gateway's access log already has it. Errors and warnings are logged where they happen.
        logger.debug("request", method=http.get("method"), path=event.get("rawPath"), status=result["statusCode"])
        if self._metrics is not None:
            self._metrics.record(result["statusCode"], (time.perf_counter() - started) * 1000)
        return result
