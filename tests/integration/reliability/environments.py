"""Separate execution environments for the concurrency tests: one process each, started by spawn.

Powertools keeps the current event on the router class, so resolvers sharing a process are not
thread-safe. Lambda never shares one: each execution environment is its own process handling one
request at a time, and so is each worker here. They are spawned, not forked: a fork copies a
process whose other threads (a lock holder, a fault proxy of another test) may hold locks, which
Python 3.12 warns about, and the children get no state from the test process but their settings.
(This module, not the test module, holds the workers' code, so that a spawned child can import it.)
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.pool
from typing import Any

from tests.support.client import ApiResponse, LambdaApiClient
from tests.support.lambda_functions import load_handlers

Request = tuple[str, str, dict[str, Any]]

_worker_api: LambdaApiClient | None = None


def _start_environment(env: dict[str, str]) -> None:
    global _worker_api
    _worker_api = LambdaApiClient(load_handlers(env))


def _handle(request: Request) -> ApiResponse:
    assert _worker_api is not None
    method, path, kwargs = request
    return _worker_api.request(method, path, **kwargs)


def start_environments(count: int, env: dict[str, str]) -> multiprocessing.pool.Pool:
    pool = multiprocessing.get_context("spawn").Pool(count, initializer=_start_environment, initargs=(env,))
    pool.map(_handle, [("GET", "/api/sessions/", {})] * count, chunksize=1)  # warm every environment
    return pool


def run_concurrently(pool: multiprocessing.pool.Pool, requests: list[Request]) -> list[ApiResponse]:
    return pool.map(_handle, requests, chunksize=1)
