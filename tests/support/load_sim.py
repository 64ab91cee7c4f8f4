"""Local load simulation: many Lambda execution environments against a Postgres with few connection slots.

Lambda gives every concurrent request of a function its own execution environment, and each warm
environment keeps its database connection, so a burst can ask for more connections than the database
has. This runs the functions' handlers as Lambda does (each environment a separate process, one function
each, one request at a time), connected as the API's least-privilege role, and sends a bounded burst of
creates and reads through them at once. It passes when:

- no response is a 5xx other than 503 with Retry-After (the client may retry those), and
- every create answered 201 is in the database, as answered.

The database: by default a throwaway database on the suite's Postgres (TEST_POSTGRES_URL) whose
CONNECTION LIMIT is --slots; with --cluster NAME --port N, a throwaway Postgres cluster started with
max_connections=--slots (Debian's pg_createcluster), dropped afterwards.

    python -m tests.support.load_sim [--environments 6] [--requests 300] [--slots 8] [--cluster NAME --port N]
"""

from __future__ import annotations

import argparse
import multiprocessing
import multiprocessing.pool
import os
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import URL, create_engine, text

from tests.support.client import ApiResponse, LambdaApiClient
from tests.support.databases import migrate, postgres_admin_url, throwaway_cluster, throwaway_postgres_database
from tests.support.lambda_functions import cold_start, load_function_module

FUNCTIONS = ("create_session", "get_session", "list_sessions")
# Only for the throwaway role of this run, on a local trust-auth server.
APP_PASSWORD = "load-sim"

# One function's handler per process: an execution environment. Powertools' resolvers are not
# thread-safe, and Lambda never shares an environment between two requests at once anyway.
_environment: LambdaApiClient | None = None


def _start_environment(function: str, env: dict[str, str]) -> None:
    global _environment
    # The handlers log every 503 with its traceback; the figures are what this run reports.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    with cold_start(env):
        _environment = LambdaApiClient({function: load_function_module(function).lambda_handler})


def _handle(method: str, path: str, kwargs: dict[str, Any]) -> ApiResponse:
    assert _environment is not None
    return _environment.request(method, path, **kwargs)


@dataclass
class Result:
    environments: int
    slots: int
    requests: int
    seconds: float = 0.0
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    bad_5xx: list[str] = field(default_factory=list)
    created: dict[int, str] = field(default_factory=dict)
    missing: list[int] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.bad_5xx and not self.missing

    def report(self) -> str:
        lines = [
            f"{self.environments} execution environments ({len(FUNCTIONS)} functions), {self.slots} connection "
            f"slots, {self.requests} requests in {self.seconds:.1f} s",
            *(f"  {method:6} {status}: {count}" for (method, status), count in sorted(self.statuses.items())),
            f"  5xx other than 503 with Retry-After: {len(self.bad_5xx)}",
            f"  creates answered 201: {len(self.created)}, missing from the database: {len(self.missing)}",
            "PASS" if self.passed else "FAIL",
        ]
        return "\n".join(lines)


def _check(result: Result, method: str, response: ApiResponse) -> None:
    result.statuses[(method, response.status)] += 1
    if response.status >= 500 and not (response.status == 503 and response.header("Retry-After")):
        result.bad_5xx.append(f"{method} {response.status}: {response.body[:200]}")
    if method == "POST" and response.status == 201:
        data = response.json()["data"]
        result.created[int(data["id"])] = str(data["title"])


def _request(n: int) -> tuple[str, str, str, dict[str, Any]]:
    """The n-th request of the burst: half creates, the rest reads of one session and of the list."""
    if n % 2 == 0:
        return "POST", "create_session", "/api/sessions/", {"json_body": {"title": f"load {n}"}}
    if n % 4 == 1:
        return "GET", "get_session", f"/api/sessions/{n // 2 + 1}", {}
    return "GET", "list_sessions", "/api/sessions/", {}


