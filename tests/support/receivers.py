"""Real local receivers for delivery tests: an HTTP server and an SMTP server, each in a thread.

`HttpReceiver` records every request and answers from a scripted list of replies (then 200 ok).
`SmtpReceiver` is an aiosmtpd server on a free port that keeps what it received and can be
scripted to answer DATA with e.g. "451 try later". Both are context managers.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass(frozen=True)
class Reply:
    """One scripted HTTP answer."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    delay_s: float = 0.0  # wait this long before answering (to provoke client timeouts)


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the receiver saw it; header names are lower-cased."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = 0.0  # time.monotonic() when the request arrived

    def json(self) -> Any:
        return json.loads(self.body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (a timeout test) closes first; that is expected, not news.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class HttpReceiver:
    """A ThreadingHTTPServer on 127.0.0.1 and a free port that records requests.

    Replies come from `script(...)` in order; when they run out, the answer is 200 "ok".
    """

    def __init__(self, replies: Iterable[Reply] = ()) -> None:
        self.requests: list[RecordedRequest] = []
        self._replies: list[Reply] = list(replies)
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), self._handler_class())
        # A short poll interval keeps shutdown (and so each test's teardown) fast.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def script(self, *replies: Reply) -> None:
        """Answer the next requests with `replies`, in order."""
        with self._lock:
            self._replies.extend(replies)

    def start(self) -> HttpReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> HttpReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _next_reply(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
            return self._replies.pop(0) if self._replies else Reply()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {name.lower(): value for name, value in self.headers.items()}
                reply = receiver._next_reply(
                    RecordedRequest(self.command, self.path, headers, body, time.monotonic())
                )
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            do_GET = do_POST = do_PUT = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@dataclass(frozen=True)
class ReceivedMail:
    """One message as the SMTP server got it."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


class _Sink:
    """The aiosmtpd handler: keeps messages, or answers DATA with a scripted reply."""

    def __init__(self) -> None:
        self.messages: list[ReceivedMail] = []
        self.data_replies: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_replies:
            return self.data_replies.pop(0)
        data = envelope.original_content or envelope.content
        self.messages.append(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), data))
        return "250 Message accepted for delivery"


class _FreePortController(Controller):
    """aiosmtpd's Controller bound to port 0: it learns its port before the readiness probe."""

    def _trigger_server(self) -> None:
        assert isinstance(self.server, asyncio.Server)
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


class SmtpReceiver:
    """An aiosmtpd SMTP server on 127.0.0.1 and a free port, in a thread.

    `controller_options` go to aiosmtpd's Controller/SMTP (e.g. `tls_context`,
    `require_starttls`, `ssl_context`, `authenticator`, `auth_require_tls`).
    """

    def __init__(self, **controller_options: Any) -> None:
        self._sink = _Sink()
        self._controller = _FreePortController(
            self._sink, hostname="127.0.0.1", port=0, **controller_options
        )

    @property
    def port(self) -> int:
        return int(self._controller.port)

    @property
    def messages(self) -> list[ReceivedMail]:
        return self._sink.messages

    def answer_data_with(self, *replies: str) -> None:
        """Answer the next DATA commands with `replies` (e.g. "451 4.3.0 try later")."""
        self._sink.data_replies.extend(replies)

    def start(self) -> SmtpReceiver:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> SmtpReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class PasswordAuthenticator:
    """An aiosmtpd authenticator accepting one username and password; records login attempts."""

    def __init__(self, username: str, password: str) -> None:
        self._expected = (username.encode(), password.encode())
        self.attempts: list[str] = []

    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        self.attempts.append(auth_data.login.decode())
        ok = (auth_data.login, auth_data.password) == self._expected
        return AuthResult(success=ok, handled=False)
