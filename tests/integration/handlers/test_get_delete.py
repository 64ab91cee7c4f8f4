"""GET and DELETE /api/sessions/{id}, and ids that are missing or malformed."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.client import LambdaApiClient


def test_get_returns_the_session(api: LambdaApiClient) -> None:
    created = api.create(description="d")
    response = api.get(f"/api/sessions/{created['id']}")
    assert response.status == 200
    assert response.header("Content-Type") == "application/json"
    assert response.json() == {"data": created}


def test_delete_returns_204_and_the_session_is_gone(api: LambdaApiClient) -> None:
    created = api.create()
    response = api.delete(f"/api/sessions/{created['id']}")
    assert response.status == 204
    assert response.body == ""
    assert api.get(f"/api/sessions/{created['id']}").status == 404
    assert api.delete(f"/api/sessions/{created['id']}").status == 404
    assert api.get("/api/sessions/").json()["data"] == []


def test_delete_leaves_other_sessions_alone(api: LambdaApiClient) -> None:
    keep, drop = api.create(title="keep"), api.create(title="drop")
    api.delete(f"/api/sessions/{drop['id']}")
    assert [item["id"] for item in api.get("/api/sessions/").json()["data"]] == [keep["id"]]


def test_ids_are_not_reused_after_delete(api: LambdaApiClient) -> None:
    first = api.create()
    api.delete(f"/api/sessions/{first['id']}")
    assert api.create()["id"] > first["id"]


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
def test_missing_id_is_404(api: LambdaApiClient, method: str) -> None:
    kwargs: dict[str, Any] = {"json_body": {"title": "x"}} if method == "PATCH" else {}
    response = api.request(method, "/api/sessions/987654", **kwargs)
    assert response.status == 404
    assert response.json()["error"] == {
        "code": "not_found",
        "message": "Learning session 987654 does not exist",
        "details": [],
    }


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
@pytest.mark.parametrize(
    "bad_id", ["abc", "0", "-1", "1.5", "9223372036854775808", "99999999999999999999", "1%00", "..", "%20"]
)
def test_malformed_or_out_of_range_ids_get_422_never_500(api: LambdaApiClient, method: str, bad_id: str) -> None:
    kwargs: dict[str, Any] = {"json_body": {"title": "x"}} if method == "PATCH" else {}
    response = api.request(method, f"/api/sessions/{bad_id}", **kwargs)
    assert response.status == 422, response.body
    assert response.json()["error"]["code"] == "validation_error"
    assert response.json()["error"]["details"][0]["loc"] == ["path", "id"]


def test_largest_id_is_a_clean_404_and_one_more_is_422(api: LambdaApiClient) -> None:
    assert api.get("/api/sessions/9007199254740991").status == 404
    assert api.get("/api/sessions/9007199254740992").status == 422
    assert api.get("/api/sessions/9223372036854775807").status == 422


@given(raw_id=st.one_of(st.integers(min_value=-(2**65), max_value=2**65).map(str), st.text(min_size=1, max_size=25)))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_path_id_is_a_404_or_422_never_a_500(api: LambdaApiClient, raw_id: str) -> None:
    path = "/api/sessions/" + quote(raw_id, safe="")
    for method in ("GET", "DELETE"):
        response = api.request(method, path)
        assert response.status in (404, 422), (raw_id, response.body)