def simulate(admin_url: URL, database_url: URL, *, per_function: int, requests: int, slots: int) -> Result:
    """The burst against ``database_url`` (API role's credentials); ``admin_url`` checks the outcome."""
    env = {"DATABASE_URL": database_url.render_as_string(hide_password=False), "DB_CONNECT_TIMEOUT": "5"}
    result = Result(environments=per_function * len(FUNCTIONS), slots=slots, requests=requests)
    # Spawned, not forked: each pool starts threads of its own, and forking the next pool's processes
    # from a multi-threaded parent can deadlock them (Python warns). A fresh interpreter is also
    # what a new execution environment is.
    context = multiprocessing.get_context("spawn")
    with ExitStack() as stack:
        pools = {
            function: stack.enter_context(
                context.Pool(per_function, initializer=_start_environment, initargs=(function, env))
            )
            for function in FUNCTIONS
        }
        # A warm service meets the burst: one environment of each function already holds its
        # connection, as after earlier traffic. Otherwise which environments win the few slots is a
        # race, and a run in which no create ever connects would prove nothing about lost writes.
        for n in (0, 1, 3):  # a create, a get and a list: each function's first request of the burst
            method, function, path, kwargs = _request(n)
            _check(result, method, pools[function].apply(_handle, (method, path, kwargs)))
        burst: list[tuple[str, multiprocessing.pool.AsyncResult[ApiResponse]]] = []
        started = time.monotonic()
        for n in range(requests):
            # Half creates, the rest reads of one session and of the list.
            method, function, path, kwargs = _request(n)
            burst.append((method, pools[function].apply_async(_handle, (method, path, kwargs))))
        for method, pending in burst:
            _check(result, method, pending.get(timeout=120))
        result.seconds = time.monotonic() - started
        for pool in pools.values():
            pool.close()
    # The environments are gone, and so are their connections; the admin connection checks as superuser.
    engine = create_engine(admin_url)
    try:
        with engine.connect() as conn:
            stored = {row.id: row.title for row in conn.execute(text("SELECT id, title FROM learning_sessions"))}
    finally:
        engine.dispose()
    result.missing = [id_ for id_, title in result.created.items() if stored.get(id_) != title]
    return result


@contextmanager
def app_role_database(admin_url: URL, slots: int, *, limit_database: bool) -> Iterator[tuple[URL, URL]]:
    """A migrated throwaway database and a URL for it as a fresh API role (migration 0004); yields (admin, app)."""
    role = f"load_sim_{uuid.uuid4().hex[:8]}"
    previous_role = os.environ.get("APP_DB_ROLE")
    os.environ["APP_DB_ROLE"] = role  # read by migration 0004, here only
    try:
        with throwaway_postgres_database(admin_url, "load_sim") as url:
            migrate(url)
            os.environ.pop("APP_DB_ROLE")
            if previous_role is not None:
                os.environ["APP_DB_ROLE"] = previous_role
            engine = create_engine(url, isolation_level="AUTOCOMMIT")
            try:
                with engine.connect() as conn:
                    conn.execute(text(f"ALTER ROLE \"{role}\" PASSWORD '{APP_PASSWORD}'"))
                    if limit_database:
                        # Not enforced for superusers, hence the API's own role.
                        conn.execute(text(f'ALTER DATABASE "{url.database}" CONNECTION LIMIT {slots}'))
                yield url, url.set(username=role, password=APP_PASSWORD)
            finally:
                with engine.connect() as conn:
                    conn.execute(
                        text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = :r"), {"r": role}
                    )
                    conn.execute(text(f'DROP OWNED BY "{role}"'))
                engine.dispose()
    finally:
        os.environ.pop("APP_DB_ROLE", None)
        if previous_role is not None:
            os.environ["APP_DB_ROLE"] = previous_role
        drop = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        try:
            with drop.connect() as conn:
                conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        finally:
            drop.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.load_sim", description=__doc__.split("\n\n")[0])
    parser.add_argument("--environments", type=int, default=6, help="execution environments per function (default 6)")
    parser.add_argument("--requests", type=int, default=300, help="requests in the burst (default 300)")
    parser.add_argument("--slots", type=int, default=8, help="connections the database allows (default 8)")
    parser.add_argument(
        "--cluster", help="start a throwaway cluster of this name (pg_createcluster) with max_connections=--slots"
    )
    parser.add_argument("--port", type=int, help="its port (with --cluster)")
    parser.add_argument("--pg-version", default="15", help="its Postgres major version (default 15)")
    args = parser.parse_args(argv)
    if args.cluster and not args.port:
        parser.error("--cluster needs --port")
    with ExitStack() as stack:
        if args.cluster:
            admin = stack.enter_context(
                throwaway_cluster(args.cluster, args.port, args.pg_version, max_connections=str(args.slots))
            )
            # Superusers keep superuser_reserved_connections (3) of max_connections to themselves.
            slots = args.slots - 3
        else:
            admin, slots = postgres_admin_url(), args.slots
        database, as_role = stack.enter_context(app_role_database(admin, slots, limit_database=not args.cluster))
        result = simulate(database, as_role, per_function=args.environments, requests=args.requests, slots=slots)
    print(result.report())
    for line in result.bad_5xx[:5]:
        print("  ", line, file=sys.stderr)
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
