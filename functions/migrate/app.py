"""CloudFormation custom resource that brings the database schema to Alembic's head.

Create and Update run ``alembic upgrade head`` with the migrations packaged next to this file.
Delete does nothing: the schema holds the data and must outlive a stack's custom resource.
Upgrading a database that is already at head changes nothing, so a replayed request is harmless.

CloudFormation waits up to an hour for an answer on the request's pre-signed ResponseURL, so every
path must answer. crhelper answers SUCCESS when a handler returns, FAILED when it raises, and FAILED
shortly before the Lambda timeout (its timer thread). That last answer must never go out while the
migration could still commit: the migration's statement and lock timeouts are derived from the time
left, so Postgres normally ends it first and the transaction is rolled back before FAILED is sent;
and if the timer fires anyway, it first makes sure COMMIT can no longer be sent (CommitGuard).

A database ahead of the packaged migrations (a revision this package does not know) answers SUCCESS
with a warning: that is CloudFormation rolling the function back after a newer package migrated, and
the expand/contract rule keeps the older code working on the newer schema.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import socket
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crhelper import CfnResource

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


class CommitGuard:
    """Decides, once, between COMMIT (the handler's thread) and a timeout answer (crhelper's timer thread).

    A transaction whose COMMIT was never sent cannot commit. So the timer may answer FAILED only after
    it has made sure COMMIT will not be sent: it marks the run abandoned and shuts the connection's
    socket (Postgres then rolls the transaction back). If COMMIT is already under way, the timer stays
    silent and the handler answers with the real outcome.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._abandoned = False
        self._finished = False
        self._socket: socket.socket | None = None

    def watch(self, sock: socket.socket | None) -> None:
        self._socket = sock

    def commit(self, commit: Any) -> None:
        with self._lock:
            if self._abandoned:
                raise TimeoutError("the time to migrate ran out; the transaction was not committed")
            try:
                commit()
            finally:
                self._finished = True

    def abandon(self, wait_seconds: float) -> bool:
        """True when the transaction now cannot commit; False when COMMIT is under way or done."""
        if not self._lock.acquire(timeout=wait_seconds):
            return False
        try:
            if self._finished:
                return False
            self._abandoned = True
            if self._socket is not None:
                # Wakes the handler's thread from its read; the server sees the end of the session.
                with contextlib.suppress(OSError):
                    self._socket.shutdown(socket.SHUT_RDWR)
            return True
        finally:
            self._lock.release()


class MigrationResource(CfnResource):
    """crhelper, with a timeout answer that waits for the transaction's outcome and with one answer per request."""

    guard = CommitGuard()
    _answered = False

    def __call__(self, event: dict[str, Any], context: Any) -> None:
        self.guard = CommitGuard()
        self._answered = False
        super().__call__(event, context)

    def _timeout(self) -> None:
        # crhelper's timer: 0.5 s before the Lambda timeout.
        if self.guard.abandon(wait_seconds=0.3):
            self._send("FAILED", "Execution timed out: the migration was not committed")

    def _send(self, status: str | None = None, reason: str = "", **kwargs: Any) -> None:
        # After a timeout answer the handler's thread still ends with its own; CloudFormation keeps
        # only the first, so the second would only confuse the logs.
        if self._answered:
            return
        self._answered = True
        # crhelper's stub leaves out its private methods.
        super()._send(status, reason, **kwargs)  # type: ignore[misc]


# Built before anything that can fail, so that every request is answered. sleep_on_delete=0:
# crhelper otherwise holds every Delete for two minutes so that its logs reach CloudWatch before
# a stack deletion removes the log group, and a no-op Delete has nothing worth that wait.
helper = MigrationResource(log_level="INFO", boto_level="WARNING", sleep_on_delete=0)

# Kept back from the Lambda timeout for rolling back and answering: a statement is cut off at the
# remaining time minus this (and the socket slack), before crhelper's own timeout answer, which
# it sends 0.5 s before the end.
RESPONSE_MARGIN_MS = 5_000
MIN_BUDGET_MS = 1_000
# pg8000's socket timeout exceeds the statement timeout by this much, so that Postgres' own
# cancellation (a clear error, a clean rollback) arrives before the client gives up on the socket.
SOCKET_SLACK_MS = 2_000

