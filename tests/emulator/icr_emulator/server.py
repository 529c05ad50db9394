"""HTTP(S) transport: a ThreadingHTTPServer whose handler turns sockets into Request/Response values."""
from __future__ import annotations

import socket
import ssl
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

from .httpio import Request, Response, json_response

MAX_BODY = 1024 * 1024
Dispatch = Callable[[Request], Response]
LogFn = Callable[[str], None]


class EmulatorHTTPServer(ThreadingHTTPServer):
    """Threaded server; TLS handshakes happen in the request thread, not the accept loop."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], dispatch: Dispatch, log: LogFn | None,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self.dispatch = dispatch
        self.log = log
        self.ssl_context = ssl_context
        super().__init__(address, _Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        """Wrap the connection in TLS (when configured) before handling it."""
        if self.ssl_context is None:
            super().finish_request(request, client_address)
            return
        try:
            request.settimeout(30)
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            if self.log:
                self.log(f"{client_address[0]} TLS handshake failed: {type(exc).__name__}")
            return
        try:
            super().finish_request(tls, client_address)
        finally:
            self.shutdown_request(tls)


class _Handler(BaseHTTPRequestHandler):
    """Reads one request, calls the dispatcher, writes its response and one log line."""

    server: EmulatorHTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "icr-emulator/1.0"
    timeout = 60
    disable_nagle_algorithm = True

    def version_string(self) -> str:
        """The Server header."""
        return self.server_version

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        """GET."""
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def _serve(self) -> None:
        started = time.time()
        split = urlsplit(self.path)
        try:
            body = self._read_body()
        except ValueError as exc:
            self._write(json_response(400 if "chunk" in str(exc) else 413, {"error": str(exc)}), split.path, started)
            self.close_connection = True
            return
        req = Request(self.command, split.path, parse_qs(split.query, keep_blank_values=True), self.headers, body,
                      self.client_address[0], started)
        try:
            resp = self.server.dispatch(req)
        except Exception as exc:  # pylint: disable=broad-exception-caught
            resp = json_response(500, {"error": "internal emulator error"})
            resp.note = type(exc).__name__
        self._write(resp, split.path, started)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise ValueError("request body too large")
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunked(self) -> bytes:
        data = b""
        while True:
            line = self.rfile.readline(1024).split(b";", 1)[0].strip()
            try:
                size = int(line, 16)
            except ValueError as exc:
                raise ValueError("bad chunk size") from exc
            if size == 0:
                while self.rfile.readline(1024).strip():
                    pass
                return data
            data += self.rfile.read(size)
            self.rfile.readline(1024)
            if len(data) > MAX_BODY:
                raise ValueError("request body too large")

    def _write(self, resp: Response, path: str, started: float) -> None:
        try:
            self.send_response(resp.status)
            length = str(len(resp.body))
            for name, value in resp.headers:
                if name.lower() == "content-length":
                    length = value  # a forwarded HEAD answer keeps the size of what a GET would send
                    continue
                self.send_header(name, value)
            self.send_header("Content-Length", length)
            self.end_headers()
            if self.command != "HEAD" and resp.body:
                self.wfile.write(resp.body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            self.close_connection = True
        if self.server.log:
            note = f" {resp.note}" if resp.note else ""
            self.server.log(f'{self.client_address[0]} "{self.command} {path}" {resp.status} {(time.time() - started) * 1000:.1f}ms{note}')

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        """Request lines are logged by _write, without query strings."""

    def log_error(self, format: str, *args: Any) -> None:  # pylint: disable=redefined-builtin
        """Log protocol errors without echoing the raw request line (it could hold a secret)."""
        if self.server.log:
            code = args[0] if args and isinstance(args[0], int) else "-"
            self.server.log(f"{self.client_address[0]} protocol error {code}")
