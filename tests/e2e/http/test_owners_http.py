"""Two users over real HTTP: the local server with AUTH=jwt, two tokens from the local issuer."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator

import pytest
from sqlalchemy import URL, Engine, text

from local_api import local_issuer
from local_api.local_issuer import LocalIssuer
from tests.e2e.http.conftest import local_only
from tests.support.local_server import REPO_ROOT, Reply, Server, start_local_api

pytestmark = [
    pytest.mark.slow,
    local_only("it starts a local server of its own with AUTH=jwt, with tokens of the local issuer"),
]


@pytest.fixture(scope="module")
def jwt_api(database_url: URL, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The real template and handlers behind the JWT authorizer emulation.

    Run from a scratch directory, so the issuer's keys are made there, not in the checkout; the
    database is already migrated.
    """
    workdir = tmp_path_factory.mktemp("jwt_api")
    env = {"DATABASE_URL": database_url.render_as_string(hide_password=False), "HOME": str(workdir), "AUTH": "jwt"}
    server = start_local_api(workdir, REPO_ROOT / "template.yaml", ["--no-migrate"], env)
    yield server
    assert server.stop(signal.SIGTERM) == 0, server.log


@pytest.fixture(scope="module")
def issuer(jwt_api: Server) -> LocalIssuer:
    return local_issuer.load_or_create(jwt_api.workdir)


class User:
    def __init__(self, server: Server, token: str) -> None:
        self.server, self.token = server, token

    def request(self, method: str, path: str, body: object = None, headers: dict[str, str] | None = None) -> Reply:
        all_headers = {"Authorization": f"Bearer {self.token}", **(headers or {})}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            all_headers["Content-Type"] = "application/json"
        return self.server.request(method, path, data, all_headers)


def test_two_users_over_http_see_and_change_only_their_own(
    jwt_api: Server, issuer: LocalIssuer, clean_db: Engine
) -> None:
    alice, bob = User(jwt_api, issuer.mint("alice")), User(jwt_api, issuer.mint("bob"))
    key = {"Idempotency-Key": "shared-key"}
    mine = alice.request("POST", "/api/sessions/", {"title": "Alice's"}, key)
    theirs = bob.request("POST", "/api/sessions/", {"title": "Alice's"}, key)
    assert (mine.status, theirs.status) == (201, 201), (mine.body, theirs.body)
    assert bob.request("POST", "/api/sessions/", {"title": "Alice's"}, key).body == theirs.body
    alice.request("POST", "/api/sessions/", {"title": "Alice's second"})
    mine_id, etag = mine.json()["data"]["id"], mine.headers["ETag"]
    path = f"/api/sessions/{mine_id}"
    with clean_db.connect() as conn:
        before = [tuple(row) for row in conn.execute(text("SELECT * FROM learning_sessions ORDER BY id"))]

    first_page = alice.request("GET", "/api/sessions/?limit=1").json()
    assert [item["title"] for item in first_page["data"]] == ["Alice's second"]
    second_page = alice.request("GET", f"/api/sessions/?limit=1&cursor={first_page['next_cursor']}").json()
    assert [item["id"] for item in second_page["data"]] == [mine_id]
    assert "owner" not in json.dumps(first_page)
    assert [item["id"] for item in bob.request("GET", "/api/sessions/").json()["data"]] == [theirs.json()["data"]["id"]]
    assert bob.request("GET", f"/api/sessions/?limit=1&cursor={first_page['next_cursor']}").status == 422
    for method, body, headers in [
        ("GET", None, {}),
        ("PATCH", {"title": "Bob's now"}, {}),
        ("PATCH", {"title": "Bob's now"}, {"If-Match": etag}),
        ("DELETE", None, {}),
        ("DELETE", None, {"If-Match": etag}),
    ]:
        reply = bob.request(method, path, body, headers)
        assert reply.status == 404, (method, reply.body)
        assert reply.json()["error"]["code"] == "not_found"

    with clean_db.connect() as conn:
        assert [tuple(row) for row in conn.execute(text("SELECT * FROM learning_sessions ORDER BY id"))] == before
        owners = {row.id: row.owner for row in conn.execute(text("SELECT id, owner FROM learning_sessions"))}
    assert owners[mine_id] == "alice"
    assert owners[theirs.json()["data"]["id"]] == "bob"
    assert alice.request("DELETE", path, headers={"If-Match": etag}).status == 204


def test_without_a_token_the_authorizer_answers_before_the_function(jwt_api: Server) -> None:
    reply = jwt_api.request("GET", "/api/sessions/")
    assert reply.status == 401
    assert reply.json() == {"message": "Unauthorized"}
