"""CloudFormation custom resource that brings the database schema to Alembic's head.

Create and Update run ``alembic upgrade head`` with the migrations packaged next to this file.
Delete does nothing: the schema holds the data and must outlive a stack's custom resource.
Upgrading a database that is already at head changes nothing, so a replayed request is harmless.

CloudFormation waits up to an hour for an answer on the request's pre-signed ResponseURL, so every
path must answer. crhelper answers SUCCESS when a handler returns, FAILED when it raises, and FAILED
shortly before the Lambda timeout (its timer thread).
"""

from __future__ import annotations

import gc
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crhelper import CfnResource

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

# Built before anything that can fail, so that every request is answered. sleep_on_delete=0:
# crhelper otherwise holds every Delete for two minutes so that its logs reach CloudWatch before
# a stack deletion removes the log group, and a no-op Delete has nothing worth that wait.
helper = CfnResource(log_level="INFO", boto_level="WARNING", sleep_on_delete=0)

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
    from sqlalchemy import Connection

    from learning_sessions.database import create_db_engine
    from learning_sessions.database_config import resolve_database_url
    from learning_sessions.settings import ConfigError, Settings

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
    HEADS = ScriptDirectory.from_config(Config(str(ALEMBIC_INI))).get_heads()
    if len(HEADS) != 1:
        raise ConfigError(f"The migrations must have exactly one head, not {len(HEADS)}: {', '.join(HEADS)}")
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
    budget_ms = statement_budget_ms(context.get_remaining_time_in_millis())
    try:
        check_connection()
        previous, current = upgrade_to_head(budget_ms)
    except Exception as exc:
        logger.exception("Migration failed")
        raise RuntimeError(f"Migration failed: {describe(exc)}") from exc
    logger.info("Database at head", previous_revision=previous, revision=current)
    helper.Data.update({"Revision": current or "", "PreviousRevision": previous or ""})
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


def statement_budget_ms(remaining_ms: int) -> int:
    """How long one migration statement may run: the time left, less the margin to answer."""
    budget = max(remaining_ms - RESPONSE_MARGIN_MS - SOCKET_SLACK_MS, MIN_BUDGET_MS)
    # DB_STATEMENT_TIMEOUT_MS, when set for this function, still caps it (0 means no cap). Its
    # default (3 s, for API queries) does not: a migration may well need minutes.
    configured = SETTINGS.db_statement_timeout_ms
    if "db_statement_timeout_ms" in SETTINGS.model_fields_set and configured > 0:
        return min(budget, configured)
    return budget


def upgrade_to_head(budget_ms: int) -> tuple[str | None, str | None]:
    """``alembic upgrade head`` in one transaction; returns the revisions before and after."""
    # A migration statement may run far longer than an API query. Postgres ends one that outlives
    # the budget and rolls the transaction back, rather than Lambda ending this process in the middle
    # of it; the socket timeout (DB_CONNECT_TIMEOUT applies to every read) must not cut it short
    # first. Many statements that each stay within the budget are bounded by crhelper's timeout
    # answer instead, and Postgres rolls back the transaction when Lambda drops the connection.
    socket_timeout_s = (budget_ms + SOCKET_SLACK_MS) / 1000
    budget = SETTINGS.model_copy(update={"db_statement_timeout_ms": budget_ms, "db_connect_timeout": socket_timeout_s})
    engine = create_db_engine(budget)
    try:
        with engine.begin() as connection:
            previous = MigrationContext.configure(connection).get_current_revision()
            command.upgrade(alembic_config(connection), "head")
            current = MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
    return previous, current


def alembic_config(connection: Connection) -> Config:
    config = Config(str(ALEMBIC_INI))
    # env.py runs the migrations on this connection, inside the transaction opened above.
    config.attributes["connection"] = connection
    # Without this env.py would call fileConfig, replacing the logging set up here.
    config.attributes["configure_logging"] = False
    return config


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> None:
    helper(event, context)
