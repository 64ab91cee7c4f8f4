"""The local JWT authorizer's checks, and the claims it hands to the function, without a server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from joserfc import jwt

from local_api import local_issuer
from local_api.authorizer import (
    JwtAuthorizer,
    LocalUserAuthorizer,
    TokenRejected,
    bearer_token,
    claim_as_string,
    from_setting,
)
from local_api.config import ConfigError
from local_api.local_issuer import ALGORITHM, AUDIENCE, ISSUER, LocalIssuer
from tests.e2e.local_api import tokens
from tests.e2e.local_api.tokens import NOW


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> LocalIssuer:
    return local_issuer.load_or_create(tmp_path_factory.mktemp("issuer"))


@pytest.fixture(scope="module")
def verifier(issuer: LocalIssuer) -> JwtAuthorizer:
    return JwtAuthorizer(issuer.public_key_set(), issuer=ISSUER, audience=[AUDIENCE], now=lambda: NOW)


def sign(issuer: LocalIssuer, payload: dict[str, Any]) -> str:
    """Exactly these claims, signed with the issuer's key."""
    return jwt.encode({"alg": ALGORITHM, "kid": issuer.kid}, payload, issuer.key, algorithms=[ALGORITHM])


def refusal(verifier: JwtAuthorizer, authorization: str | None) -> TokenRejected:
    with pytest.raises(TokenRejected) as caught:
        verifier.authorize(authorization)
    return caught.value


def test_a_good_token_gives_its_claims_as_api_gateway_passes_them(verifier: JwtAuthorizer, issuer: LocalIssuer) -> None:
    context = verifier.authorize(f"Bearer {sign(issuer, tokens.claims('alice'))}")

    assert context == {
        "jwt": {
            "claims": {
                "iss": ISSUER,
                "aud": AUDIENCE,
                "sub": "alice",
                "iat": str(NOW),
                "nbf": str(NOW),
                "exp": str(NOW + 3600),
            },
            "scopes": None,
        }
    }


def test_the_bearer_prefix_is_optional_as_on_api_gateway(verifier: JwtAuthorizer, issuer: LocalIssuer) -> None:
    token = sign(issuer, tokens.claims("bob"))

    assert verifier.authorize(token)["jwt"]["claims"]["sub"] == "bob"
    assert verifier.authorize(f"bearer  {token} ")["jwt"]["claims"]["sub"] == "bob"


@pytest.mark.parametrize("authorization", [None, "", "   ", "Bearer", "Bearer   "])
def test_no_token_is_refused_with_the_bare_bearer_challenge(verifier: JwtAuthorizer, authorization: str | None) -> None:
    rejected = refusal(verifier, authorization)

    assert rejected.description is None
    assert rejected.www_authenticate == "Bearer"


@pytest.mark.parametrize(
    "token", ["not-a-token", "a.b.c", "....", "Basic dXNlcjpwYXNz", "eyJhbGciOiJSUzI1NiJ9.e30", "e30.e30.e30"]
)
def test_a_malformed_token_is_refused(verifier: JwtAuthorizer, token: str) -> None:
    assert refusal(verifier, f"Bearer {token}").description is not None


def test_a_payload_that_is_not_a_json_object_is_refused(verifier: JwtAuthorizer, issuer: LocalIssuer) -> None:
    header, _, signature = sign(issuer, tokens.claims()).split(".")

    assert refusal(verifier, f"{header}.{tokens.b64url(b'[1, 2]')}.{signature}").description is not None


Forgery = Callable[[LocalIssuer, dict[str, Any]], str]


@pytest.mark.parametrize(
    ("forge", "description"),
    [
        (tokens.signed_by_another_key, "the token does not have a valid signature"),
        (tokens.unsigned, "the token's algorithm is not supported"),
        (tokens.hmac_with_public_key, "the token's algorithm is not supported"),
    ],
    ids=["wrong-signature", "alg-none", "hs256-with-public-key"],
)
def test_forged_tokens_are_refused(
    verifier: JwtAuthorizer, issuer: LocalIssuer, forge: Forgery, description: str
) -> None:
    assert refusal(verifier, f"Bearer {forge(issuer, tokens.claims())}").description == description


def test_a_tampered_payload_breaks_the_signature(verifier: JwtAuthorizer, issuer: LocalIssuer) -> None:
    header, _, signature = sign(issuer, tokens.claims("alice")).split(".")
    tampered = f"{header}.{tokens.b64url_json(tokens.claims('mallory'))}.{signature}"

    assert refusal(verifier, tampered).description == "the token does not have a valid signature"


def test_an_unknown_or_missing_kid_is_refused(verifier: JwtAuthorizer, issuer: LocalIssuer) -> None:
    token = sign(issuer, tokens.claims())
    _, payload, signature = token.split(".")
    for header in ({"alg": "RS256", "kid": "someone-else"}, {"alg": "RS256"}):
        assert refusal(verifier, f"{tokens.b64url_json(header)}.{payload}.{signature}").description == (
            "the token's key id is not known"
        )


