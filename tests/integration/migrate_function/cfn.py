"""CloudFormation's side of a custom resource: the request events, the Lambda context, and the
pre-signed ResponseURL (a local HTTPS server that records what the function PUTs there).

crhelper 2.0.12 answers with ``http.client.HTTPSConnection`` whatever the URL's scheme, checking the
certificate against the default trust store, so the stand-in speaks TLS with a self-signed
certificate that callers trust through ``SSL_CERT_FILE`` (OpenSSL reads it at every connection).
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import ssl
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

REGION = "us-east-1"
ACCOUNT = "123456789012"
STACK_NAME = "learning-sessions"
STACK_ID = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{STACK_NAME}/5b3d8a20-cb6e-11ef-9bde-0affd1a0e7e1"
LOGICAL_ID = "DatabaseMigrations"
SERVICE_TOKEN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{STACK_NAME}-MigrateFunction-Xb7pQ2"
# What the stack's physical id for the resource looks like: stack name and logical id, no randomness.
EXPECTED_PHYSICAL_ID = f"{STACK_NAME}-{LOGICAL_ID}"
# CloudFormation rejects a response body over 4 KB.
MAX_RESPONSE_BYTES = 4096


def write_self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that is its own CA; returns (certificate, key) PEM paths."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cloudformation-response-stand-in")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "response-url.pem", directory / "response-url.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@dataclass(frozen=True)
class RecordedResponse:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    raw_size: int
    received_at: float  # time.monotonic()


@dataclass
class ResponseEndpoint:
    """Stands in for the S3 pre-signed URLs CloudFormation puts in ResponseURL."""

    base_url: str
    responses: list[RecordedResponse] = field(default_factory=list)
    _arrived: threading.Condition = field(default_factory=threading.Condition)

    def response_url(self, request_id: str) -> str:
        # Shaped like the real thing: the stack ARN and request id in the path, the signature in the
        # query string (which the client must keep, or S3 refuses the PUT).
        key = quote(f"{STACK_ID}|{LOGICAL_ID}|{request_id}", safe="")
        return f"{self.base_url}/{key}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=7200&X-Amz-Signature=f00d"

    def record(self, response: RecordedResponse) -> None:
        with self._arrived:
            self.responses.append(response)
            self._arrived.notify_all()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[RecordedResponse]:
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.responses) >= count, timeout=timeout)
            return list(self.responses)

    def only_response(self) -> RecordedResponse:
        responses = self.wait_for(1)
        assert len(responses) == 1, f"expected one answer, got {[r.body for r in responses]}"
        return responses[0]


@contextmanager
def response_endpoint(cert_path: Path, key_path: Path) -> Iterator[ResponseEndpoint]:
    """An HTTPS server on 127.0.0.1 (ephemeral port) that records every PUT and answers 200."""
    endpoint: ResponseEndpoint

    class Handler(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            endpoint.record(
                RecordedResponse(
                    path=self.path,
                    headers={key.lower(): value for key, value in self.headers.items()},
                    body=json.loads(raw),
                    raw_size=len(raw),
                    received_at=time.monotonic(),
                )
            )
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert_path, key_path)
    server.socket = tls.wrap_socket(server.socket, server_side=True)
    endpoint = ResponseEndpoint(base_url=f"https://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, name="response-url", daemon=True)
    thread.start()
    try:
        yield endpoint
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def custom_resource_event(
    request_type: str,
    endpoint: ResponseEndpoint,
    *,
    migrations_hash: str = "3f1c9a",
    physical_resource_id: str | None = None,
    old_migrations_hash: str | None = None,
) -> dict[str, Any]:
    """An event as CloudFormation sends it to a custom resource's ServiceToken."""
    request_id = str(uuid.uuid4())
    properties = {"ServiceToken": SERVICE_TOKEN, "MigrationsHash": migrations_hash}
    event: dict[str, Any] = {
        "RequestType": request_type,
        "ServiceToken": SERVICE_TOKEN,
        "ResponseURL": endpoint.response_url(request_id),
        "StackId": STACK_ID,
        "RequestId": request_id,
        "LogicalResourceId": LOGICAL_ID,
        "ResourceType": "Custom::DatabaseMigrations",
        "ResourceProperties": properties,
    }
    if request_type != "Create":
        event["PhysicalResourceId"] = physical_resource_id or EXPECTED_PHYSICAL_ID
    if request_type == "Update":
        event["OldResourceProperties"] = {**properties, "MigrationsHash": old_migrations_hash or migrations_hash}
    return event


@dataclass
class LambdaContext:
    """The parts of Lambda's context that crhelper and Powertools read, with a real deadline."""

    timeout_ms: int = 60_000
    function_name: str = f"{STACK_NAME}-MigrateFunction-Xb7pQ2"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = SERVICE_TOKEN
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = f"/aws/lambda/{STACK_NAME}-MigrateFunction-Xb7pQ2"
    log_stream_name: str = "2026/11/26/[$LATEST]0123456789abcdef"
    deadline: float = 0.0

    def __post_init__(self) -> None:
        self.deadline = time.monotonic() + self.timeout_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(int((self.deadline - time.monotonic()) * 1000), 0)


def assert_failed(response: RecordedResponse, event: dict[str, Any], *, reason_starts: str, mentions: str) -> None:
    """A valid FAILED answer whose reason starts as given and names the cause."""
    assert_valid_response(response, event)
    assert response.body["Status"] == "FAILED"
    assert response.body["Reason"].startswith(reason_starts)
    assert mentions in response.body["Reason"]


def assert_valid_response(response: RecordedResponse, event: dict[str, Any]) -> None:
    """What CloudFormation checks before it reads Status."""
    body = response.body
    assert response.raw_size <= MAX_RESPONSE_BYTES
    assert body["Status"] in ("SUCCESS", "FAILED")
    for key in ("StackId", "RequestId", "LogicalResourceId"):
        assert body[key] == event[key], key
    assert body["PhysicalResourceId"], "an empty PhysicalResourceId makes CloudFormation hide the reason"
    if body["Status"] == "FAILED":
        assert body["Reason"]
    # The pre-signed URL's path and signature must reach S3 unchanged.
    expected = event["ResponseURL"].split("127.0.0.1", 1)[1].split("/", 1)[1]
    assert response.path == "/" + expected
