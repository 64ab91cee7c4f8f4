"""A stand-in for the X-Ray daemon that Lambda runs beside a traced function: a UDP socket the test reads."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# The trace and the parent segment that Lambda names in _X_AMZN_TRACE_ID for a sampled invocation.
TRACE_ID = "1-5759e988-bd862e3fe1be46a994272793"
PARENT_ID = "53995c3f42cd8ad8"
SAMPLED_TRACE_HEADER = f"Root={TRACE_ID};Parent={PARENT_ID};Sampled=1"


@contextmanager
def xray_daemon() -> Iterator[socket.socket]:
    """A bound UDP socket; point AWS_XRAY_DAEMON_ADDRESS at daemon_address(it)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(0.5)
        yield sock
    finally:
        sock.close()


def daemon_address(sock: socket.socket) -> str:
    host, port = sock.getsockname()
    return f"{host}:{port}"


def received_documents(sock: socket.socket) -> list[dict[str, Any]]:
    """Every document the daemon got: each datagram is a header line, then one segment or subsegment."""
    documents: list[dict[str, Any]] = []
    while True:
        try:
            datagram = sock.recv(65535).decode("utf-8")
        except TimeoutError:
            return documents
        header, _, body = datagram.partition("\n")
        assert json.loads(header) == {"format": "json", "version": 1}
        documents.append(json.loads(body))
