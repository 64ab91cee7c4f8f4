"""The one typed settings object, read from environment variables.

Precedence follows the feature spec: ``DATABASE_URL`` wins; otherwise the ``POSTGRES_*``
variables; otherwise an RDS-style Secrets Manager secret named by ``POSTGRES_SECRET_ARN``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

# Ten years.
MAX_IDEMPOTENCY_EXPIRY_SECONDS = 10 * 366 * 24 * 3600


class ConfigError(RuntimeError):
    """A setting is missing or invalid. The message names the variable, never its secret value."""


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    database_url: SecretStr | None = Field(default=None, alias="DATABASE_URL")
    postgres_host: str | None = Field(default=None, alias="POSTGRES_HOST")
    postgres_port: int = Field(default=5432, ge=1, le=65535, alias="POSTGRES_PORT")
    postgres_db: str | None = Field(default=None, alias="POSTGRES_DB")
    postgres_user: str | None = Field(default=None, alias="POSTGRES_USER")
    postgres_password: SecretStr | None = Field(default=None, alias="POSTGRES_PASSWORD")
    postgres_secret_arn: str | None = Field(default=None, alias="POSTGRES_SECRET_ARN")
    # With the secret: where to connect (the instance or an RDS Proxy endpoint). An RDS-managed
    # master secret holds only username and password, so host, port and database come from here.
    postgres_host_override: str | None = Field(default=None, alias="POSTGRES_HOST_OVERRIDE")
    # TLS to the database: "disable" locally, "require" when deployed to RDS.
    postgres_sslmode: str = Field(
        default="disable", pattern="^(disable|require|verify-full)$", alias="POSTGRES_SSLMODE"
    )
    postgres_ssl_ca_file: str | None = Field(default=None, alias="POSTGRES_SSL_CA_FILE")
    # Seconds; pg8000 applies it to the connect and to every socket read, so a dead
    # database fails fast instead of hanging the invocation. Keep it above the statement timeout.
    db_connect_timeout: float = Field(default=5.0, gt=0, le=60, alias="DB_CONNECT_TIMEOUT")
    # Milliseconds; ends a slow statement well before the Lambda timeout.
    db_statement_timeout_ms: int = Field(default=3000, ge=0, le=900_000, alias="DB_STATEMENT_TIMEOUT_MS")
    # Seconds; a pooled connection idle for longer is pinged before use (see database.py).
    db_ping_after_idle_seconds: float = Field(default=30.0, ge=0, alias="DB_PING_AFTER_IDLE_SECONDS")
    # Postgres: run statements as named prepared statements (one round trip instead of three).
    db_prepared_statements: bool = Field(default=True, alias="DB_PREPARED_STATEMENTS")
    max_body_bytes: int = Field(default=1024 * 1024, ge=1, alias="MAX_BODY_BYTES")
    # How long an Idempotency-Key is remembered. Bounded so that the expiry of a key stored now
    # is always a date the databases and Python can hold: an absurd value fails the cold start.
    idempotency_expiry_seconds: int = Field(
        default=24 * 3600, ge=60, le=MAX_IDEMPOTENCY_EXPIRY_SECONDS, alias="IDEMPOTENCY_EXPIRY_SECONDS"
    )
    secret_max_age_seconds: int = Field(default=300, ge=1, alias="SECRET_MAX_AGE_SECONDS")
    # Migrations (see migrating.py): how long one run waits for a lock (another run's, or a table
    # lock that API queries hold) before it rolls back and tries again, and how many tries in all.
    migration_lock_timeout_ms: int = Field(default=5000, ge=1, le=600_000, alias="MIGRATION_LOCK_TIMEOUT_MS")
    migration_attempts: int = Field(default=3, ge=1, le=20, alias="MIGRATION_ATTEMPTS")
    # The least-privilege role the API functions connect as (migration 0004 creates it). The migrate
    # function, which connects as the master user, sets its password from APP_DB_SECRET_ARN's secret.
    app_db_role: str = Field(default="learning_sessions_app", pattern="^[a-z_][a-z0-9_]{0,62}$", alias="APP_DB_ROLE")
    app_db_secret_arn: str | None = Field(default=None, alias="APP_DB_SECRET_ARN")
    # Powertools' Tracer around each API handler (http/tracing.py). Off unless asked for: importing the
    # X-Ray SDK costs cold-start time, so locally, in the tests and in the benchmark it is never loaded.
    # template.yaml sets it from its EnableTracer parameter; Powertools still turns the tracer off outside
    # Lambda, under `sam local` and with POWERTOOLS_TRACE_DISABLED=true.
    enable_tracer: bool = Field(default=False, alias="ENABLE_TRACER")

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        source = os.environ if environ is None else environ
        values = {key: value for key, value in source.items() if value != ""}
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            raise ConfigError(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    # Only the variable names and the rule they broke: the input may be a password.
    problems = [
        f"{'.'.join(str(part) for part in err['loc'])}: {err['msg']}" for err in exc.errors(include_input=False)
    ]
    return "Invalid configuration: " + "; ".join(problems)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_environ()
