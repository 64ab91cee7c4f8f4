"""The API's Lambda functions, written once: template.yaml logical id -> folder under functions/.

The OpenAPI build, the tests, the artifact runner and the benchmark all read this;
tests/infrastructure/template checks that template.yaml declares exactly these.
"""

from __future__ import annotations

API_FUNCTIONS: dict[str, str] = {
    "ListSessionsFunction": "list_sessions",
    "CreateSessionFunction": "create_session",
    "GetSessionFunction": "get_session",
    "UpdateSessionFunction": "update_session",
    "DeleteSessionFunction": "delete_session",
}