# Import-time failures (a missing package, a bad setting, unreadable migrations) are kept and
# raised by the Create/Update handler instead of passed to crhelper's init_failure(): that one
# answers with an empty PhysicalResourceId, which CloudFormation reports as "Invalid
# PhysicalResourceId" instead of the reason, and it would fail Delete too, leaving a rolled-back
# stack in ROLLBACK_FAILED over a resource that has nothing to delete.
init_error: Exception | None = None
try:
    from alembic import command
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from aws_lambda_powertools import Logger
    from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
    from sqlalchemy import Connection, text

    from learning_sessions.config.database_config import resolve_database_url
    from learning_sessions.config.settings import ConfigError, Settings
    from learning_sessions.data.database import create_db_engine
    from learning_sessions.data.migrating import run_with_lock_retry, serialise_migrations

    logger = Logger()
    # Alembic's progress lines as JSON next to ours; fileConfig is skipped (configure_logging=False
    # below) because it would install alembic.ini's handlers on the root logger.
    copy_config_to_registered_loggers(source_logger=logger, include={"alembic"})

    ALEMBIC_INI = Path(os.environ.get("ALEMBIC_CONFIG") or Path(__file__).with_name("alembic.ini"))
    SETTINGS = Settings.from_environ()
    if SETTINGS.database_url is not None or SETTINGS.postgres_host or not SETTINGS.postgres_secret_arn:
        # Checks the URL without I/O. A secret is only read per request: a passing Secrets Manager
        # error must not fail this execution environment for good, as an import-time error does.
        resolve_database_url(SETTINGS)
    if not ALEMBIC_INI.is_file():
        raise ConfigError(f"Alembic configuration {ALEMBIC_INI} not found")
    SCRIPTS = ScriptDirectory.from_config(Config(str(ALEMBIC_INI)))
    HEADS = SCRIPTS.get_heads()
    if len(HEADS) != 1:
        raise ConfigError(f"The migrations must have exactly one head, not {len(HEADS)}: {', '.join(HEADS)}")
    KNOWN_REVISIONS = frozenset(script.revision for script in SCRIPTS.walk_revisions())
except Exception as exc:
    init_error = exc
    logging.getLogger(__name__).exception("Initialisation failed; Create and Update will answer FAILED")
finally:
    # learning_sessions pauses the garbage collector during a Lambda init; resume it, whatever happened.
    gc.enable()


def physical_resource_id(event: dict[str, Any]) -> str:
    """The same id for the resource's whole life: a changed id on Update would read as a replacement."""
    if event.get("PhysicalResourceId"):
        return str(event["PhysicalResourceId"])
    stack_name = str(event["StackId"]).split("/")[1]
    return f"{stack_name}-{event['LogicalResourceId']}"


def describe(exc: BaseException) -> str:
    """A short reason for CloudFormation, which shows 256 characters and crhelper keeps the tail."""
    # SQLAlchemy wraps the driver's error in text that ends with the SQL and a help link.
    cause = getattr(exc, "orig", None) or exc
    detail = cause.args[0] if cause.args else cause
    if isinstance(detail, dict) and "M" in detail:
        # pg8000 passes Postgres' error fields: M is the message, C the SQLSTATE.
        detail = f"{detail['M']} (SQLSTATE {detail.get('C', '?')})"
    return f"{type(cause).__name__}: {detail}"[:200]


@helper.create
@helper.update
def upgrade(event: dict[str, Any], context: LambdaContext) -> str:
    # Set first so that every answer carries it, the timeout's and an exception's included.
    helper.PhysicalResourceId = physical_resource_id(event)
    if init_error is not None:
        raise RuntimeError(f"Initialisation failed: {describe(init_error)}") from init_error
    logger.append_keys(
        request_type=event["RequestType"],
        logical_resource_id=event["LogicalResourceId"],
        cloudformation_request_id=event["RequestId"],
        function_request_id=context.aws_request_id,
    )
    deadline = time.monotonic() + context.get_remaining_time_in_millis() / 1000
    try:
        check_connection()
        previous, current = run_with_lock_retry(
            lambda: upgrade_to_head(deadline),
            SETTINGS.migration_attempts,
            should_retry=lambda: time_left_ms(deadline) > 0,
        )
    except Exception as exc:
        logger.exception("Migration failed")
        raise RuntimeError(f"Migration failed: {describe(exc)}") from exc
    data = {"Revision": current or "", "PreviousRevision": previous or ""}
    if current is not None and current not in KNOWN_REVISIONS:
        # CloudFormation rolling back to an older package after a newer one migrated: the schema
        # stays (expand/contract keeps the old code working on it), and the stack may finish rolling back.
        logger.warning("Database is ahead of this package's migrations; leaving it as it is", extra=data)
        data["Warning"] = f"database at revision {current}, which this package does not know; left unchanged"
    else:
        logger.info("Database at head", previous_revision=previous, revision=current)
    helper.Data.update(data)
    return helper.PhysicalResourceId


@helper.delete
def delete(event: dict[str, Any], context: LambdaContext) -> str:
    # Touches nothing, so it answers SUCCESS even when initialisation failed.
    return physical_resource_id(event)


def check_connection() -> None:
    """Connect with the configured DB_CONNECT_TIMEOUT, so an unreachable database fails fast."""
    engine = create_db_engine(SETTINGS)
    try:
        with engine.connect():
            pass
    except Exception as exc:
        # Said plainly: "timed out" alone does not tell an operator to look at security groups.
        raise ConnectionError(
            f"database not reachable within DB_CONNECT_TIMEOUT={SETTINGS.db_connect_timeout:g}s ({describe(exc)})"
        ) from exc
    finally:
        engine.dispose()


def time_left_ms(deadline: float) -> int:
    """What a migration may still use: the time to the deadline, less the margin to roll back and answer."""
    return int((deadline - time.monotonic()) * 1000) - RESPONSE_MARGIN_MS - SOCKET_SLACK_MS


