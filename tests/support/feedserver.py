"""A feed HTTP server in a thread, for tests: recorded bodies, validators, redirects, drips.

    with FeedServer() as server:
        url = server.serve("/feed.xml", Reply(body, etag='"v1"'))
        ...
        assert server.requests_to("/feed.xml")[-1].headers["if-none-match"] == '"v1"'

Each path answers with its Reply. A Reply with an `etag` or `last_modified` answers 304 to a
request that sends the matching validator, as a well-behaved server does. Every request is
recorded (path and lowercased headers), so tests can count them and look at what was sent.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


@dataclass
class Reply:
    """What one path answers. `drip_bytes` > 0 sends the body that many bytes at a time,
    pausing `drip_interval_s` between pieces (a slow server). `content_length=False` omits the
    header and closes the connection to end the body."""

    body: bytes = b""
    status: int = 200
    content_type: str = "application/rss+xml; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    etag: str = ""
    last_modified: str = ""
    drip_bytes: int = 0
    drip_interval_s: float = 0.0
    content_length: bool = True


@dataclass(frozen=True)
class SeenRequest:
    path: str
    headers: dict[str, str]


class FeedServer:
    """ThreadingHTTPServer on 127.0.0.1 and a free port, serving Replies by path."""

    def __init__(self) -> None:
        self._replies: dict[str, Reply] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.requests: list[SeenRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0  # the most requests ever handled at once
        self._httpd = _QuietServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def serve(self, path: str, reply: Reply) -> str:
        """Answer `path` with `reply` from now on; returns its URL."""
        with self._lock:
            self._replies[path] = reply
        return self.url(path)

    def redirect(self, path: str, location: str, status: int = 302) -> str:
        return self.serve(path, Reply(status=status, headers={"Location": location}))

    def requests_to(self, path: str) -> list[SeenRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def reply_for(self, path: str) -> Reply | None:
        with self._lock:
            return self._replies.get(path)

    def record(self, request: SeenRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    @property
    def stopping(self) -> threading.Event:
        return self._stopping

    def start(self) -> FeedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FeedServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that stops reading early (size cap, deadline) resets its connection;
        # that is what the tests want, not a server fault worth a traceback.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _handler_for(server: FeedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
            server.enter()
            try:
                self._get()
            finally:
                server.leave()

        def _get(self) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            server.record(SeenRequest(self.path, headers))
            reply = server.reply_for(self.path)
            if reply is None:
                self._send(Reply(b"not found", status=404, content_type="text/plain"))
            elif _not_modified(reply, headers):
                self.send_response(304)
                self._validators(reply)
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self._send(reply)

        def _send(self, reply: Reply) -> None:
            self.send_response(reply.status)
            if reply.content_type:
                self.send_header("Content-Type", reply.content_type)
            self._validators(reply)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if reply.content_length:
                self.send_header("Content-Length", str(len(reply.body)))
            else:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            try:
                self._write_body(reply)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up, as it may

        def _write_body(self, reply: Reply) -> None:
            if reply.drip_bytes <= 0:
                self.wfile.write(reply.body)
                return
            for start in range(0, len(reply.body), reply.drip_bytes):
                if server.stopping.is_set():
                    return
                self.wfile.write(reply.body[start : start + reply.drip_bytes])
                self.wfile.flush()
                time.sleep(reply.drip_interval_s)

        def _validators(self, reply: Reply) -> None:
            if reply.etag:
                self.send_header("ETag", reply.etag)
            if reply.last_modified:
                self.send_header("Last-Modified", reply.last_modified)

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep test output quiet

    return Handler


def _not_modified(reply: Reply, headers: dict[str, str]) -> bool:
    if reply.status != 200:
        return False
    if "if-none-match" in headers:
        tags = [t.strip() for t in headers["if-none-match"].split(",")]
        return bool(reply.etag) and (reply.etag in tags or "*" in tags)
    return bool(reply.last_modified) and headers.get("if-modified-since") == reply.last_modified
