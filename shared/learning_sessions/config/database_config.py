"""Which database, as whom, over what TLS: the settings interpreted, and the secret read.

Precedence follows the feature spec: ``DATABASE_URL`` wins; otherwise the ``POSTGRES_*``
variables; otherwise an RDS-style Secrets Manager secret named by ``POSTGRES_SECRET_ARN``.
Everything here that can be checked without I/O is checked at cold start, and every error names
the variable and never any part of a password. The secret itself is read only when a connection
is opened (database.py), so a passing Secrets Manager outage answers 503 instead of failing the
execution environment for good.
"""

from __future__ import annotations

import json
import ssl
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import URL, make_url
from sqlalchemy.exc import ArgumentError

from learning_sessions.config.settings import ConfigError, Settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

PG_DRIVER = "postgresql+pg8000"
SSL_MODES = ("disable", "require", "verify-full")
_SECRET_KEYS = ("username", "password")
# Attempts per secret read, the first included: with connect and read timeouts of
# DB_CONNECT_TIMEOUT each, an unreachable Secrets Manager costs a bounded few seconds.
SECRET_READ_ATTEMPTS = 2


class SecretUnreadable(ConfigError):
    """Secrets Manager did not answer with the secret (network, throttling, permissions): retry later."""


@dataclass(frozen=True)
class DatabaseConfig:
    """Where to connect. With ``secret_arn``, ``url`` names only the driver: the address and the
    credentials of each new connection come from the secret (and the settings that override it)."""

    url: URL
    sslmode: str
    secret_arn: str | None = None

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"


def database_config(settings: Settings) -> DatabaseConfig:
    """The database the settings select, checked without any I/O."""
    if settings.database_url is not None:
        url, sslmode = _parse_database_url(settings.database_url.get_secret_value())
        return DatabaseConfig(url, sslmode or settings.postgres_sslmode)
    if settings.postgres_host:
        missing = [
            name
            for name, value in (("POSTGRES_DB", settings.postgres_db), ("POSTGRES_USER", settings.postgres_user))
            if not value
        ]
        if missing:
            raise ConfigError(f"POSTGRES_HOST is set, so {' and '.join(missing)} must be set too")
        password = settings.postgres_password.get_secret_value() if settings.postgres_password else None
        url = URL.create(
            PG_DRIVER,
            username=settings.postgres_user,
            password=password,
            host=settings.postgres_host,
            port=settings.postgres_port,
            database=settings.postgres_db,
        )
        return DatabaseConfig(url, settings.postgres_sslmode)
    if settings.postgres_secret_arn:
        # Only the driver: every connection's address and credentials come from secret_connect_params.
        return DatabaseConfig(URL.create(PG_DRIVER), settings.postgres_sslmode, settings.postgres_secret_arn)
    raise ConfigError(
        "No database configured: set DATABASE_URL, or POSTGRES_HOST with POSTGRES_DB, "
        "POSTGRES_USER and POSTGRES_PASSWORD, or POSTGRES_SECRET_ARN"
    )


def resolve_database_url(settings: Settings) -> URL:
    """The complete URL, credentials included: reads the secret if that is where they are."""
    config = database_config(settings)
    if config.secret_arn is None:
        return config.url
    params = secret_connect_params(read_database_secret(settings), settings)
    return URL.create(
        PG_DRIVER,
        username=params["user"],
        password=params["password"],
        host=params["host"],
        port=params["port"],
        database=params["database"],
    )


def _parse_database_url(raw: str) -> tuple[URL, str | None]:
    """The URL and the sslmode it asks for; its message never echoes the raw value."""
    # An unencoded "@" in the user or password makes part of the password the host (or the
    # database), which connection errors then print. Any "@" after the first must be %40.
    if raw.partition("://")[2].count("@") > 1:
        raise ConfigError(
            "DATABASE_URL has more than one '@': percent-encode the user name and password "
            "(@ as %40, / as %2F, : as %3A, ? as %3F, # as %23, % as %25)"
        )
    try:
        url = make_url(raw)
    except (ArgumentError, ValueError):
        # ValueError: a port that is not a number, as when the "@host" is forgotten and the
        # password is read as the port. The value is not quoted: it may hold a password.
        raise ConfigError(
            "DATABASE_URL is not a valid database URL (expected e.g. sqlite:///learning_env.db or "
            "postgresql://user:password@host:5432/database, with the password percent-encoded)"
        ) from None
    backend = url.get_backend_name()
    if backend == "sqlite":
        return url, None
    if backend not in ("postgresql", "postgres"):
        raise ConfigError(f"DATABASE_URL must use sqlite or postgresql, not {backend!r}")
    # SQLAlchemy passes query arguments to pg8000.connect, which knows none of libpq's: each would
    # fail every connection. sslmode means what POSTGRES_SSLMODE means; the rest are refused here.
    query = dict(url.query)
    sslmode = query.pop("sslmode", None)
    if query:
        raise ConfigError(f"DATABASE_URL: query parameter {', '.join(sorted(query))} is not supported (only sslmode)")
    if sslmode is not None and sslmode not in SSL_MODES:
        # Also a repeated sslmode, which SQLAlchemy gives as a tuple.
        raise ConfigError(f"DATABASE_URL: sslmode must be one of {', '.join(SSL_MODES)}")
    # Whatever driver the URL names, pg8000 is the one the layer ships.
    return url.set(drivername=PG_DRIVER, query={}), str(sslmode) if sslmode else None


