"""Deployed, Idempotency-Key records live in DynamoDB: the same handler against moto's DynamoDB."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws
from sqlalchemy import URL, Engine, func, select

from learning_sessions.tables import idempotency_records
from tests.client import LambdaApiClient
from tests.lambda_functions import load_handlers

TABLE = "learning-sessions-idempotency"


@pytest.fixture
def dynamodb_api(database_url: URL, clean_db: Engine) -> Iterator[LambdaApiClient]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        with mock_aws():
            boto3.client("dynamodb").create_table(
                TableName=TABLE,
                KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
            env = {"DATABASE_URL": database_url.render_as_string(hide_password=False), "IDEMPOTENCY_TABLE": TABLE}
            yield LambdaApiClient(load_handlers(env))


def test_replay_and_mismatch_through_dynamodb(dynamodb_api: LambdaApiClient, clean_db: Engine) -> None:
    with clean_db.begin() as conn:
        conn.execute(idempotency_records.delete())
    body = {"title": "Once"}
    first = dynamodb_api.post("/api/sessions/", body, headers={"Idempotency-Key": "dyn-1"})
    replay = dynamodb_api.post("/api/sessions/", body, headers={"Idempotency-Key": "dyn-1"})
    other = dynamodb_api.post("/api/sessions/", {"title": "Other"}, headers={"Idempotency-Key": "dyn-1"})
    assert first.status == replay.status == 201
    assert replay.json() == first.json()
    assert other.status == 422
    assert len(dynamodb_api.get("/api/sessions/").json()["data"]) == 1
    items = boto3.client("dynamodb").scan(TableName=TABLE)["Items"]
    assert len(items) == 1
    assert items[0]["status"]["S"] == "COMPLETED"
    with clean_db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(idempotency_records)).scalar() == 0
