"""The aws-sam-cli internals local_api is built on. An upgrade that changes them must fail here.

None of these are a public API; local_api/_samcli.py imports every one of them.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

from local_api import _samcli


def parameters(function: Callable[..., Any]) -> list[str]:
    return list(inspect.signature(function).parameters)


def test_template_providers() -> None:
    assert parameters(_samcli.SamLocalStackProvider.get_stacks)[:2] == ["template_file", "stack_path"]
    assert "parameter_overrides" in parameters(_samcli.SamLocalStackProvider.get_stacks)
    assert parameters(_samcli.SamFunctionProvider)[:1] == ["stacks"]
    assert "ignore_code_extraction_warnings" in parameters(_samcli.SamFunctionProvider)
    assert parameters(_samcli.ApiProvider)[:2] == ["stacks", "cwd"]


def test_lambda_runner_base_class() -> None:
    runner = _samcli.LocalLambdaRunner
    assert {"local_runtime", "function_provider", "cwd", "real_path", "env_vars_values"} <= set(parameters(runner))
    assert parameters(runner.get_function)[1:] == ["function_identifier", "tenant_id"]
    assert parameters(runner.get_invoke_config)[1:2] == ["function"]
    assert parameters(runner.invoke)[1:3] == ["function_identifier", "event"]
    assert {"stdout", "stderr", "tenant_id"} <= set(parameters(runner.invoke))


def test_the_service_uses_only_invoke_and_is_debugging_of_its_runner() -> None:
    # WorkerPoolRunner replaces invoke() only; anything else the service starts calling would
    # run samcli's container code path (local_runtime is None).
    source = inspect.getsource(inspect.getmodule(_samcli.LocalApigwService))  # type: ignore[arg-type]
    used = set(re.findall(r"lambda_runner\.(\w+)", source))
    assert used == {"invoke", "is_debugging"}
    assert "stdout=stdout_writer" in inspect.getsource(_samcli.LocalApigwService._invoke_lambda_function)


def test_service_methods_local_api_overrides_or_calls() -> None:
    service = _samcli.LocalApigwService
    assert {"api", "lambda_runner", "port", "host"} <= set(parameters(service))
    assert parameters(service._generate_lambda_event)[1:] == ["flask_request", "route", "method", "endpoint"]
    assert parameters(service._get_current_route)[1:] == ["flask_request"]
    assert parameters(service._construct_error_handling)[1:] == []
    assert parameters(service._v2_route_key) == ["method", "path", "is_default_route"]
    assert callable(service.create)
    assert callable(service._request_handler)


def test_event_constructor() -> None:
    assert {
        "flask_request",
        "port",
        "binary_types",
        "stage_name",
        "stage_variables",
        "route_key",
        "request_time_epoch",
        "request_time",
    } <= set(parameters(_samcli.construct_v2_event_http))
    assert _samcli.Route.HTTP == "HttpApi"
    assert _samcli.PathConverter.convert_path_to_api_gateway("/items/<id>") == "/items/{id}"


def test_stream_writer_and_template_errors() -> None:
    assert callable(_samcli.StreamWriter.write_str)
    assert issubclass(_samcli.UserException, Exception)
    assert issubclass(_samcli.InvalidSamDocumentException, Exception)


def test_intrinsic_resolver_for_the_cors_configuration() -> None:
    assert parameters(_samcli.IntrinsicResolver)[:2] == ["template", "symbol_resolver"]
    assert parameters(_samcli.IntrinsicResolver.intrinsic_property_resolver)[1:3] == ["intrinsic", "ignore_errors"]
    assert {"template", "logical_id_translator"} <= set(parameters(_samcli.IntrinsicsSymbolTable))
    assert "AWS::Region" in _samcli.IntrinsicsSymbolTable.DEFAULT_PSEUDO_PARAM_VALUES
    # local_api.cors replaces these; the service must keep reading them from the route and the api.
    assert {"GET", "OPTIONS"} <= set(_samcli.Route.ANY_HTTP_METHODS)
    assert "route.cors if route.cors is not None else self.api.cors" in inspect.getsource(
        _samcli.LocalApigwService._request_handler
    )
