"""A COMMIT that fails as a disconnect is not retried: whether it committed is unknown (Postgres)."""

from __future__ import annotations

import pytest
from sqlalchemy import URL, Engine, text

from tests.integration.reliability.conftest import env_for
from tests.support.client import LambdaApiClient
from tests.support.databases import injected_fault
from tests.support.lambda_functions import load_handlers

pytestmark = pytest.mark.postgres

# A deferred constraint trigger runs at COMMIT. The first time, it answers as a server going away
# (admin_shutdown, which the dialect counts as a disconnect); the sequence counts the COMMITs tried.
FAREWELL_AT_FIRST_COMMIT = [
    "CREATE SEQUENCE commits_tried",
    "CREATE FUNCTION farewell_at_first_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "IF nextval('commits_tried') = 1 THEN RAISE EXCEPTION 'going away' USING ERRCODE = '57P01'; END IF; "
    "RETURN NULL; END $$",
    "CREATE CONSTRAINT TRIGGER farewell_at_first_commit AFTER UPDATE ON learning_sessions "
    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION farewell_at_first_commit()",
]
REMOVE_FAREWELL = [
    "DROP TRIGGER farewell_at_first_commit ON learning_sessions",
    "DROP FUNCTION farewell_at_first_commit()",
    "DROP SEQUENCE commits_tried",
]


def test_a_patch_whose_commit_is_cut_answers_503_and_is_not_run_again(pg_url: URL, pg_engine: Engine) -> None:
    api = LambdaApiClient(load_handlers(env_for(pg_url)))
    session = api.create(title="before")
    path = f"/api/sessions/{session['id']}"
    with injected_fault(pg_engine, FAREWELL_AT_FIRST_COMMIT, REMOVE_FAREWELL):
        response = api.patch(path, {"title": "after"})
        with pg_engine.connect() as conn:
            commits_tried = conn.execute(text("SELECT last_value FROM commits_tried")).scalar_one()
    assert response.status == 503, response.body
    assert commits_tried == 1, "the failed COMMIT was retried"
    assert api.get(path).json()["data"]["title"] == "before"
