"""API Gateway's HTTP API authorization, emulated: its JWT authorizer, or one fixed local user.

Either way the function finds the caller where a deployed JWT authorizer puts it, under
``requestContext.authorizer.jwt.claims``, so it reads the owner the same way in every mode.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any, Protocol

from joserfc import jws, jwt
from joserfc.errors import BadSignatureError, ClaimError, ExpiredTokenError, JoseError, MissingClaimError
from joserfc.jwk import KeySet

from local_api import local_issuer
from local_api.config import ConfigError

# What API Gateway answers, itself, for a missing or refused token (the function never runs).
UNAUTHORIZED_STATUS = 401
UNAUTHORIZED_BODY = {"message": "Unauthorized"}
LOCAL_USER = "local-user"
# AUTH's values; unset or empty is "off".
AUTH_OFF = "off"
AUTH_JWT = "jwt"

# error_description per refused claim. AWS documents only the audience's wording; the others follow it.
_EXPIRED = "the token has expired"
_CLAIM_DESCRIPTIONS = {
    "iss": "the token does not have a valid issuer",
    "aud": "the token does not have a valid audience",
    "nbf": "the token is not valid yet",
    "iat": "the token was issued in the future",
}


class TokenRejected(Exception):
    """The request carries no token, or one the authorizer refuses: API Gateway answers 401."""

    def __init__(self, description: str | None) -> None:
        super().__init__(description or "no token")
        self.description = description

    @property
    def www_authenticate(self) -> str:
        """The ``www-authenticate`` header, in the form AWS's troubleshooting guide shows."""
        if self.description is None:
            # No token at all: RFC 6750 section 3 sends the bare scheme, with no error code.
            return "Bearer"
        return f'Bearer scope="" error="invalid_token" error_description="{self.description}"'


class Authorizer(Protocol):
    def authorize(self, authorization: str | None) -> dict[str, Any]:
        """``requestContext.authorizer`` for a request with this Authorization header, or TokenRejected."""
        ...

    def describe(self) -> str:
        """One line for the server's start-up log."""
        ...


def jwt_authorizer_context(claims: Mapping[str, Any]) -> dict[str, Any]:
    """``requestContext.authorizer`` as a JWT authorizer passes it in a payload 2.0 event."""
    # "scopes" is null unless the route declares AuthorizationScopes (none of ours do), even
    # when the token has a scope claim: that is what deployed HTTP APIs are reported to send.
    return {"jwt": {"claims": {name: claim_as_string(value) for name, value in claims.items()}, "scopes": None}}


