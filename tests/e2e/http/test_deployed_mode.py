"""tests/e2e/http pointed at a base URL with a token, as the deploy workflow's e2e-dev job runs it.

A local server with AUTH=jwt on a throwaway SQLite file stands in for the deployed dev stack: it
already holds other sessions (a deployed database is never empty), and after the run it must hold
exactly those, so the tests create what they read and delete what they create.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from tests.e2e.http.conftest import local_only, serve, unless_throttled
from tests.support.local_server import REPO_ROOT, Reply, access_log
from tests.support.no_write import dump_tables

# What only a local run can do; against a stack each says why it skips.
EXPECTED_SKIPS = {
    "test_readme_curl_examples_work_verbatim_on_a_fresh_database",
    "test_service_settings_from_the_shell_reach_the_functions",
    "test_openapi_document_and_swagger_ui_are_served",
    "test_every_documented_operation_renders",
    "test_try_it_out_on_the_list_answers_200",
    "test_assets_are_served_locally",
    "test_tests_http_pass_against_a_base_url_with_a_token",
    "test_two_users_over_http_see_and_change_only_their_own",
    "test_readme_two_local_users_see_only_their_own_sessions",
    "test_without_a_token_the_authorizer_answers_before_the_function",
}
# The API's behaviour, which the e2e-dev job exists to check on the deployed stack.
EXPECTED_TO_PASS = {
    "test_crud_round_trip",
    "test_collection_answers_with_and_without_slash",
    "test_unrouted_requests_get_a_json_404",
    "test_hostile_bodies_over_http",
    "test_idempotency_key_works_locally",
    "test_concurrent_creates_scale_out_and_all_land",
    "test_preflight_follows_the_templates_cors_configuration",
    "test_responses_to_another_origin_expose_what_the_template_lists",
    "test_hostile_requests_over_http",
    "test_a_body_without_content_type_is_415_over_http",
}


def mint_token(user: str) -> str:
    # What `make -s token USER=...` runs, from the project root whose local issuer the server trusts.
    command = [sys.executable, "-m", "local_api.mint_token", user]
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout.strip()


def outcomes(junit_xml: Path) -> dict[str, list[tuple[str, str]]]:
    """Each test function's name (without parameters) to its (outcome, message) per test case."""
    results: dict[str, list[tuple[str, str]]] = {}
    # The file was written by the pytest run just above, not by anyone else.
    for case in ElementTree.parse(junit_xml).iter("testcase"):  # noqa: S314
        outcome, message = "passed", ""
        for child in case:
            if child.tag in ("skipped", "failure", "error"):
                outcome, message = child.tag, child.get("message", "")
        results.setdefault(case.get("name", "").split("[", 1)[0], []).append((outcome, message))
    return results


@pytest.mark.slow
@local_only("this test is what points tests/e2e/http at a stand-in")
def test_tests_http_pass_against_a_base_url_with_a_token(tmp_path: Path) -> None:
    token, someone_else = mint_token("e2e"), mint_token("someone-else")
    stand_in = serve(f"sqlite:///{tmp_path / 'stand_in.db'}", tmp_path, env={"AUTH": "jwt"})
    engine = create_engine(f"sqlite:///{tmp_path / 'stand_in.db'}")
    try:
        for user_token, title in [(token, "the test user's own"), (someone_else, "another user's")]:
            seeded = stand_in.request(
                "POST",
                "/api/sessions/",
                json.dumps({"title": title}).encode(),
                {"Content-Type": "application/json", "Authorization": f"Bearer {user_token}"},
            )
            assert seeded.status == 201, seeded.body
        before = dump_tables(engine)["learning_sessions"]
        junit_xml = str(tmp_path / "junit.xml")
        run = subprocess.run(
            # The e2e-dev job's command, `pytest tests/e2e/http -q`, plus a report to read the outcomes from.
            [sys.executable, "-m", "pytest", "tests/e2e/http", "-q", "-p", "no:cacheprovider", "--junitxml", junit_xml],
            cwd=REPO_ROOT,
            env={
                **os.environ,
                "LEARNING_SESSIONS_API_URL": stand_in.base_url,
                "LEARNING_SESSIONS_API_TOKEN": token,
            },
            capture_output=True,
            text=True,
            check=False,
        )
        after = dump_tables(engine)["learning_sessions"]
    finally:
        engine.dispose()
        assert stand_in.stop(signal.SIGTERM) == 0, stand_in.log

    assert run.returncode == 0, run.stdout + run.stderr
    results = outcomes(Path(junit_xml))
    skipped = {name for name, cases in results.items() if all(outcome == "skipped" for outcome, _ in cases)}
    passed = {name for name, cases in results.items() if all(outcome == "passed" for outcome, _ in cases)}
    assert skipped == EXPECTED_SKIPS
    assert passed == set(results) - EXPECTED_SKIPS
    assert passed >= EXPECTED_TO_PASS
    for name in skipped:
        assert all("LEARNING_SESSIONS_API_URL is set: " in message for _, message in results[name]), name
    # Every request reached the stand-in with the token (AUTH=jwt answers 401 without one) ...
    statuses = [status for _, status in access_log(stand_in.log)]
    assert len(statuses) > len(EXPECTED_TO_PASS)
    assert 401 not in statuses
    # ... and what the run created it deleted, leaving the data it found as it was.
    assert after == before
    assert len(after) == 2


def test_a_throttled_request_is_sent_again_and_only_a_throttled_one() -> None:
    replies = iter([Reply(429, {"Retry-After": "0"}, b""), Reply(429, {"Retry-After": "0"}, b""), Reply(201, {}, b"")])
    assert unless_throttled(lambda: next(replies)).status == 201
    refused = iter([Reply(503, {"Retry-After": "0"}, b""), Reply(201, {}, b"")])
    assert unless_throttled(lambda: next(refused)).status == 503
