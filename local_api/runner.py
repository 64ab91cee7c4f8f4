"""The Lambda runner handed to samcli's API Gateway emulation: worker processes instead of Docker.

It subclasses samcli's ``LocalLambdaRunner`` so that finding the function (``get_function``) and
resolving its configuration (``get_invoke_config``: code path, layers, timeout, memory, and the
environment from Globals, the function, the shell and ``--env-vars``) stay samcli's own logic.
Only ``invoke``, the part that would start a container, is replaced.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from local_api._samcli import LocalLambdaRunner, SamFunctionProvider, StreamWriter
from local_api.config import is_database_variable, with_database_default
from local_api.pool import FunctionError, FunctionPool, ResponseTooLarge, WorkerSpec

# The few variables of the server's environment a worker inherits: enough for a process to run,
# nothing that would make a function depend on the developer's shell. Lambda runs in UTC.
_INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
_LAMBDA_TZ = "UTC"
# Lambda's limit for a synchronous invocation's response payload (6 MB).
MAX_RESPONSE_BYTES = 6 * 1024 * 1024


def layer_path(content_dir: str) -> str:
    # A built layer keeps Python packages under python/ (mounted at /opt/python); a source layer
    # such as shared/ holds them at its top level.
    python_dir = os.path.join(content_dir, "python")
    return python_dir if os.path.isdir(python_dir) else content_dir


class WorkerPoolRunner(LocalLambdaRunner):  # type: ignore[misc]  # samcli ships no type hints
    def __init__(
        self,
        function_provider: SamFunctionProvider,
        *,
        template_dir: Path,
        project_dir: Path,
        env_vars_values: Mapping[str, Mapping[str, Any]],
        server_env: Mapping[str, str],
        max_workers: int,
        integration_timeout_seconds: float = 30.0,
        idle_timeout_seconds: float | None = None,
    ) -> None:
        # No LambdaRuntime: invoke() below is the only caller of it in LocalLambdaRunner.
        # Relative CodeUris resolve against the template's folder, as with `sam local`.
        super().__init__(
            local_runtime=None,
            function_provider=function_provider,
            cwd=str(template_dir),
            real_path=str(template_dir),
            env_vars_values=dict(env_vars_values),
        )
        self._project_dir = project_dir
        self._server_env = dict(server_env)
        self._max_workers = max_workers
        self._integration_timeout_seconds = integration_timeout_seconds
        self._idle_timeout_seconds = idle_timeout_seconds
        self._pools: dict[str, FunctionPool] = {}
        self._pools_lock = threading.Lock()
        self._closed = False

    def invoke(
        self,
        function_identifier: str,
        event: str,
        tenant_id: str | None = None,
        stdout: StreamWriter | None = None,
        stderr: StreamWriter | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        # Keyword arguments change between aws-sam-cli releases; those beyond the event and the
        # output stream (runtime override, invocation type, durable execution...) do not apply here.
        function = self.get_function(function_identifier, tenant_id)
        payload = self._pool(function).invoke(event)
        size = len(payload.encode("utf-8"))
        if size > MAX_RESPONSE_BYTES:
            raise ResponseTooLarge(
                function.name,
                "Function.ResponseSizeTooLarge",
                f"Response payload size ({size} bytes) exceeded maximum allowed payload size "
                f"({MAX_RESPONSE_BYTES} bytes).",
            )
        if stdout is not None:
            stdout.write_str(payload)

    def _pool(self, function: Any) -> FunctionPool:
        with self._pools_lock:
            if self._closed:  # a request that raced the shutdown must not start new workers
                raise FunctionError(function.name, "Runtime.Shutdown", "the server is shutting down")
            pool = self._pools.get(function.full_path)
            if pool is None:
                pool = FunctionPool(self.worker_spec(function), self._max_workers, self._idle_timeout_seconds)
                self._pools[function.full_path] = pool
            return pool

    def worker_spec(self, function: Any) -> WorkerSpec:
        """What a worker of ``function`` runs with: samcli's resolved configuration, adapted."""
        runtime = function.runtime or ""
        if function.packagetype != "Zip" or not runtime.startswith("python"):
            raise FunctionError(function.name, "Runtime.Unsupported", f"only Python zip functions run here ({runtime})")
        config = self.get_invoke_config(function)
        code_dir = str(config.code_abs_path)
        env = {name: os.environ[name] for name in _INHERITED if name in os.environ}
        env.update(
            TZ=_LAMBDA_TZ,
            LAMBDA_TASK_ROOT=code_dir,
            _HANDLER=config.handler,
            AWS_EXECUTION_ENV=f"AWS_Lambda_{runtime}",
        )
        env_vars = config.env_vars
        resolved = self._without_cloud_resources(env_vars.resolve(), declared=env_vars.variables)
        # The template's database settings describe the deployed database (TLS to RDS, its
        # address); locally the database is the developer's: the server's settings (shell, .env)
        # or an --env-vars file, else the SQLite default.
        explicit = {**env_vars.shell_env_values, **env_vars.override_values}
        env.update(
            {name: value for name, value in resolved.items() if not is_database_variable(name) or name in explicit}
        )
        for name, value in self._server_env.items():
            if is_database_variable(name):
                if not env.get(name):
                    env[name] = value
            elif name not in env_vars.override_values:
                # A service setting from the shell or .env beats the template's value, as a
                # declared variable does with `sam local`; an --env-vars entry beats both.
                env[name] = value
        return WorkerSpec(
            function_name=function.name,
            handler=config.handler,
            sys_path=[code_dir, *(layer_path(layer.codeuri) for layer in config.layers if layer.codeuri)],
            env=with_database_default(env),
            cwd=str(self._project_dir),
            timeout_seconds=float(config.timeout or 3),
            integration_timeout_seconds=self._integration_timeout_seconds,
        )

    def _without_cloud_resources(self, env: Mapping[str, str], *, declared: Mapping[str, Any]) -> dict[str, str]:
        """Drop variables that name a resource of the stack (a DynamoDB table, a queue...).

        samcli resolves `!Ref SomeTable` to the bare logical id, which would send the function to
        a table of that name in whatever AWS account the shell points at. Locally those resources
        do not exist, so the function runs as if the variable were unset.
        """
        resource_ids = {logical_id for stack in self.provider.stacks for logical_id in stack.resources}
        # Only the template's own variables: AWS_LAMBDA_FUNCTION_NAME is a logical id too.
        return {name: value for name, value in env.items() if name not in declared or value not in resource_ids}

    def startup_warnings(self) -> list[str]:
        """What will make the local run differ from Lambda, found before the first request."""
        local = f"python{sys.version_info.major}.{sys.version_info.minor}"
        warnings = []
        for function in self.provider.get_all():
            if function.runtime and function.runtime.startswith("python") and function.runtime != local:
                warnings.append(f"{function.name} declares {function.runtime} but runs on the local {local}")
            warnings.extend(
                f"{function.name}: layer {layer.name} has no local content and is left out of sys.path"
                for layer in function.layers
                if not layer.codeuri
            )
        return warnings

    def shutdown(self) -> None:
        with self._pools_lock:
            self._closed = True
            pools = list(self._pools.values())
            self._pools.clear()
        for pool in pools:
            pool.shutdown()
