"""Offline checks of template.yaml: `sam validate --lint`, then cfn-lint on the samtranslator output.

`sam validate --lint` lints the SAM template as written, and misses what only shows once the
serverless resources are expanded (a `!GetAtt` to a misspelt resource whose name starts with a real
one, a Lambda ``Timeout`` above 900). So the template is also translated locally by samtranslator
(local ``CodeUri``/``ContentUri`` swapped for ``s3://`` URIs, as ``sam package`` would) and the
CloudFormation it expands to is linted by cfn-lint. Nothing here calls AWS.

    python -m tools.template_check [--template template.yaml] [--output translated.json]

Exits 1 when any check reports a finding (errors and warnings alike), 0 when all are clean.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = REPO_ROOT / "template.yaml"
REGION = "us-east-1"
PLACEHOLDER_BUCKET = "template-check-placeholder"

# Which property of which serverless resource type names local code that `sam package` uploads.
_CODE_PROPERTIES = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
}


@dataclass(frozen=True)
class Finding:
    check: str
    rule: str
    message: str
    location: str = ""

    def __str__(self) -> str:
        where = f" at {self.location}" if self.location else ""
        return f"{self.check}: [{self.rule}] {self.message}{where}"


def offline_environ(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for SAM CLI and samtranslator: a region and dummy credentials, never a real profile."""
    environ = dict(os.environ if base is None else base)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        environ.pop(name, None)
    environ.update(
        AWS_DEFAULT_REGION=REGION,
        AWS_REGION=REGION,
        AWS_ACCESS_KEY_ID="AKIAOFFLINECHECK0000",
        AWS_SECRET_ACCESS_KEY="offline-template-check",  # noqa: S106 - a dummy, so nothing can call AWS
        SAM_CLI_TELEMETRY="0",
        SAM_CLI_POLL_DELAY="0",
    )
    return environ


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """Parse a SAM template, short-form intrinsics (``!Ref``, ``!GetAtt``...) included."""
    from samtranslator.yaml_helper import yaml_parse

    parsed = yaml_parse(path.read_text(encoding="utf-8"))
    if not isinstance(parsed, dict):
        raise ValueError(f"{path} is not a YAML mapping")
    return parsed


def with_s3_code_uris(template: Mapping[str, Any]) -> dict[str, Any]:
    """A copy in which local code paths are ``s3://`` URIs, as in the template ``sam package`` uploads."""
    packaged = copy.deepcopy(dict(template))
    globals_function = packaged.get("Globals", {}).get("Function", {})
    if isinstance(globals_function.get("CodeUri"), str):
        globals_function["CodeUri"] = f"s3://{PLACEHOLDER_BUCKET}/globals.zip"
    for logical_id, resource in packaged.get("Resources", {}).items():
        prop = _CODE_PROPERTIES.get(resource.get("Type", ""))
        properties = resource.get("Properties") or {}
        if prop and isinstance(properties.get(prop), str) and not properties[prop].startswith("s3://"):
            properties[prop] = f"s3://{PLACEHOLDER_BUCKET}/{logical_id}.zip"
    return packaged


class _OfflinePolicyLoader:
    """samtranslator asks for IAM's managed-policy list only for a policy name missing from its bundled map."""

    def load(self) -> dict[str, str]:
        raise RuntimeError(
            "The template names an AWS managed policy that samtranslator does not know offline: use its ARN"
        )


def translate(template: Mapping[str, Any], parameter_values: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The CloudFormation template that the AWS::Serverless transform makes of ``template``."""
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.translator.arn_generator import ArnGenerator
    from samtranslator.translator.transform import transform

    # samtranslator takes AWS::Region and the ARN partition from a boto3 session: give it the offline one.
    ArnGenerator.BOTO_SESSION_REGION_NAME = REGION
    try:
        with _offline_os_environ():
            translated = transform(with_s3_code_uris(template), dict(parameter_values or {}), _OfflinePolicyLoader())
    except InvalidDocumentException as exc:
        causes = "; ".join(str(cause) for cause in exc.causes)
        raise TranslationError(causes or str(exc)) from None
    if not isinstance(translated, dict):
        raise TranslationError("samtranslator returned no template")
    return translated


@contextmanager
def _offline_os_environ() -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(offline_environ(saved))
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


class TranslationError(ValueError):
    """samtranslator rejected the template."""


def cfn_lint(translated: Mapping[str, Any], regions: Sequence[str] = (REGION,)) -> list[Finding]:
    """cfn-lint's errors and warnings on a CloudFormation template (a translated one here)."""
    from cfnlint.api import ManualArgs, lint  # type: ignore[import-untyped]

    matches = lint(json.dumps(translated, indent=1), config=ManualArgs(regions=list(regions)))
    findings = []
    for match in matches:
        path = getattr(match, "path", None)
        location = "/".join(str(part) for part in path) if path else f"translated line {match.linenumber}"
        findings.append(Finding("cfn-lint (translated)", str(match.rule.id), str(match.message), location))
    return findings


_SAM_LINT_LINE = re.compile(r"^\[\[(?P<rule>[EWI]\d+): [^\]]*\] \((?P<message>.*)\) matched (?P<line>\d+)\]$")


def sam_validate_lint(path: Path = TEMPLATE) -> list[Finding]:
    """``sam validate --lint`` on the template as written, offline."""
    result = subprocess.run(
        [sys.executable, "-m", "samcli", "validate", "--lint", "--template-file", str(path), "--region", REGION],
        cwd=REPO_ROOT,
        env=offline_environ(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode == 0:
        return []
    findings = []
    for line in (result.stdout + result.stderr).splitlines():
        matched = _SAM_LINT_LINE.match(line.strip())
        if matched:
            findings.append(
                Finding("sam validate --lint", matched["rule"], matched["message"], f"{path.name}:{matched['line']}")
            )
    if not findings:
        output = (result.stderr.strip() or result.stdout.strip() or f"exit status {result.returncode}")[-2000:]
        findings.append(Finding("sam validate --lint", "failed", output))
    return findings


def check(path: Path = TEMPLATE, *, sam_validate: bool = True, output: Path | None = None) -> list[Finding]:
    """Every check, in order; the findings of all of them."""
    findings = sam_validate_lint(path) if sam_validate else []
    try:
        translated = translate(load_template(path))
    except TranslationError as exc:
        return [*findings, Finding("samtranslator", "transform", str(exc))]
    if output is not None:
        output.write_text(json.dumps(translated, indent=2) + "\n", encoding="utf-8")
    return [*findings, *cfn_lint(translated)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--template", type=Path, default=TEMPLATE, help="the SAM template (default: %(default)s)")
    parser.add_argument("--output", type=Path, help="also write the translated CloudFormation template here")
    parser.add_argument(
        "--skip-sam-validate", action="store_true", help="only translate and cfn-lint (faster; no SAM CLI process)"
    )
    args = parser.parse_args(argv)
    findings = check(args.template, sam_validate=not args.skip_sam_validate, output=args.output)
    for finding in findings:
        print(finding)
    if findings:
        print(f"{args.template}: {len(findings)} finding(s)", file=sys.stderr)
        return 1
    checks = (
        "samtranslator and cfn-lint" if args.skip_sam_validate else "sam validate --lint, samtranslator and cfn-lint"
    )
    print(f"{args.template}: {checks} found nothing")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
