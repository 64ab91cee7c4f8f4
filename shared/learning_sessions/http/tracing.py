"""X-Ray subsegments for the API handlers, through Powertools' Tracer, when ENABLE_TRACER is on.

Lambda's active tracing (template.yaml, Tracing: Active) already records each sampled invocation's
segment. The Tracer adds one subsegment per request, "## lambda_handler", annotated (indexed, so
searchable) with ColdStart, Service, Route and StatusCode.

Nothing here is imported until traced() runs: Powertools' tracer needs the X-Ray SDK (aws_xray_sdk
and wrapt), whose import costs cold-start time (docs/deploying.md, Tracing), so with the setting off
the SDK is never loaded.

No library is patched (auto_patch=False). Powertools' default patches everything the SDK supports,
which imports botocore, pg8000, sqlite3, httplib and more at init. botocore only reads the database
secret, at the first connection and when the cache expires, never on a request's hot path; the SDK's
pg8000 patch wraps the DB-API cursor's execute(), which the prepared-statement dialect bypasses
(pg8000_dialect.py), and its sqlalchemy_core patch compiles every statement again to name it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from learning_sessions.http.api import LambdaHandler


# Tested in child processes only (tests/unit/test_tracing.py: the SDK reads Lambda's variables when it is
# imported, and Powertools keeps the Tracer's configuration on the class), which mutants never reach.
def traced(handler: LambdaHandler, service: str) -> LambdaHandler:  # pragma: no mutate block
    """handler inside a "## lambda_handler" subsegment, with the request's route and status as annotations."""
    from aws_lambda_powertools.tracing import Tracer

    tracer = Tracer(service=service, auto_patch=False)

    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        # The route as API Gateway matched it ("GET /api/sessions/{id}"), never the path, which holds ids.
        tracer.put_annotation("Route", str(event.get("routeKey") or ""))
        result = handler(event, context)
        tracer.put_annotation("StatusCode", result["statusCode"])
        return result

    # No response nor exception as metadata: the response holds the user's data, and the SDK already
    # records an exception (type, message, stack) as the subsegment's cause.
    captured: LambdaHandler = tracer.capture_lambda_handler(lambda_handler, capture_response=False, capture_error=False)
    return captured
