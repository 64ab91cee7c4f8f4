"""CORS as an HTTP API answers it, from the template's ``CorsConfiguration``.

API Gateway answers a preflight itself, without calling a function and whether or not a route
exists for OPTIONS, and adds the configured headers to every response to an allowed origin,
replacing any CORS headers the function set. samcli's own emulation cannot be used: it resolves
no ``Fn::If`` around the configuration (our template enables CORS with a condition), has no
``ExposeHeaders``, answers preflights with 200 and adds the preflight headers to every response.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from local_api._samcli import IntrinsicResolver, IntrinsicsSymbolTable

HTTP_API_TYPE = "AWS::Serverless::HttpApi"
_NO_VALUE = object()  # what `!Ref AWS::NoValue` resolves to: the property is absent


class CorsConfigError(Exception):
    """The template's CorsConfiguration cannot be read; the message says where."""


@dataclass(frozen=True)
class CorsConfig:
    allow_origins: tuple[str, ...] = ()
    allow_methods: tuple[str, ...] = ()
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    allow_credentials: bool = False
    max_age: int | None = None

    def matched_origin(self, origin: str | None) -> str | None:
        """The Access-Control-Allow-Origin value for ``origin``, or None when it is not allowed."""
        if not origin:
            return None
        for allowed in self.allow_origins:
            if allowed == "*":
                return "*"
            if _origin_pattern(allowed).fullmatch(origin):
                return origin
        return None

    def preflight_headers(self, origin: str | None, method: str, request_headers: str | None) -> dict[str, str]:
        """The headers of a preflight answer; empty when the origin, method or a header is refused."""
        matched = self.matched_origin(origin)
        if matched is None or not _allowed(method, self.allow_methods, case_sensitive=True):
            return {}
        requested = [name.strip() for name in (request_headers or "").split(",") if name.strip()]
        if not all(_allowed(name, self.allow_headers, case_sensitive=False) for name in requested):
            return {}
        headers = {"Access-Control-Allow-Origin": matched}
        if self.allow_methods:
            headers["Access-Control-Allow-Methods"] = ",".join(self.allow_methods)
        if self.allow_headers:
            headers["Access-Control-Allow-Headers"] = ",".join(self.allow_headers)
        if self.allow_credentials:
            headers["Access-Control-Allow-Credentials"] = "true"
        if self.max_age is not None:
            headers["Access-Control-Max-Age"] = str(self.max_age)
        return headers

    def response_headers(self, origin: str | None) -> dict[str, str]:
        """The headers API Gateway adds to a non-preflight response for ``origin``."""
        matched = self.matched_origin(origin)
        if matched is None:
            return {}
        headers = {"Access-Control-Allow-Origin": matched}
        if self.expose_headers:
            headers["Access-Control-Expose-Headers"] = ",".join(self.expose_headers)
        if self.allow_credentials:
            headers["Access-Control-Allow-Credentials"] = "true"
        return headers


def _origin_pattern(allowed: str) -> re.Pattern[str]:
    # HTTP APIs accept one wildcard for a subdomain level, e.g. https://*.example.com.
    return re.compile(".+?".join(re.escape(part) for part in allowed.split("*")), re.IGNORECASE)


def _allowed(value: str, allowed: Iterable[str], *, case_sensitive: bool) -> bool:
    allowed = list(allowed)
    if "*" in allowed:
        return True
    if case_sensitive:
        return value in allowed
    return value.lower() in {name.lower() for name in allowed}


def is_preflight(method: str, origin: str | None, request_method: str | None) -> bool:
    """A CORS preflight: OPTIONS with Origin and Access-Control-Request-Method (any other OPTIONS is routed)."""
    return method == "OPTIONS" and bool(origin) and bool(request_method)


def http_api_cors(stacks: Iterable[Any]) -> CorsConfig | None:
    """The CorsConfiguration of the template's HttpApi, intrinsics resolved; None without one."""
    configs: dict[str, CorsConfig | None] = {}
    for stack in stacks:
        template = stack.template_dict
        resolver = _resolver(template, stack.parameters or {})
        for logical_id, resource in (template.get("Resources") or {}).items():
            if not isinstance(resource, dict) or resource.get("Type") != HTTP_API_TYPE:
                continue
            raw = (resource.get("Properties") or {}).get("CorsConfiguration")
            try:
                configs[logical_id] = _parse(_resolve(raw, resolver))
            except Exception as exc:  # samcli's resolver raises assorted types
                raise CorsConfigError(f"{logical_id}.CorsConfiguration: {exc}") from exc
    distinct = {config for config in configs.values() if config is not None}
    if len(distinct) > 1:
        raise CorsConfigError(f"several HttpApis with different CorsConfiguration ({', '.join(configs)})")
    return distinct.pop() if distinct else None


def _resolver(template: Mapping[str, Any], overrides: Mapping[str, Any]) -> Any:
    parameters = dict(IntrinsicsSymbolTable.DEFAULT_PSEUDO_PARAM_VALUES)
    for name, declaration in (template.get("Parameters") or {}).items():
        if isinstance(declaration, dict) and "Default" in declaration:
            parameters[name] = declaration["Default"]
    parameters.update(overrides)
    return IntrinsicResolver(
        template=template, symbol_resolver=IntrinsicsSymbolTable(logical_id_translator=parameters, template=template)
    )


def _resolve(value: Any, resolver: Any) -> Any:
    # samcli resolves both branches of an Fn::If and fails on `!Ref AWS::NoValue`; choose first.
    if isinstance(value, dict) and len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Ref" and argument == "AWS::NoValue":
            return _NO_VALUE
        if key == "Fn::If":
            condition, if_true, if_false = argument
            chosen = resolver.intrinsic_property_resolver({"Fn::If": [condition, True, False]}, ignore_errors=False)
            return _resolve(if_true if chosen else if_false, resolver)
        if key.startswith("Fn::") or key == "Ref":
            return resolver.intrinsic_property_resolver(value, ignore_errors=False)
    if isinstance(value, dict):
        items = {key: _resolve(item, resolver) for key, item in value.items()}
        return {key: item for key, item in items.items() if item is not _NO_VALUE}
    if isinstance(value, list):
        return [item for item in (_resolve(item, resolver) for item in value) if item is not _NO_VALUE]
    return value


def _parse(raw: Any) -> CorsConfig | None:
    if raw is None or raw is _NO_VALUE or raw is False:
        return None
    if raw is True:  # `CorsConfiguration: true`: SAM allows any origin
        return CorsConfig(allow_origins=("*",), allow_methods=("*",), allow_headers=("*",))
    if not isinstance(raw, dict):
        raise CorsConfigError(f"expected a mapping or a boolean, got {raw!r}")

    def strings(name: str) -> tuple[str, ...]:
        value = raw.get(name) or []
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise CorsConfigError(f"{name} must be a list of strings, got {value!r}")
        return tuple(value)

    max_age = raw.get("MaxAge")
    return CorsConfig(
        allow_origins=strings("AllowOrigins"),
        allow_methods=tuple(method.upper() for method in strings("AllowMethods")),
        allow_headers=strings("AllowHeaders"),
        expose_headers=strings("ExposeHeaders"),
        allow_credentials=bool(raw.get("AllowCredentials")),
        max_age=int(max_age) if max_age is not None else None,
    )
