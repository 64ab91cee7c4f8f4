"""Each request's keys on every JSON log line, as Powertools' inject_lambda_context puts them, for less.

The decorator (correlation_id_path=API_GATEWAY_HTTP, clear_state=True) cost about 15 µs a warm
request: it builds a context model, rebuilds the formatter's keys from scratch, and runs a JMESPath
search for the correlation id. Of its keys only three change from one request to the next
(cold_start, function_request_id, correlation_id); the function's name, memory and ARN are the
execution environment's. So the keys are built once per environment, by the very calls the
decorator makes (same keys, same order, same values), and each request gets a copy with its own
three: a new dict, so a key appended during one request never reaches the next.
tests/unit/test_request_logs.py holds the log lines equal to the decorator's.

Not carried over: POWERTOOLS_LOGGER_LOG_EVENT, which would log whole events, bearer tokens included.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.utilities.typing import LambdaContext

# Powertools' own test for cold_start (logging.logger._is_cold_start): never under provisioned
# concurrency, where the environment was initialised before any request came.
_PROVISIONED = "provisioned-concurrency"


def correlation_id(event: Mapping[str, Any]) -> Any:
    """correlation_paths.API_GATEWAY_HTTP ("requestContext.requestId"), as JMESPath reads it.

    None where a step is missing or is not an object.
    """
    request_context = event.get("requestContext")
    return request_context.get("requestId") if isinstance(request_context, dict) else None


class RequestLogContext:
    """The request id, correlation id and cold start of the request being handled, on logger's lines."""

    def __init__(self, logger: Logger) -> None:
        formatter = logger.registered_formatter
        if not isinstance(formatter, LambdaPowertoolsFormatter):
            raise TypeError("RequestLogContext sets the keys of Powertools' own JSON formatter")
        self._logger = logger
        self._formatter = formatter
        self._cold = os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") != _PROVISIONED
        self._environment: tuple[str, int, str] | None = None
        self._keys: dict[str, Any] = {}

    def start(self, event: Mapping[str, Any], context: LambdaContext) -> None:
        """Called first for each request: its keys replace the previous request's, all of them."""
        environment = (context.function_name, context.memory_limit_in_mb, context.invoked_function_arn)
        # The same for every request of an environment, but for the ARN's qualifier if one version
        # is invoked under two names (an alias and its number).
        if environment != self._environment:
            self._keys = self._environment_keys(*environment)
            self._environment = environment
        cold, self._cold = self._cold, False
        self._formatter.log_format = {
            **self._keys,
            "cold_start": cold,
            "function_request_id": context.aws_request_id,
            "correlation_id": correlation_id(event),
        }
        # Keys appended with thread_safe_append_keys live in a context variable: cleared as well.
        self._logger.thread_safe_clear_keys()
        if self._logger.sampling_rate and not cold:
            # As the decorator does: DEBUG is sampled again for each request, not once per environment.
            self._logger.refresh_sample_rate_calculation()

    def _environment_keys(self, name: str, memory: int, arn: str) -> dict[str, Any]:
        # Exactly the decorator's calls, in its order, so the keys and their order in each line are its own.
        self._logger.structure_logs(
            cold_start=None, function_name=name, function_memory_size=memory, function_arn=arn, function_request_id=None
        )
        self._logger.set_correlation_id(None)
        return dict(self._logger.get_current_keys())
