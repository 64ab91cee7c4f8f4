"""The API's least-privilege role (migration 0004): the migrate function, as the master user, sets its
password from the role's own secret; the API handlers, connected as the role, do everything they need;
the role can neither DROP nor ALTER nor CREATE, nor touch alembic_version."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from tests.integration.migrate_function.cfn import REGION, LambdaContext, ResponseEndpoint, custom_resource_event
from tests.integration.migrate_function.conftest import LoadMigrate, Target
from tests.support.client import LambdaApiClient
from tests.support.lambda_functions import load_handlers

pytestmark = pytest.mark.postgres

# Every character that breaks naive quoting or URL parsing.
PASSWORD = "s3cret'@/:?#%\"x"


def password_is(target: Target, role: str, password: str) -> bool:
    """Whether the role's SCRAM verifier in pg_authid is the password's: the test server trusts every
    login, so connecting as the role proves nothing about its password."""
    admin = create_engine(target.url)
    try:
        with admin.connect() as conn:
            verifier = conn.execute(text("SELECT rolpassword FROM pg_authid WHERE rolname = :r"), {"r": role}).scalar()
    finally:
        admin.dispose()
    mechanism, _, rest = (verifier or "").partition("$")
    assert mechanism == "SCRAM-SHA-256", verifier
    iterations_and_salt, stored_and_server = rest.split("$")
    iterations, salt = iterations_and_salt.split(":")
    stored_key = base64.b64decode(stored_and_server.split(":")[0])
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(salt), int(iterations))
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    return hmac.compare_digest(hashlib.sha256(client_key).digest(), stored_key)


@pytest.fixture
def aws() -> Iterator[Any]:
    """moto's Secrets Manager, and a client of it."""
    with pytest.MonkeyPatch.context() as patch, mock_aws():
        for key, value in (
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_DEFAULT_REGION", REGION),
        ):
            patch.setenv(key, value)
        yield boto3.client("secretsmanager", region_name=REGION)


@pytest.fixture
def role(postgres_target: Target, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    name = f"app_{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("APP_DB_ROLE", name)  # read by migration 0004 in this process
    yield name
    engine = create_engine(postgres_target.url)
    try:
        with engine.begin() as conn:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = :r"), {"r": name})
            if conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": name}).scalar():
                conn.execute(text(f'DROP OWNED BY "{name}"'))
                conn.execute(text(f'DROP ROLE "{name}"'))
    finally:
        engine.dispose()


def test_api_runs_as_the_app_role_which_cannot_change_the_schema(
    postgres_target: Target, role: str, cfn: ResponseEndpoint, load_migrate: LoadMigrate, aws: Any
) -> None:
    target = postgres_target
    arn = aws.create_secret(Name=f"app-{role}", SecretString=json.dumps({"username": role, "password": PASSWORD}))[
        "ARN"
    ]
    app = load_migrate({**target.env, "APP_DB_ROLE": role, "APP_DB_SECRET_ARN": arn})
    app.lambda_handler(custom_resource_event("Create", cfn), LambdaContext())
    response = cfn.only_response()
    assert response.body["Status"] == "SUCCESS", response.body["Reason"]
    assert PASSWORD not in json.dumps(response.body)

    admin = create_engine(target.url)
    with admin.connect() as conn:
        has_password = conn.execute(
            text("SELECT rolpassword IS NOT NULL FROM pg_authid WHERE rolname = :r"), {"r": role}
        ).scalar()
        settings = conn.execute(
            text("SELECT setconfig FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole WHERE rolname = :r"),
            {"r": role},
        ).scalar()
    admin.dispose()
    assert has_password
    assert any(item.startswith("idle_session_timeout=") for item in settings or [])

    # Every operation of the API, through the handlers, connected as the role.
    as_role = target.url.set(username=role, password=PASSWORD)
    api = LambdaApiClient(load_handlers({"DATABASE_URL": as_role.render_as_string(hide_password=False)}))
    session = api.create(title="as the app role")
    assert api.get(f"/api/sessions/{session['id']}").status == 200
    assert api.get("/api/sessions/").status == 200
    assert api.patch(f"/api/sessions/{session['id']}", {"status": "in_progress"}).status == 200
    keyed = {"Idempotency-Key": "role-key"}
    first = api.post("/api/sessions/", {"title": "keyed"}, headers=keyed)
    assert first.status == 201
    assert api.post("/api/sessions/", {"title": "keyed"}, headers=keyed).json() == first.json()
    assert api.delete(f"/api/sessions/{session['id']}").status == 204

    role_engine = create_engine(as_role)
    try:
        for statement in (
            "DROP TABLE learning_sessions",
            "ALTER TABLE learning_sessions ADD COLUMN sneaky integer",
            "CREATE TABLE sneaky (id integer)",
            "TRUNCATE learning_sessions",
            "SELECT * FROM alembic_version",
            "UPDATE alembic_version SET version_num = 'x'",
        ):
            with pytest.raises(DBAPIError) as refused, role_engine.begin() as conn:
                conn.execute(text(statement))
            assert "42501" in str(refused.value), statement  # insufficient_privilege
    finally:
        role_engine.dispose()


def test_each_run_sets_the_secrets_current_password_even_when_an_earlier_read_is_cached(
    postgres_target: Target, role: str, cfn: ResponseEndpoint, load_migrate: LoadMigrate, aws: Any
) -> None:
    # No username in the secret: the role's own name is assumed.
    arn = aws.create_secret(Name=f"app-{role}", SecretString=json.dumps({"password": PASSWORD}))["ARN"]
    app = load_migrate({**postgres_target.env, "APP_DB_ROLE": role, "APP_DB_SECRET_ARN": arn})
    app.lambda_handler(custom_resource_event("Create", cfn), LambdaContext())
    created = cfn.wait_for(1)[-1]
    assert created.body["Status"] == "SUCCESS", created.body["Reason"]
    assert password_is(postgres_target, role, PASSWORD)

    aws.put_secret_value(SecretId=arn, SecretString=json.dumps({"username": role, "password": "rotated"}))
    app.lambda_handler(custom_resource_event("Update", cfn), LambdaContext())
    updated = cfn.wait_for(2)[-1]
    assert updated.body["Status"] == "SUCCESS", updated.body["Reason"]
    assert password_is(postgres_target, role, "rotated")


@pytest.mark.parametrize(
    ("secret", "reason"),
    [
        (["not", "an", "object"], "the secret must be a JSON object with a password"),
        ({"username": "x"}, "the secret must be a JSON object with a password"),
        ({"username": "someone_else", "password": "p"}, "the secret's username is not APP_DB_ROLE ({role})"),
    ],
    ids=["not-an-object", "no-password", "another-user"],
)
def test_an_unusable_app_secret_fails_the_deploy_saying_why(
    postgres_target: Target,
    role: str,
    cfn: ResponseEndpoint,
    load_migrate: LoadMigrate,
    aws: Any,
    secret: object,
    reason: str,
) -> None:
    arn = aws.create_secret(Name=f"app-{role}", SecretString=json.dumps(secret))["ARN"]
    app = load_migrate({**postgres_target.env, "APP_DB_ROLE": role, "APP_DB_SECRET_ARN": arn})
    app.lambda_handler(custom_resource_event("Create", cfn), LambdaContext())
    response = cfn.only_response()
    assert response.body["Status"] == "FAILED"
    expected = "Migration failed: ConfigError: APP_DB_SECRET_ARN: " + reason.format(role=role)
    assert response.body["Reason"] == expected