def statement_budget_ms(remaining_ms: int) -> int:
    """How long one migration statement may run: the time left, less the margin to answer."""
    budget = max(remaining_ms - RESPONSE_MARGIN_MS - SOCKET_SLACK_MS, MIN_BUDGET_MS)
    # DB_STATEMENT_TIMEOUT_MS, when set for this function, still caps it (0 means no cap). Its
    # default (3 s, for API queries) does not: a migration may well need minutes.
    configured = SETTINGS.db_statement_timeout_ms
    if "db_statement_timeout_ms" in SETTINGS.model_fields_set and configured > 0:
        return min(budget, configured)
    return budget


def upgrade_to_head(deadline: float) -> tuple[str | None, str | None]:
    """``alembic upgrade head`` in one transaction; returns the revisions before and after.

    A database at a revision this package does not know is left alone (see the module's docstring).
    """
    budget_ms = statement_budget_ms(int((deadline - time.monotonic()) * 1000))
    # A migration statement may run far longer than an API query. Postgres ends one that outlives
    # the budget and rolls the transaction back, rather than Lambda ending this process in the middle
    # of it; the socket timeout (DB_CONNECT_TIMEOUT applies to every read) must not cut it short
    # first. The lock timeout is the budget too, or less (MIGRATION_LOCK_TIMEOUT_MS), so a DDL
    # waiting behind API queries gives up early. Many statements that each stay within the budget
    # are bounded by crhelper's timeout answer, which waits for the outcome (CommitGuard).
    socket_timeout_s = (budget_ms + SOCKET_SLACK_MS) / 1000
    budget = SETTINGS.model_copy(update={"db_statement_timeout_ms": budget_ms, "db_connect_timeout": socket_timeout_s})
    lock_timeout_ms = min(SETTINGS.migration_lock_timeout_ms, budget_ms)
    engine = create_db_engine(budget)
    try:
        with engine.connect() as connection:
            helper.guard.watch(getattr(connection.connection.dbapi_connection, "_usock", None))
            transaction = connection.begin()
            # Under the advisory lock before reading the revision: a run that waited for another
            # finds the schema that run left.
            serialise_migrations(connection, lock_timeout_ms)
            previous = MigrationContext.configure(connection).get_current_revision()
            if previous is not None and previous not in KNOWN_REVISIONS:
                transaction.rollback()
                return previous, previous
            command.upgrade(alembic_config(connection, lock_timeout_ms), "head")
            current = MigrationContext.configure(connection).get_current_revision()
            set_app_role_password(connection)
            helper.guard.commit(transaction.commit)
    finally:
        engine.dispose()
    return previous, current


def set_app_role_password(connection: Connection) -> None:
    """Give the API's role (migration 0004) the password from its own secret, in the migration's transaction.

    Every run sets it, so a rotated application secret takes effect at the next deploy, and the API
    functions, which read that secret, connect as the role and never as the master user.
    """
    if connection.dialect.name != "postgresql" or not SETTINGS.app_db_secret_arn:
        return
    from aws_lambda_powertools.utilities import parameters

    try:
        secret = parameters.get_secret(SETTINGS.app_db_secret_arn, transform="json", force_fetch=True)
    except parameters.exceptions.GetParameterError as exc:
        raise ConfigError(f"APP_DB_SECRET_ARN: the secret could not be read ({type(exc.__cause__).__name__})") from None
    if not isinstance(secret, dict) or not secret.get("password"):
        raise ConfigError("APP_DB_SECRET_ARN: the secret must be a JSON object with a password")
    role = SETTINGS.app_db_role
    if secret.get("username", role) != role:
        raise ConfigError(f"APP_DB_SECRET_ARN: the secret's username is not APP_DB_ROLE ({role})")
    # ALTER ROLE takes no bind parameters, and a literal would put the password into any logged
    # statement or error. So it travels as a (hidden) bound value into a transaction-local setting,
    # and a DO block, which is what the server's log_statement would show, builds the command from it.
    connection.execute(
        text("SELECT set_config('learning_sessions.role', :role, true), set_config('learning_sessions.pw', :pw, true)"),
        {"role": role, "pw": str(secret["password"])},
    )
    connection.exec_driver_sql(
        "DO $$ BEGIN EXECUTE format('ALTER ROLE %I WITH LOGIN PASSWORD %L', "
        "current_setting('learning_sessions.role'), current_setting('learning_sessions.pw')); "
        "PERFORM set_config('learning_sessions.pw', '', true); END $$"
    )


def alembic_config(connection: Connection, lock_timeout_ms: int) -> Config:
    config = Config(str(ALEMBIC_INI))
    # env.py runs the migrations on this connection, inside the transaction opened above.
    config.attributes["connection"] = connection
    config.attributes["lock_timeout_ms"] = lock_timeout_ms
    # Without this env.py would call fileConfig, replacing the logging set up here.
    config.attributes["configure_logging"] = False
    return config


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> None:
    helper(event, context)
