"""The local server's authorizer over real HTTP: AUTH=jwt refuses as API Gateway does, AUTH unset is one user."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from local_api import local_issuer
from local_api.local_issuer import LocalIssuer
from tests.e2e.local_api import tokens
from tests.e2e.local_api.conftest import REPO_ROOT, Reply, Server, make_workdir, start_server

pytestmark = pytest.mark.slow

# Routed to the echo fixture, which sends the event it received back.
ECHO_PATH = "/items/42"
UNAUTHORIZED_BODY = {"message": "Unauthorized"}


@pytest.fixture(scope="module")
def jwt_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(make_workdir(tmp_path_factory.mktemp("auth_jwt")), ["--no-migrate"], {"AUTH": "jwt"})
    yield running
    assert running.stop(signal.SIGTERM) == 0


@pytest.fixture(scope="module")
def issuer(jwt_server: Server) -> LocalIssuer:
    # The server made the key pair on start, in its project root; `make token` reads the same file.
    return local_issuer.load_or_create(jwt_server.workdir)


def get(server: Server, authorization: str | None) -> Reply:
    headers = {} if authorization is None else {"Authorization": authorization}
    return server.request("GET", ECHO_PATH, headers=headers)


def authorizer_of(reply: Reply) -> Any:
    assert reply.status == 200, reply.body
    return reply.json()["event"]["requestContext"]["authorizer"]


def assert_unauthorized(reply: Reply) -> None:
    assert reply.status == 401
    assert json.loads(reply.body) == UNAUTHORIZED_BODY
    assert reply.headers["Content-Type"] == "application/json"
    assert reply.headers["www-authenticate"].startswith("Bearer")


def test_the_server_says_tokens_are_required(jwt_server: Server, issuer: LocalIssuer) -> None:
    assert f"Authentication: JWT (issuer {local_issuer.ISSUER}, audience {local_issuer.AUDIENCE})" in jwt_server.log


def test_a_good_token_reaches_the_function_with_its_claims(jwt_server: Server, issuer: LocalIssuer) -> None:
    alice = authorizer_of(get(jwt_server, f"Bearer {issuer.mint('alice')}"))
    bob = authorizer_of(get(jwt_server, f"Bearer {issuer.mint('bob')}"))

    assert alice["jwt"]["claims"]["sub"] == "alice"
    assert alice["jwt"]["claims"]["iss"] == local_issuer.ISSUER
    assert alice["jwt"]["claims"]["aud"] == local_issuer.AUDIENCE
    assert isinstance(alice["jwt"]["claims"]["exp"], str)
    assert alice["jwt"]["scopes"] is None
    assert bob["jwt"]["claims"]["sub"] == "bob"


def test_no_token_is_refused(jwt_server: Server) -> None:
    reply = get(jwt_server, None)

    assert_unauthorized(reply)
    assert reply.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "make_token",
    [
        lambda issuer: "not-a-jwt",
        lambda issuer: tokens.signed_by_another_key(issuer, tokens.claims(now=tokens.wall_clock())),
        lambda issuer: tokens.unsigned(issuer, tokens.claims(now=tokens.wall_clock())),
        lambda issuer: tokens.hmac_with_public_key(issuer, tokens.claims(now=tokens.wall_clock())),
        lambda issuer: issuer.mint("alice", now=tokens.wall_clock() - 7200, lifetime_seconds=3600),
        lambda issuer: issuer.mint("alice", extra_claims={"iss": "https://evil.example"}),
        lambda issuer: issuer.mint("alice", extra_claims={"aud": "another-api"}),
    ],
    ids=[
        "malformed",
        "wrong-signature",
        "alg-none",
        "hs256-with-public-key",
        "expired",
        "wrong-issuer",
        "wrong-audience",
    ],
)
def test_bad_tokens_are_refused_before_the_function_runs(
    jwt_server: Server, issuer: LocalIssuer, make_token: Any
) -> None:
    reply = get(jwt_server, f"Bearer {make_token(issuer)}")

    assert_unauthorized(reply)
    assert reply.headers["www-authenticate"].startswith('Bearer scope="" error="invalid_token" error_description="')


def test_the_wrong_audience_gets_the_header_aws_documents(jwt_server: Server, issuer: LocalIssuer) -> None:
    reply = get(jwt_server, f"Bearer {issuer.mint('alice', extra_claims={'aud': 'another-api'})}")

    assert reply.headers["www-authenticate"] == (
        'Bearer scope="" error="invalid_token" error_description="the token does not have a valid audience"'
    )


def test_a_refused_token_does_not_reach_a_write_route(jwt_server: Server) -> None:
    reply = jwt_server.request("POST", "/items", b"{}", {"Content-Type": "application/json", "Authorization": "x"})

    assert_unauthorized(reply)


def test_unrouted_requests_stay_404_without_a_token(jwt_server: Server) -> None:
    assert jwt_server.request("GET", "/nope").status == 404


@pytest.fixture(scope="module")
def open_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(make_workdir(tmp_path_factory.mktemp("auth_off")), ["--no-migrate"], {})
    yield running
    assert running.stop(signal.SIGTERM) == 0


def test_without_auth_every_request_is_the_local_user(open_server: Server) -> None:
    assert authorizer_of(get(open_server, None)) == {"jwt": {"claims": {"sub": "local-user"}, "scopes": None}}
    # Whatever a request carries: authentication is off.
    assert authorizer_of(get(open_server, "Bearer not-a-jwt"))["jwt"]["claims"] == {"sub": "local-user"}


def test_without_auth_the_server_says_so_and_makes_no_keys(open_server: Server) -> None:
    assert "Authentication off: every request is made by the local user 'local-user'" in open_server.log
    assert not local_issuer.keys_path(open_server.workdir).exists()


def test_make_token_prints_a_token_the_server_accepts(jwt_server: Server) -> None:
    printed = subprocess.run(
        [sys.executable, "-m", "local_api.mint_token", "erin"],
        cwd=jwt_server.workdir,
        env={"PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    assert authorizer_of(get(jwt_server, f"Bearer {printed.strip()}"))["jwt"]["claims"]["sub"] == "erin"


def test_make_s_token_prints_only_the_token_even_when_it_installs_first(
    jwt_server: Server, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """`TOKEN=$(make -s token USER=alice)` from the README: the install step says nothing on stdout.

    A stand-in venv (VENV=...) makes the first run install: its pip reports as pip does, on stdout,
    and its python is this one. The shared venv is never installed into.
    """
    venv = tmp_path_factory.mktemp("venv")
    (venv / "bin").mkdir()
    fake_pip = venv / "bin" / "pip"
    fake_pip.write_text('#!/bin/sh\n[ "$1" = check ] && echo "No broken requirements found."\nexit 0\n')
    python = venv / "bin" / "python"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    for script in (fake_pip, python):
        script.chmod(0o755)
    makefile = REPO_ROOT / "Makefile"
    # The install step's prerequisites, relative to the project root make runs in (the server's).
    (jwt_server.workdir / "shared").mkdir(exist_ok=True)
    for requirements in ("requirements.txt", "shared/requirements.txt"):
        (jwt_server.workdir / requirements).touch()
    printed = subprocess.run(
        ["make", "-s", "-f", str(makefile), f"VENV={venv}", "token", "USER=erin"],
        cwd=jwt_server.workdir,
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        check=True,
    )

    assert (venv / ".installed").exists(), "the install step did not run: the test proves nothing"
    assert "No broken requirements found." in printed.stderr
    token = printed.stdout.removesuffix("\n")
    assert "\n" not in token
    assert authorizer_of(get(jwt_server, f"Bearer {token}"))["jwt"]["claims"]["sub"] == "erin"
