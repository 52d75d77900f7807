"""The ingest HTTP server: POST /v1/items with a bearer token, into the pipeline.

Checks run cheapest first, and a request refused before its body is read is answered at once
and its connection closed, so a 100 MB body costs the server nothing:

    404 / 405   another path, another method
    401         no `Authorization: Bearer <token>`, or a token matching none of `serve.tokens`
                (compared as SHA-256 digests with hmac.compare_digest: constant time, and the
                token's length is not given away either)
    411         no Content-Length (chunked bodies are not taken)
    413         Content-Length over `serve.max_body_bytes`
    415         a Content-Type other than JSON or JSON Lines
    408         the body did not arrive within BODY_DEADLINE_S (30 s)
    422         not JSON, not items, or any item invalid (body.py); nothing is stored
    503         the store is unusable right now (Retry-After: 5)
    202         stored: {"received", "new", "alerts", "deliveries"}

Tokens never reach a log line or an answer; clients are logged by the name their token has in
the config. Every answer is JSON. A handler that fails unexpectedly answers 500 and the server
carries on; at most MAX_CONNECTIONS requests are handled at once (the rest wait in the backlog).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from worker.config import ServeConfig
from worker.errors import StoreError
from worker.models import Item
from worker.pipeline import Pipeline
from worker.serve.body import RejectedBody, items_from_body, media_type_of

log = logging.getLogger(__name__)

PATH = "/v1/items"
BODY_DEADLINE_S = 30.0
SOCKET_TIMEOUT_S = 15.0
MAX_CONNECTIONS = 64
Acceptor = Callable[[str, list[Item]], dict[str, int]]


def pipeline_acceptor(current: Callable[[], Pipeline], wake: Callable[[], None]) -> Acceptor:
    """Items from client `name` scored, alerted and stored as feed "push:<name>" by the
    pipeline `current()` returns (the runtime's, which a config reload replaces); `wake` tells
    the delivery loop when there is something to send."""

    def accept(client: str, items: list[Item]) -> dict[str, int]:
        scored, created = current().process_items(f"push:{client}", items)
        if created:
            wake()
        alerts = sum(1 for s in scored for m in s.matches if m.alert)
        return {
            "received": len(items),
            "new": len(scored),
            "alerts": alerts,
            "deliveries": len(created),
        }

    return accept


class IngestServer:
    """POST /v1/items on `config.bind`:`config.port` (port 0: any free port), in a thread.

    `accept(client_name, items)` stores the items and returns the counts to answer with.
    """

    def __init__(
        self, config: ServeConfig, accept: Acceptor, body_deadline_s: float = BODY_DEADLINE_S
    ) -> None:
        self.config = config
        self.accept = accept
        self.body_deadline_s = body_deadline_s
        self._digests = {
            name: hashlib.sha256(token.encode("utf-8")).digest()
            for name, token in config.tokens.items()
        }
        self._httpd = _Server((config.bind, config.port), _handler_for(self))
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="pw-serve",
            daemon=True,
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def client_for(self, token: str) -> str | None:
        """The configured name of `token`, or None; every configured token is compared."""
        given = hashlib.sha256(token.encode("utf-8")).digest()
        found = None
        for name, digest in self._digests.items():
            if hmac.compare_digest(given, digest):
                found = name
        return found

    def start(self) -> IngestServer:
        self._thread.start()
        log.info("accepting items at %s%s (%d tokens)", self.url, PATH, len(self._digests))
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> IngestServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)

    def process_request(self, request: Any, client_address: Any) -> None:
        self._slots.acquire()
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection from %s ended abruptly", client_address, exc_info=True)


class _Refused(Exception):
    """Answer now with `status` and `answer`, without reading (more of) the body."""

    def __init__(self, status: int, code: str, detail: str, headers: Mapping[str, str] = {}):
        super().__init__(detail)
        self.status = status
        self.answer = {"error": code, "detail": detail}
        self.headers = dict(headers)


def _handler_for(server: IngestServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "policywatch"
        sys_version = ""
        timeout = SOCKET_TIMEOUT_S

        def do_POST(self) -> None:  # noqa: N802 (the name http.server calls)
            started = time.monotonic()
            client = "-"
            try:
                client = self._authorised_client()
                items = self._items(client)
                counts = server.accept(client, items)
            except _Refused as refused:
                # Logged before answering: the line exists once the client has its answer.
                self._log(refused.status, client, started, refused.answer["detail"])
                self._reply(refused.status, refused.answer, refused.headers, close=True)
                return
            except RejectedBody as rejected:
                self._log(rejected.status, client, started, rejected.detail)
                self._reply(rejected.status, rejected.answer())
                return
            except StoreError as exc:
                log.error("ingest from %s: store unusable: %s", client, exc)
                answer = {"error": "store_unavailable", "detail": "try again shortly"}
                self._reply(503, answer, {"Retry-After": "5"})
                return
            except Exception:  # a request boundary: one bad request must not stop the server
                log.exception("ingest from %s failed unexpectedly", client)
                self._reply(500, {"error": "internal", "detail": "see the server log"}, close=True)
                return
            self._log(202, client, started, json.dumps(counts))
            self._reply(202, counts)

        def do_GET(self) -> None:  # noqa: N802
            self._not_here()

        do_PUT = do_DELETE = do_PATCH = do_HEAD = do_GET  # noqa: N815

        def _not_here(self) -> None:
            if self.path.split("?", 1)[0] == PATH:
                answer = {"error": "method_not_allowed", "detail": f"use POST {PATH}"}
                self._reply(405, answer, {"Allow": "POST"}, close=True)
            else:
                answer = {"error": "not_found", "detail": f"the one endpoint is POST {PATH}"}
                self._reply(404, answer, close=True)

        def _authorised_client(self) -> str:
            if self.path.split("?", 1)[0] != PATH:
                raise _Refused(404, "not_found", f"the one endpoint is POST {PATH}")
            scheme, _, token = self.headers.get("Authorization", "").strip().partition(" ")
            challenge = {"WWW-Authenticate": 'Bearer realm="policywatch"'}
            if scheme.lower() != "bearer" or not token.strip():
                raise _Refused(401, "unauthorized", "send Authorization: Bearer <token>", challenge)
            client = server.client_for(token.strip())
            if client is None:
                raise _Refused(401, "unauthorized", "the bearer token is not valid", challenge)
            return client

        def _items(self, client: str) -> list[Item]:
            if self.headers.get("Transfer-Encoding"):
                raise _Refused(411, "length_required", "send a Content-Length (no chunked bodies)")
            declared = self.headers.get("Content-Length", "").strip()
            if not declared.isdigit():
                raise _Refused(411, "length_required", "send a Content-Length")
            length, limit = int(declared), server.config.max_body_bytes
            if length > limit:
                raise _Refused(413, "too_large", f"the body is {length} bytes; at most {limit}")
            try:
                media = media_type_of(self.headers.get("Content-Type", ""))
            except RejectedBody as rejected:  # the body is not read: the connection must close
                raise _Refused(rejected.status, rejected.code, rejected.detail) from rejected
            return items_from_body(self._read(length), media, f"push:{client}")

        def _read(self, length: int) -> bytes:
            deadline = time.monotonic() + server.body_deadline_s
            chunks: list[bytes] = []
            left = length
            while left > 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    took = f"the body took over {server.body_deadline_s:g} s"
                    raise _Refused(408, "timeout", took)
                try:
                    self.connection.settimeout(min(SOCKET_TIMEOUT_S, remaining))
                    chunk = self.rfile.read1(min(left, 65_536))
                except TimeoutError as exc:
                    raise _Refused(408, "timeout", "the body stopped arriving") from exc
                if not chunk:
                    raise _Refused(400, "incomplete", "the connection closed mid-body")
                chunks.append(chunk)
                left -= len(chunk)
            return b"".join(chunks)

        def _reply(
            self,
            status: int,
            answer: Mapping[str, Any],
            headers: Mapping[str, str] | None = None,
            close: bool = False,
        ) -> None:
            body = json.dumps(answer, ensure_ascii=False).encode("utf-8")
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                if close:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                self.close_connection = True  # the client has gone; nothing to tell it

        def _log(self, status: int, client: str, started: float, detail: str) -> None:
            took_ms = (time.monotonic() - started) * 1000
            level = logging.INFO if status < 400 else logging.WARNING
            log.log(
                level,
                "POST %s %d client=%s from %s in %.0f ms: %s",
                PATH,
                status,
                client,
                self.client_address[0],
                took_ms,
                detail[:300],
            )

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("%s %s", self.client_address[0], format % args)

    return Handler