def ssl_context(sslmode: str, ca_file: str | None) -> ssl.SSLContext | None:
    """The TLS context for a Postgres sslmode; None for "disable"."""
    if sslmode == "disable":
        return None
    try:
        context = ssl.create_default_context(cafile=ca_file)
    except (OSError, ValueError) as exc:
        # ssl.SSLError (not PEM, no certificate in it) is an OSError, as is a missing file.
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise ConfigError(
            f"POSTGRES_SSL_CA_FILE: {ca_file} is not a readable PEM file of CA certificates ({reason})"
        ) from None
    if sslmode == "require":
        # Encrypted, but the certificate chain is not checked ("require" as libpq means it).
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


@lru_cache(maxsize=4)
def _secrets_provider(timeout_seconds: float) -> SecretsProvider:
    # Imported here: boto3 is only needed on this path, and it is the costliest import.
    from aws_lambda_powertools.utilities.parameters import SecretsProvider
    from botocore.config import Config

    # botocore's defaults (60 s timeouts, retries) would outlast the function's own timeout.
    boto_config = Config(
        connect_timeout=timeout_seconds,
        read_timeout=timeout_seconds,
        retries={"total_max_attempts": SECRET_READ_ATTEMPTS, "mode": "standard"},
    )
    return SecretsProvider(boto_config=boto_config)


def forget_cached_secrets() -> None:
    """Drop the cached secret values (and clients): the next read asks Secrets Manager."""
    _secrets_provider.cache_clear()


def read_database_secret(settings: Settings, *, force_fetch: bool = False) -> dict[str, Any]:
    """The RDS-style secret, cached for SECRET_MAX_AGE_SECONDS so warm invocations make no API call.

    ``force_fetch`` bypasses the cache, as after a rotation the cached password is refused.
    """
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    arn = settings.postgres_secret_arn or ""
    try:
        raw = _secrets_provider(settings.db_connect_timeout).get(
            arn, max_age=settings.secret_max_age_seconds, force_fetch=force_fetch
        )
    except GetParameterError as exc:
        # Powertools keeps only the message; it may quote the ARN, never the value.
        raise SecretUnreadable(f"POSTGRES_SECRET_ARN: the secret could not be read ({exc})") from None
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
        secret = json.loads(text)
    except UnicodeDecodeError:
        raise ConfigError("POSTGRES_SECRET_ARN: the secret's binary value is not UTF-8 text") from None
    except ValueError:
        raise ConfigError("POSTGRES_SECRET_ARN: the secret is not valid JSON") from None
    if not isinstance(secret, dict):
        raise ConfigError("POSTGRES_SECRET_ARN: the secret must be a JSON object")
    missing = [key for key in _SECRET_KEYS if not secret.get(key)]
    if missing:
        raise ConfigError(f"POSTGRES_SECRET_ARN: the secret lacks {', '.join(missing)}")
    return secret


def secret_connect_params(secret: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """pg8000's connect arguments from the secret: its credentials, and its address unless overridden."""
    # Credentials always come from the secret; the address may too (a secret created by RDS for a
    # Proxy or by hand), else from POSTGRES_HOST_OVERRIDE / POSTGRES_PORT / POSTGRES_DB.
    host = settings.postgres_host_override or secret.get("host")
    database = secret.get("dbname") or settings.postgres_db
    missing = [name for name, value in (("POSTGRES_HOST_OVERRIDE", host), ("POSTGRES_DB", database)) if not value]
    if missing:
        raise ConfigError(f"POSTGRES_SECRET_ARN: the secret has no address, so set {' and '.join(missing)}")
    try:
        port = int(secret.get("port") or settings.postgres_port)
    except (TypeError, ValueError):
        raise ConfigError("POSTGRES_SECRET_ARN: the secret's port is not a number") from None
    return {
        "user": str(secret["username"]),
        "password": str(secret["password"]),
        "host": str(host),
        "port": port,
        "database": str(database),
    }
