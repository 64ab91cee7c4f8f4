"""A least-privilege role for the API functions: DML on the application's tables, no DDL.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30

The role (APP_DB_ROLE, default learning_sessions_app) gets SELECT/INSERT/UPDATE/DELETE on every table
in the schema but alembic_version, USAGE on its sequences, and the same on tables and sequences that
later migrations create (default privileges of the migrating user), so a renamed or added table needs
no change here. It owns nothing and may create nothing. Its password is not set here: the migrate
function sets it from the role's own secret (APP_DB_SECRET_ARN) on every run.

idle_session_timeout on the role: the connection of a Lambda environment that was frozen, then
never thawed, is closed by the server instead of holding a slot until the instance restarts. The
service's liveness check on checkout (database.py) replaces such a connection invisibly.

SQLite has no roles: nothing to do there. Downgrade revokes the grants in this database but keeps the
role, which is cluster-wide and may hold grants in other databases.
"""

import logging
from collections.abc import Sequence

from alembic import op

from learning_sessions.config.settings import Settings

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Longer than any pause between two requests of a warm environment is likely to be, far shorter
# than a frozen environment's connection would otherwise live.
IDLE_SESSION_TIMEOUT = "15min"
DML = "SELECT, INSERT, UPDATE, DELETE"
LOG = logging.getLogger(f"alembic.runtime.migration.{revision}")


def _role() -> str:
    # Validated by Settings' pattern (lowercase identifier), so safe to put in DDL, quoted.
    return f'"{Settings.from_environ().app_db_role}"'


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    role = _role()
    name = role.strip('"')
    exists = bind.exec_driver_sql(f"SELECT 1 FROM pg_roles WHERE rolname = '{name}'").scalar() is not None
    may_manage_roles = bool(
        bind.exec_driver_sql("SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user").scalar()
    )
    if not may_manage_roles:
        # A local database migrated by its owner alone (no CREATEROLE): the API connects as that
        # owner anyway. Deployed, the RDS master user has CREATEROLE, so this never applies there.
        LOG.warning("%s may not create or alter roles: %s gets no role settings", "The migrating user", name)
        if not exists:
            return
    else:
        if not exists:
            # Roles are cluster-wide: another database on the server may create it at the same time.
            op.execute(
                f"DO $$ BEGIN CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT; "
                "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
            )
        op.execute(f"ALTER ROLE {role} SET idle_session_timeout = '{IDLE_SESSION_TIMEOUT}'")
    op.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
    op.execute(f"GRANT {DML} ON ALL TABLES IN SCHEMA public TO {role}")
    op.execute(f"REVOKE ALL ON alembic_version FROM {role}")
    op.execute(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role}")
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT {DML} ON TABLES TO {role}")
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE ON SEQUENCES TO {role}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    role = _role()
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE {DML} ON TABLES FROM {role}")
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE USAGE ON SEQUENCES FROM {role}")
    op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}")
    op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {role}")
    op.execute(f"REVOKE USAGE ON SCHEMA public FROM {role}")
