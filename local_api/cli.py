"""``python -m local_api``: load the template, migrate the database, serve until interrupted."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import tomllib
from pathlib import Path
from types import FrameType
from typing import Any

from local_api import authorizer
from local_api._samcli import (
    ApiProvider,
    InvalidSamDocumentException,
    SamFunctionProvider,
    SamLocalStackProvider,
    UserException,
)
from local_api.config import (
    ConfigError,
    apply_dotenv,
    database_variables,
    describe_database,
    load_env_vars_file,
    with_database_default,
)
from local_api.cors import CorsConfig, CorsConfigError, http_api_cors
from local_api.migrate import MigrationError, upgrade_head
from local_api.runner import WorkerPoolRunner
from local_api.server import LocalApiService
from local_api.service_settings import service_setting_names, service_settings

LOG = logging.getLogger("local_api")
# The port the feature spec's curl examples use (`sam local start-api` defaults to 3000).
DEFAULT_PORT = 8000


class _Shutdown(Exception):
    """SIGTERM before the HTTP server is up (it then handles SIGTERM itself)."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m local_api",
        description="Serve the SAM template's HTTP API locally, without Docker. Run from the project root.",
    )
    parser.add_argument("--template", type=Path, default=Path("template.yaml"), help="default: ./template.yaml")
    parser.add_argument("--host", default="127.0.0.1", help="default: 127.0.0.1")
    parser.add_argument("--port", type=int, help=f"default: $PORT, else {DEFAULT_PORT}")
    parser.add_argument(
        "--env-vars", type=Path, help='JSON as for `sam local start-api --env-vars`: {"Parameters": {...}, "Fn": {...}}'
    )
    parser.add_argument(
        "--max-workers", type=int, default=4, help="worker processes per function, at most (default: 4)"
    )
    parser.add_argument("--no-migrate", action="store_true", help="skip `alembic upgrade head` at startup")
    parser.add_argument(
        "--integration-timeout",
        type=float,
        default=30.0,
        help="seconds before a request gets API Gateway's 503, whatever the function's Timeout (default: 30)",
    )
    parser.add_argument(
        "--idle-worker-seconds",
        type=float,
        default=60.0,
        help="stop a worker process left idle this long; the next request starts a cold one (default: 60)",
    )
    parser.add_argument(
        "--client-timeout",
        type=float,
        default=30.0,
        help="close a connection whose client sends nothing for this long, mid-request or idle (default: 30)",
    )
    args = parser.parse_args(argv)
    if args.max_workers < 1:
        parser.error("--max-workers must be at least 1")
    for option in ("integration_timeout", "idle_worker_seconds", "client_timeout"):
        if not getattr(args, option) > 0:
            parser.error(f"--{option.replace('_', '-')} must be more than 0")
    return args


def _configure_logging() -> None:
    logging.basicConfig(level=logging.WARNING, format="[%(name)s] %(levelname)s %(message)s", stream=sys.stderr)
    LOG.setLevel(logging.INFO)
    logging.getLogger("werkzeug").setLevel(logging.INFO)  # the access log
    # samcli warns on every response without a body, i.e. every 204.
    logging.getLogger("samcli.local.apigw.local_apigw_service").addFilter(
        lambda record: record.getMessage() != "Lambda returned empty body!"
    )


def _resolve_port(cli_port: int | None) -> int:
    if cli_port is not None:
        return cli_port
    try:
        return int(os.environ.get("PORT") or DEFAULT_PORT)
    except ValueError:
        raise ConfigError(f"PORT must be a number, got {os.environ['PORT']!r}") from None


def _project_name(project_dir: Path) -> str:
    try:
        with (project_dir / "pyproject.toml").open("rb") as file:
            return str(tomllib.load(file)["project"]["name"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return project_dir.name


def _load_template(template: Path) -> tuple[Any, Any, CorsConfig | None]:
    """The template's API (routes), its function provider and its HttpApi's CORS configuration."""
    if not template.is_file():
        raise ConfigError(f"No template at {template}")
    try:
        stacks, _ = SamLocalStackProvider.get_stacks(str(template), parameter_overrides={})
        api = ApiProvider(stacks, cwd=str(template.parent)).api
        functions = SamFunctionProvider(stacks, ignore_code_extraction_warnings=True)
        cors = http_api_cors(stacks)
    except (UserException, InvalidSamDocumentException, CorsConfigError) as exc:
        raise ConfigError(f"{template}: {exc}") from exc
    if not api.routes:
        raise ConfigError(f"{template} declares no API routes")
    return api, functions, cors


def _on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    raise _Shutdown


def serve(args: argparse.Namespace, project_dir: Path) -> int:
    if loaded := apply_dotenv(project_dir / ".env", os.environ):
        LOG.info("Loaded %d variables from %s", len(loaded), project_dir / ".env")
    # This is not the sam CLI, and its telemetry hook runs on every request.
    os.environ["SAM_CLI_TELEMETRY"] = "0"
    # Flask would load .env again, walking up from the cwd; it was read above, once.
    os.environ["FLASK_SKIP_DOTENV"] = "1"

    port = _resolve_port(args.port)
    request_authorizer = authorizer.from_setting(os.environ.get("AUTH"), project_dir)
    env_vars_values = load_env_vars_file(args.env_vars) if args.env_vars else {}
    template = args.template.resolve()
    api, functions, cors = _load_template(template)
    server_env = {
        **service_settings(os.environ, service_setting_names(project_dir)),
        **database_variables(os.environ),
    }
    runner = WorkerPoolRunner(
        functions,
        template_dir=template.parent,
        project_dir=project_dir,
        env_vars_values=env_vars_values,
        server_env=server_env,
        max_workers=args.max_workers,
        integration_timeout_seconds=args.integration_timeout,
        idle_timeout_seconds=args.idle_worker_seconds,
    )
    for warning in runner.startup_warnings():
        LOG.warning(warning)

    database_env = with_database_default(server_env)
    if not args.no_migrate:
        upgrade_head(project_dir, {**os.environ, **database_env})

    service = LocalApiService(api=api, lambda_runner=runner, port=port, host=args.host)
    service.openapi_document = project_dir / "docs" / "openapi.json"
    service.authorizer = request_authorizer
    LOG.info("%s", request_authorizer.describe())
    service.cors = cors
    service.client_timeout_seconds = args.client_timeout
    service.create()
    try:
        http_server = service.listen()
    except OSError as exc:
        raise ConfigError(f"Cannot listen on {args.host}:{port}: {exc.strerror or exc}") from exc
    # Printed once the port is bound: from this line on, requests are answered.
    print(
        f"Serving {_project_name(project_dir)} on http://{args.host}:{port} "
        f"(database: {describe_database(database_env)})",
        flush=True,
    )
    try:
        service.serve_until_signalled(http_server)
    finally:
        # A second Ctrl+C must not interrupt stopping the workers.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        runner.shutdown()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    _configure_logging()
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return serve(args, Path.cwd())
    except (KeyboardInterrupt, _Shutdown):
        return 0
    except (ConfigError, MigrationError) as exc:
        LOG.error("%s", exc)
        return 1
