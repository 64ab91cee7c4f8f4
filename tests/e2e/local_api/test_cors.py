"""Reading the HttpApi's CorsConfiguration from a template, as the local server does."""

from __future__ import annotations

from pathlib import Path

import pytest

from local_api._samcli import SamLocalStackProvider
from local_api.cors import CorsConfig, CorsConfigError, http_api_cors
from tests.e2e.local_api.conftest import FIXTURES, REPO_ROOT


def cors_of(template: Path, **parameters: str) -> CorsConfig | None:
    stacks, _ = SamLocalStackProvider.get_stacks(str(template), parameter_overrides=parameters)
    return http_api_cors(stacks)


def write_template(tmp_path: Path, cors: str) -> Path:
    template = tmp_path / "template.yaml"
    template.write_text(
        "Transform: AWS::Serverless-2016-10-31\n"
        "Resources:\n"
        "  Api:\n"
        "    Type: AWS::Serverless::HttpApi\n"
        f"    Properties:\n      CorsConfiguration: {cors}\n"
    )
    return template


def test_condition_and_parameter_defaults_are_resolved() -> None:
    cors = cors_of(FIXTURES / "template.yaml")

    assert cors == CorsConfig(
        allow_origins=("https://app.example", "https://*.tools.example"),
        allow_methods=("GET", "POST"),
        allow_headers=("Content-Type", "If-Match"),
        expose_headers=("ETag", "Location"),
        max_age=300,
    )


def test_parameter_overrides_apply_and_the_false_branch_turns_cors_off() -> None:
    assert cors_of(FIXTURES / "template.yaml", AllowedOrigins="https://one.example") is not None
    assert cors_of(FIXTURES / "template.yaml", AllowedOrigins="none") is None


def test_the_real_template_reads_without_error() -> None:
    cors = cors_of(REPO_ROOT / "template.yaml")

    assert cors is not None
    assert cors.allow_origins == ("*",)
    assert cors_of(REPO_ROOT / "template.yaml", CorsAllowOrigins="none") is None


def test_boolean_true_allows_everything(tmp_path: Path) -> None:
    cors = cors_of(write_template(tmp_path, "true"))

    assert cors is not None
    assert cors.preflight_headers("https://x.example", "DELETE", "x-anything")["Access-Control-Allow-Origin"] == "*"


def test_credentials_and_exact_origins(tmp_path: Path) -> None:
    template = write_template(
        tmp_path, "{AllowOrigins: [https://a.example], AllowMethods: ['*'], AllowCredentials: true}"
    )
    cors = cors_of(template)

    assert cors is not None
    assert cors.response_headers("https://a.example") == {
        "Access-Control-Allow-Origin": "https://a.example",
        "Access-Control-Allow-Credentials": "true",
    }
    assert cors.response_headers("https://a.example.evil") == {}
    assert cors.preflight_headers("https://a.example", "PUT", None)["Access-Control-Allow-Methods"] == "*"


def test_malformed_configuration_names_the_resource(tmp_path: Path) -> None:
    with pytest.raises(CorsConfigError, match=r"Api\.CorsConfiguration"):
        cors_of(write_template(tmp_path, "{AllowOrigins: https://a.example}"))
