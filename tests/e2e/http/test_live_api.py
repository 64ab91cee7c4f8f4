"""Real HTTP against the local server running the real handlers, on SQLite and Postgres."""

from __future__ import annotations

import json
import re
import shlex
import signal
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from samtranslator.yaml_helper import yaml_parse

from local_api.cli import DEFAULT_PORT
from tests.e2e.http.conftest import DEPLOYED_API_URL, Api, local_only, serve
from tests.support.local_server import REPO_ROOT, Reply, Server, http

pytestmark = pytest.mark.slow

JSON_HEADERS = {"Content-Type": "application/json"}
# Where the feature spec's curl examples send their requests: `make dev` serves there by default.
SPEC_BASE_URL = "http://localhost:8000"


def post(server: Api, body: object, headers: dict[str, str] | None = None) -> Reply:
    return server.request("POST", "/api/sessions/", json.dumps(body).encode(), {**JSON_HEADERS, **(headers or {})})


def readme_curl_commands() -> list[list[str]]:
    readme = (REPO_ROOT / "README.md").read_text()
    block = readme.split("With `make dev` running", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = [shlex.split(command) for command in re.split(r"\n(?=curl )", block.replace("\\\n", " ").strip())]
    assert [command[0] for command in commands] == ["curl"] * len(commands)
    return commands


def run_curl(server: Server, command: list[str]) -> Reply:
    """What curl would send, sent with urllib: method, headers, body and URL, on the test server's port."""
    method, headers, body, url = "GET", {}, None, ""
    arguments = iter(command[1:])
    for argument in arguments:
        if argument == "-X":
            method = next(arguments)
        elif argument == "-H":
            name, _, value = next(arguments).partition(":")
            headers[name.strip()] = value.strip()
        elif argument == "-d":
            body = next(arguments).encode()
            method = "POST" if method == "GET" else method
        else:
            url = argument
    # The spec's URLs, verbatim; only the port of this test's own server differs.
    assert url.startswith(SPEC_BASE_URL + "/"), url
    return http(method, server.base_url + url.removeprefix(SPEC_BASE_URL), body, headers)


@local_only("it starts a local server of its own on a fresh database")
def test_readme_curl_examples_work_verbatim_on_a_fresh_database(tmp_path: Path) -> None:
    """What a new user does: make dev on a fresh SQLite file, then the README's curls, in order."""
    server = serve(f"sqlite:///{tmp_path / 'learning_env.db'}", tmp_path)
    try:
        replies = [run_curl(server, command) for command in readme_curl_commands()]
    finally:
        assert server.stop(signal.SIGTERM) == 0
    created, patched, listed, fetched, deleted = replies
    assert created.status == 201
    assert created.json()["data"]["id"] == 1
    assert created.json()["data"]["title"] == "Learn Flask"
    assert created.headers["Location"] == "/api/sessions/1"
    assert patched.status == 200
    assert patched.json()["data"]["status"] == "in_progress"
    assert patched.json()["data"]["difficulty"] == "medium"
    assert listed.json()["data"][0]["id"] == 1
    assert fetched.json() == patched.json()
    assert deleted.status == 204
    readme_response = (REPO_ROOT / "README.md").read_text().split("```json", 1)[1].split("```", 1)[0]
    assert list(json.loads(readme_response)["data"]) == list(created.json()["data"])


def readme_two_users_block() -> tuple[list[str], list[list[str]]]:
    """The AUTH=jwt section's block: its shell lines before the curls, and the curls."""
    readme = (REPO_ROOT / "README.md").read_text()
    block = readme.split("### Users locally: `AUTH=jwt`", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    setup, _, curls = block.replace("\\\n", " ").strip().partition("\ncurl ")
    commands = [shlex.split("curl " + command) for command in re.split(r"\n(?=curl )", curls)]
    return setup.splitlines(), commands


def mint_token(user: str) -> str:
    """What `make -s token USER=...` runs, from the project root whose local issuer the server trusts."""
    command = [sys.executable, "-m", "local_api.mint_token", user]
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout.strip()


def expand(command: list[str], variables: dict[str, str]) -> list[str]:
    """The shell's expansion of $NAME inside each argument (as in "Authorization: Bearer $TOKEN")."""
    expanded = []
    for argument in command:
        for name, value in variables.items():
            argument = argument.replace(name, value)
        expanded.append(argument)
    return expanded


@local_only("it starts an AUTH=jwt server of its own on a fresh database")
def test_readme_two_local_users_see_only_their_own_sessions(tmp_path: Path) -> None:
    """The README's AUTH=jwt example, run as written: tokens from `make -s token`, then its curls."""
    setup, commands = readme_two_users_block()
    assert setup[0].startswith("AUTH=jwt make dev")
    variables: dict[str, str] = {}
    for line in setup[1:]:
        assigned = re.fullmatch(r"(\w+)=\$\(make -s token USER=(\w+)\)", line)
        assert assigned, line
        variables[assigned[1]] = assigned[2]
    assert variables == {"TOKEN": "alice", "BOB": "bob"}
    server = serve(f"sqlite:///{tmp_path / 'learning_env.db'}", tmp_path, env={"AUTH": "jwt"})
    try:
        tokens = {f"${name}": mint_token(user) for name, user in variables.items()}
        replies = [run_curl(server, expand(command, tokens)) for command in commands]
    finally:
        assert server.stop(signal.SIGTERM) == 0
    created, alices_list, bobs_list, bobs_get, anonymous = replies
    assert created.status == 201
    assert created.json()["data"]["id"] == 1
    assert [item["id"] for item in alices_list.json()["data"]] == [1]
    assert bobs_list.status == 200
    assert bobs_list.json() == {"data": [], "next_cursor": None}
    assert bobs_get.status == 404
    assert bobs_get.json()["error"]["code"] == "not_found"
    assert anonymous.status == 401
    assert anonymous.json() == {"message": "Unauthorized"}


def test_crud_round_trip(live_api: Api, created: list[str]) -> None:
    reply = post(live_api, {"title": "Learn Flask", "status": "planned"})
    assert reply.status == 201
    assert reply.headers["Content-Type"] == "application/json"
    location = reply.headers["Location"]
    created.append(location)
    etag = reply.headers["ETag"]
    assert live_api.request("GET", location).json() == reply.json()
    patch_body = json.dumps({"status": "in_progress"}).encode()
    patched = live_api.request("PATCH", location, patch_body, {**JSON_HEADERS, "If-Match": etag})
    assert patched.status == 200
    assert patched.json()["data"]["started_at"] is not None
    stale = live_api.request("PATCH", location, patch_body, {**JSON_HEADERS, "If-Match": etag})
    assert stale.status == 412
    assert live_api.request("DELETE", location).status == 204
    assert live_api.request("GET", location).status == 404


@pytest.mark.parametrize("path", ["/api/sessions", "/api/sessions/"])
def test_collection_answers_with_and_without_slash(live_api: Api, created: list[str], path: str) -> None:
    reply = live_api.request("GET", path + "?limit=1")
    assert reply.status == 200
    assert set(reply.json()) == {"data", "next_cursor"}
    posted = live_api.request("POST", path, b'{"title": "slash"}', JSON_HEADERS)
    assert posted.status == 201
    created.append(posted.headers["Location"])


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/api/nothing"), ("PUT", "/api/sessions/1"), ("POST", "/api/sessions/1"), ("GET", "/api/sessions/1/")],
)
def test_unrouted_requests_get_a_json_404(live_api: Api, method: str, path: str) -> None:
    reply = live_api.request(method, path)
    assert reply.status == 404
    assert reply.headers["Content-Type"] == "application/json"
    if not DEPLOYED_API_URL:  # API Gateway answers a request no route matches itself, in its own words
        assert reply.json()["error"]["code"] == "not_found"


def test_hostile_bodies_over_http(live_api: Api) -> None:
    too_big = json.dumps({"title": "x", "description": "x" * (2 * 1024 * 1024)}).encode()
    assert live_api.request("POST", "/api/sessions/", too_big, JSON_HEADERS).status == 413
    assert live_api.request("POST", "/api/sessions/", b'{"title": "\xff"}', JSON_HEADERS).status == 400
    assert live_api.request("POST", "/api/sessions/", b"title=x", {}).status == 415
    assert live_api.request("POST", "/api/sessions/", b"[" * 10_000, JSON_HEADERS).status == 400


def test_idempotency_key_works_locally(live_api: Api, created: list[str]) -> None:
    # Keys live in the service's own database, beside the sessions, locally as when deployed;
    # a deployed stack remembers the keys of earlier runs, so each run uses a key of its own.
    headers = {"Idempotency-Key": f"http-once-{uuid.uuid4()}"}
    first, second = post(live_api, {"title": "once"}, headers), post(live_api, {"title": "once"}, headers)
    assert first.status == second.status == 201
    created.append(first.headers["Location"])
    assert first.json() == second.json()
    assert post(live_api, {"title": "other"}, headers).status == 422


def test_concurrent_creates_scale_out_and_all_land(live_api: Api, created: list[str]) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        replies = list(pool.map(lambda n: post(live_api, {"title": f"concurrent {n}"}), range(24)))
    created.extend(reply.headers["Location"] for reply in replies if reply.status == 201)
    assert [reply.status for reply in replies] == [201] * 24
    assert len({reply.json()["data"]["id"] for reply in replies}) == 24


@local_only("the deployed stack routes only /api/sessions, not /api/openapi.json or /api/docs")
def test_openapi_document_and_swagger_ui_are_served(live_api: Api) -> None:
    document = live_api.request("GET", "/api/openapi.json")
    assert document.status == 200
    assert document.json() == json.loads((REPO_ROOT / "docs" / "openapi.json").read_text())
    page = live_api.request("GET", "/api/docs")
    assert page.status == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert b"SwaggerUIBundle" in page.body


def test_make_dev_serves_where_the_spec_sends_its_requests() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert re.search(r"^PORT \?= 8000$", makefile, re.MULTILINE)
    assert DEFAULT_PORT == 8000
    assert f"http://localhost:{DEFAULT_PORT}" == SPEC_BASE_URL


def template_cors_configuration() -> dict[str, Any]:
    """The HttpApi's CorsConfiguration as enabled, read straight from template.yaml (no samcli)."""
    template = yaml_parse((REPO_ROOT / "template.yaml").read_text())
    apis = [r for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::HttpApi"]
    (api,) = apis
    config: dict[str, Any] = api["Properties"]["CorsConfiguration"]
    if "Fn::If" in config:  # switched on by a condition: the branch that enables it
        config = config["Fn::If"][1]
    return config


def test_preflight_follows_the_templates_cors_configuration(live_api: Api) -> None:
    config = template_cors_configuration()
    requested = ", ".join(name.lower() for name in config["AllowHeaders"])
    reply = live_api.request(
        "OPTIONS",
        "/api/sessions/1",
        headers={
            "Origin": "https://app.example",  # CorsAllowOrigins defaults to "*"
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": requested,
        },
    )

    assert reply.status == 204
    assert reply.headers["Access-Control-Allow-Origin"] == "*"
    assert reply.headers["Access-Control-Allow-Headers"] == ",".join(config["AllowHeaders"])
    assert reply.headers["Access-Control-Allow-Methods"] == ",".join(config["AllowMethods"])
    assert reply.headers["Access-Control-Max-Age"] == str(config["MaxAge"])


def test_responses_to_another_origin_expose_what_the_template_lists(live_api: Api) -> None:
    exposed = template_cors_configuration().get("ExposeHeaders")
    reply = live_api.request("GET", "/api/sessions/?limit=1", headers={"Origin": "https://app.example"})

    assert reply.headers["Access-Control-Allow-Origin"] == "*"
    assert reply.headers.get("Access-Control-Expose-Headers") == (",".join(exposed) if exposed else None)


@local_only("it starts a local server of its own with MAX_BODY_BYTES=100")
def test_service_settings_from_the_shell_reach_the_functions(tmp_path: Path) -> None:
    # MAX_BODY_BYTES is not in the template: `sam local` would drop it, the local server passes it.
    server = serve(f"sqlite:///{tmp_path / 'small.db'}", tmp_path, env={"MAX_BODY_BYTES": "100"})
    try:
        too_big = post(server, {"title": "x" * 200})
        small = post(server, {"title": "fits"})
    finally:
        assert server.stop(signal.SIGTERM) == 0
    assert too_big.status == 413
    assert small.status == 201
