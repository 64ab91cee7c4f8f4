"""Tokens for the local authorizer's tests: good ones from the local issuer, and the usual attacks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

from joserfc import jwt
from joserfc.jwk import RSAKey

from local_api.local_issuer import ALGORITHM, AUDIENCE, ISSUER, LocalIssuer

NOW = 1_800_000_000


def wall_clock() -> int:
    """The wall clock, for tokens a running server checks against its own clock."""
    return int(time.time())


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_json(value: dict[str, Any]) -> str:
    return b64url(json.dumps(value).encode())


def claims(subject: str = "alice", now: int = NOW, **overrides: Any) -> dict[str, Any]:
    return {"iss": ISSUER, "aud": AUDIENCE, "sub": subject, "iat": now, "nbf": now, "exp": now + 3600, **overrides}


def unsigned(issuer: LocalIssuer, payload: dict[str, Any]) -> str:
    """alg "none": no signature at all, which a verifier must never take for a valid one."""
    return f"{b64url_json({'alg': 'none', 'typ': 'JWT', 'kid': issuer.kid})}.{b64url_json(payload)}."


def signed_by_another_key(issuer: LocalIssuer, payload: dict[str, Any]) -> str:
    """Right kid and alg, wrong private key: only the signature check can tell."""
    impostor = RSAKey.generate_key(2048)
    return jwt.encode({"alg": ALGORITHM, "kid": issuer.kid}, payload, impostor, algorithms=[ALGORITHM])


def hmac_with_public_key(issuer: LocalIssuer, payload: dict[str, Any]) -> str:
    """Key confusion: HS256 with the issuer's public key (public knowledge) as the HMAC secret.

    joserfc refuses to build this (it will not use an RSA key as an HMAC secret), so the test
    forges it with the standard library, the way an attacker would.
    """
    signing_input = f"{b64url_json({'alg': 'HS256', 'typ': 'JWT', 'kid': issuer.kid})}.{b64url_json(payload)}"
    secret = issuer.key.as_pem(private=False)
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"
