"""The local token issuer behind ``AUTH=jwt make dev``: one RSA key pair, made on first use.

It stands in for the identity provider (Cognito, or any OIDC issuer) that a deployed stack's JWT
authorizer trusts. The private key set lives in ``.local-issuer/`` of the project root, which git
ignores: every checkout has its own keys, and tokens of one checkout mean nothing to another.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

# Fixed, documented values: nothing resolves them, they only have to match between token and authorizer.
ISSUER = "https://local-issuer.learning-sessions.invalid"
AUDIENCE = "learning-sessions-local"
# API Gateway's JWT authorizers accept RSA signatures; the local issuer signs with the usual one.
ALGORITHM = "RS256"
KEYS_DIR = ".local-issuer"
KEYS_FILE = "jwks.json"
# Long enough for a working day of curl commands; a token is minted again in a second.
DEFAULT_LIFETIME_SECONDS = 12 * 3600


@dataclass(frozen=True)
class LocalIssuer:
    key: RSAKey

    @property
    def kid(self) -> str:
        return str(self.key.kid)

    def public_key_set(self) -> KeySet:
        """What an OIDC issuer publishes at its jwks_uri: the public half only."""
        return KeySet([RSAKey.import_key(self.key.as_dict(private=False))])

    def mint(
        self,
        subject: str,
        *,
        now: int | None = None,
        lifetime_seconds: int = DEFAULT_LIFETIME_SECONDS,
        extra_claims: dict[str, Any] | None = None,
    ) -> str:
        """A signed token for ``subject`` that the local authorizer accepts until it expires."""
        issued_at = int(time.time()) if now is None else now
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": subject,
            "iat": issued_at,
            "nbf": issued_at,
            "exp": issued_at + lifetime_seconds,
            **(extra_claims or {}),
        }
        return jwt.encode({"alg": ALGORITHM, "kid": self.kid}, claims, self.key, algorithms=[ALGORITHM])


def keys_path(project_dir: Path) -> Path:
    return project_dir / KEYS_DIR / KEYS_FILE


def load_or_create(project_dir: Path) -> LocalIssuer:
    """The project's local issuer, its key pair generated and saved on first use."""
    path = keys_path(project_dir)
    if not path.is_file():
        _create(path)
    key_set = KeySet.import_key_set(json.loads(path.read_text(encoding="utf-8")))
    key = next(iter(key_set))
    if not isinstance(key, RSAKey):
        raise ValueError(f"{path}: expected an RSA key, found {key.key_type}")
    return LocalIssuer(key)


def _create(path: Path) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = RSAKey.generate_key(2048, parameters={"alg": ALGORITHM, "use": "sig"}, auto_kid=True)
    content = json.dumps(KeySet([key]).as_dict(private=True), indent=2)
    # `make token` and `make dev` may both get here first: the key set is written whole to a
    # private temporary file and linked into place, which fails if the other one won; its keys stay.
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".jwks-")  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(content)
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        os.unlink(temporary)