def claim_as_string(value: Any) -> str:
    """A claim's value as API Gateway passes it: always a string.

    Numbers arrive as their digits ("exp": "1787996002"), and arrays Go-style, space-separated in
    brackets ("[admins editors]"), as deployed HTTP APIs are observed to send them.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return "[" + " ".join(claim_as_string(item) for item in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{key}:{claim_as_string(item)}" for key, item in sorted(value.items())) + "]"
    if value is None:
        return "<nil>"
    return str(value)


class LocalUserAuthorizer:
    """Authentication off: every request is made by the same local user, whatever it carries."""

    def __init__(self, subject: str = LOCAL_USER) -> None:
        self._context = jwt_authorizer_context({"sub": subject})
        self._subject = subject

    def authorize(self, authorization: str | None) -> dict[str, Any]:
        # A fresh copy: the event is the function's to change.
        return {"jwt": {**self._context["jwt"], "claims": dict(self._context["jwt"]["claims"])}}

    def describe(self) -> str:
        return (
            f"Authentication off: every request is made by the local user {self._subject!r} "
            "(AUTH=jwt to require tokens)"
        )


class JwtAuthorizer:
    """The checks of an HTTP API's JWT authorizer: alg, kid and signature, then iss, aud, exp, nbf, iat."""

    def __init__(
        self,
        keys: KeySet,
        *,
        issuer: str,
        audience: Collection[str],
        algorithms: Collection[str] = (local_issuer.ALGORITHM,),
        now: Callable[[], int] | None = None,
    ) -> None:
        self._keys = keys
        self._issuer = issuer
        self._audience = frozenset(audience)
        self._algorithms = list(algorithms)
        self._now = now or (lambda: int(time.time()))

    def authorize(self, authorization: str | None) -> dict[str, Any]:
        return jwt_authorizer_context(self.verify(bearer_token(authorization)))

    def describe(self) -> str:
        return (
            f"Authentication: JWT (issuer {self._issuer}, audience {', '.join(sorted(self._audience))}); "
            "get a token with `make token USER=<name>`"
        )

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims, once every check passed; TokenRejected says which one failed."""
        try:
            header = jws.extract_compact(token.encode()).headers()
        except (JoseError, ValueError):
            raise TokenRejected("the token is malformed") from None
        # Checked before any key is used, so neither "none" nor an HMAC "signed" with the public
        # key (key confusion) ever reaches a verifier.
        if header.get("alg") not in self._algorithms:
            raise TokenRejected("the token's algorithm is not supported")
        try:
            key = self._keys.get_by_kid(str(header["kid"]))
        except (KeyError, JoseError):
            raise TokenRejected("the token's key id is not known") from None
        try:
            claims: dict[str, Any] = jwt.decode(token, key, algorithms=self._algorithms).claims
        except BadSignatureError:
            raise TokenRejected("the token does not have a valid signature") from None
        except (JoseError, ValueError):
            raise TokenRejected("the token is malformed") from None
        self._check_claims(claims)
        return claims

    def _check_claims(self, claims: dict[str, Any]) -> None:
        registry = jwt.JWTClaimsRegistry(
            now=self._now, iss={"essential": True, "value": self._issuer}, exp={"essential": True}
        )
        try:
            registry.validate(claims)
        except ExpiredTokenError:
            raise TokenRejected(_EXPIRED) from None
        except MissingClaimError as error:
            raise TokenRejected(f"the token has no {error.claim.split(',')[0]} claim") from None
        except ClaimError as error:
            claim = error.claim.split(",")[0]
            raise TokenRejected(_CLAIM_DESCRIPTIONS.get(claim, f"the token's {claim} claim is not valid")) from None
        # API Gateway reads client_id (an access token's audience) only when there is no aud.
        audience = claims["aud"] if "aud" in claims else claims.get("client_id")
        audiences = audience if isinstance(audience, list) else [audience]
        if not any(isinstance(value, str) and value in self._audience for value in audiences):
            raise TokenRejected(_CLAIM_DESCRIPTIONS["aud"])


def bearer_token(authorization: str | None) -> str:
    """The token of an Authorization header, with or without its "Bearer " prefix."""
    value = (authorization or "").strip()
    scheme, _, rest = value.partition(" ")
    if scheme.lower() == "bearer":
        value = rest.strip()
    if not value:
        raise TokenRejected(None)
    return value


def from_setting(auth: str | None, project_dir: Path) -> Authorizer:
    """The authorizer that AUTH selects: unset, empty or "off" for none, "jwt" for the local issuer's tokens."""
    choice = (auth or AUTH_OFF).strip().lower()
    if choice == AUTH_OFF:
        return LocalUserAuthorizer()
    if choice == AUTH_JWT:
        try:
            issuer = local_issuer.load_or_create(project_dir)
        except (OSError, ValueError, JoseError) as exc:
            path = local_issuer.keys_path(project_dir)
            raise ConfigError(f"{path}: {exc} (delete {path.parent} to make new keys)") from exc
        return JwtAuthorizer(issuer.public_key_set(), issuer=local_issuer.ISSUER, audience=[local_issuer.AUDIENCE])
    raise ConfigError(f"AUTH must be {AUTH_JWT!r} or {AUTH_OFF!r} (or unset), got {auth!r}")
