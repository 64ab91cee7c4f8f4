"""A TCP proxy in front of Postgres that tests can break: the database's network, on demand."""

from __future__ import annotations

import contextlib
import socket
import threading
from enum import Enum
from types import TracebackType


class Mode(Enum):
    FORWARD = "forward"  # a healthy database
    DOWN = "down"  # accepts, then hangs up at once: a database that is restarting
    BLACKHOLE = "blackhole"  # accepts and never answers: a dead host behind a firewall


class FaultyProxy:
    def __init__(self, upstream_host: str, upstream_port: int):
        self.upstream = (upstream_host, upstream_port)
        self.mode = Mode.FORWARD
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept_loop, daemon=True).start()

    def __enter__(self) -> FaultyProxy:
        return self

    def __exit__(self, *exc: object | type[BaseException] | TracebackType | None) -> None:
        self.close()

    def set_mode(self, mode: Mode) -> None:
        """Switch mode; leaving FORWARD also cuts every open connection, as a restart would."""
        self.mode = mode
        if mode is not Mode.FORWARD:
            self.cut_connections()

    def cut_connections(self) -> None:
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        self.cut_connections()

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)

    def _accept_loop(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.mode is Mode.DOWN:
                client.close()
                continue
            self._track(client)
            if self.mode is Mode.BLACKHOLE:
                continue
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            self._track(upstream)
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