@pytest.mark.parametrize(
    ("overrides", "description"),
    [
        ({"exp": NOW - 1}, "the token has expired"),
        ({"exp": NOW}, "the token has expired"),
        ({"exp": None}, "the token has no exp claim"),
        ({"nbf": NOW + 60}, "the token is not valid yet"),
        ({"iat": NOW + 60}, "the token was issued in the future"),
        ({"iss": "https://evil.example"}, "the token does not have a valid issuer"),
        ({"iss": None}, "the token has no iss claim"),
        ({"exp": "tomorrow"}, "the token's exp claim is not valid"),
        ({"aud": "someone-else"}, "the token does not have a valid audience"),
        ({"aud": ["someone-else", "another"]}, "the token does not have a valid audience"),
        ({"aud": None}, "the token does not have a valid audience"),
    ],
    ids=lambda value: str(value),
)
def test_claims_are_checked(
    verifier: JwtAuthorizer, issuer: LocalIssuer, overrides: dict[str, Any], description: str
) -> None:
    payload = {name: value for name, value in tokens.claims(**overrides).items() if value is not None}

    assert refusal(verifier, sign(issuer, payload)).description == description


def test_the_audience_refusal_reads_as_aws_documents_it(verifier: JwtAuthorizer, issuer: LocalIssuer) -> None:
    rejected = refusal(verifier, sign(issuer, tokens.claims(aud="someone-else")))

    assert rejected.www_authenticate == (
        'Bearer scope="" error="invalid_token" error_description="the token does not have a valid audience"'
    )


def test_client_id_is_the_audience_only_without_aud(verifier: JwtAuthorizer, issuer: LocalIssuer) -> None:
    without_aud = {name: value for name, value in tokens.claims().items() if name != "aud"}

    assert verifier.authorize(sign(issuer, {**without_aud, "client_id": AUDIENCE}))["jwt"]["claims"]["sub"] == "alice"
    assert refusal(verifier, sign(issuer, tokens.claims(aud="other", client_id=AUDIENCE))).description == (
        "the token does not have a valid audience"
    )
    assert verifier.authorize(sign(issuer, tokens.claims(aud=["other", AUDIENCE])))["jwt"]["claims"]["sub"] == "alice"


def test_a_token_minted_now_is_accepted_by_the_real_clock(issuer: LocalIssuer) -> None:
    verifier = JwtAuthorizer(issuer.public_key_set(), issuer=ISSUER, audience=[AUDIENCE])

    assert verifier.authorize(issuer.mint("carol"))["jwt"]["claims"]["sub"] == "carol"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("text", "text"),
        (1787996002, "1787996002"),
        (1787996002.0, "1787996002"),
        (1.5, "1.5"),
        (True, "true"),
        (False, "false"),
        (["admins", "editors"], "[admins editors]"),
        ([], "[]"),
        ({"b": 1, "a": "x"}, "map[a:x b:1]"),
    ],
)
def test_claim_values_arrive_as_strings(value: Any, expected: str) -> None:
    assert claim_as_string(value) == expected


def test_with_authentication_off_every_request_is_the_local_user() -> None:
    authorizer = LocalUserAuthorizer()
    context = authorizer.authorize(None)
    context["jwt"]["claims"]["sub"] = "changed by a function"

    assert authorizer.authorize("Bearer anything") == {"jwt": {"claims": {"sub": "local-user"}, "scopes": None}}


def test_bearer_token_keeps_a_token_without_the_scheme() -> None:
    assert bearer_token("abc.def.ghi") == "abc.def.ghi"


def test_auth_setting(tmp_path: Path) -> None:
    assert isinstance(from_setting(None, tmp_path), LocalUserAuthorizer)
    assert isinstance(from_setting("", tmp_path), LocalUserAuthorizer)
    assert isinstance(from_setting("off", tmp_path), LocalUserAuthorizer)
    assert not local_issuer.keys_path(tmp_path).exists()
    assert isinstance(from_setting("JWT", tmp_path), JwtAuthorizer)
    assert local_issuer.keys_path(tmp_path).is_file()
    with pytest.raises(ConfigError, match="AUTH must be"):
        from_setting("cognito", tmp_path)


def test_the_keys_are_made_once_and_kept(tmp_path: Path) -> None:
    first = local_issuer.load_or_create(tmp_path)
    again = local_issuer.load_or_create(tmp_path)

    assert first.kid == again.kid
    verifier = JwtAuthorizer(again.public_key_set(), issuer=ISSUER, audience=[AUDIENCE])
    assert verifier.authorize(first.mint("dave"))["jwt"]["claims"]["sub"] == "dave"
    assert local_issuer.keys_path(tmp_path).stat().st_mode & 0o077 == 0
    assert "d" not in again.public_key_set().as_dict()["keys"][0]  # no private part published


def test_unreadable_keys_are_a_configuration_error(tmp_path: Path) -> None:
    path = local_issuer.keys_path(tmp_path)
    path.parent.mkdir()
    path.write_text("{not json")

    with pytest.raises(ConfigError, match="delete"):
        from_setting("jwt", tmp_path)
