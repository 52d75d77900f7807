"""HTTP/2 where a server offers it: the feed client negotiates it over TLS (ALPN) when the
optional h2 package is installed, and conditional GET works the same over it."""

from __future__ import annotations

import importlib.util
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.channels.conftest import certificate  # noqa: F401 - the session fixture, reused
from tests.channels.factories import Certificate
from tests.conftest import need
from tests.sources.conftest import USER_AGENT
from tests.sources.feed_samples import RSS_20
from worker.config import FeedConfig
from worker.models import FeedState
from worker.runtime.embedded import make_http_client
from worker.sources import poll_source

ETAG = '"h2-v1"'


class H2FeedServer:
    """A TLS server that speaks only HTTP/2 and answers every path with RSS_20 (or 304)."""

    def __init__(self, cert: Certificate) -> None:
        import h2.config
        import h2.connection
        import h2.events

        self._h2 = (h2.config, h2.connection, h2.events)
        self.cert_file = Path(cert.cert_file)
        self.context = cert.server_context()
        self.context.set_alpn_protocols(["h2"])
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.requests: list[dict[str, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.listener.getsockname()[1]}/feed.xml"

    def __enter__(self) -> H2FeedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self.listener.close()

    def _serve(self) -> None:
        self.listener.settimeout(0.05)
        while not self._stop.is_set():
            try:
                raw, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            raw.settimeout(5)
            threading.Thread(target=self._connection, args=(raw,), daemon=True).start()

    def _connection(self, raw: socket.socket) -> None:
        config, connection, events = self._h2
        try:
            sock = self.context.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            raw.close()
            return
        conn = connection.H2Connection(config=config.H2Configuration(client_side=False))
        conn.initiate_connection()
        sock.sendall(conn.data_to_send())
        with sock:
            while data := sock.recv(65_535):
                for event in conn.receive_data(data):
                    if isinstance(event, events.RequestReceived):
                        headers = {
                            (k.decode() if isinstance(k, bytes) else k): (
                                v.decode() if isinstance(v, bytes) else v
                            )
                            for k, v in event.headers
                        }
                        self.requests.append(headers)
                        self._answer(conn, event.stream_id, headers)
                sock.sendall(conn.data_to_send())

    def _answer(self, conn: Any, stream_id: int, headers: dict[str, str]) -> None:
        if headers.get("if-none-match") == ETAG:
            conn.send_headers(stream_id, [(":status", "304"), ("etag", ETAG)], end_stream=True)
            return
        conn.send_headers(
            stream_id,
            [
                (":status", "200"),
                ("content-type", "application/rss+xml"),
                ("content-length", str(len(RSS_20))),
                ("etag", ETAG),
            ],
        )
        conn.send_data(stream_id, RSS_20, end_stream=True)


@pytest.fixture
def h2_server(certificate: Certificate) -> Iterator[H2FeedServer]:  # noqa: F811
    need(importlib.util.find_spec("h2") is not None, "the optional h2 package is not installed")
    with H2FeedServer(certificate) as server:
        yield server


def test_a_feed_is_fetched_over_http2_and_answers_304_there_too(
    h2_server: H2FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(h2_server.cert_file))
    feed = FeedConfig(name="h2", url=h2_server.url)

    with make_http_client(USER_AGENT, http2=True) as client:
        first = poll_source(feed, None, client, USER_AGENT)
        again = poll_source(feed, FeedState("h2", feed.url, etag=first.etag), client, USER_AGENT)

    assert len(first.items) == 3 and first.etag == ETAG
    assert again.not_modified
    assert [r[":method"] for r in h2_server.requests] == ["GET", "GET"]
    assert h2_server.requests[1]["if-none-match"] == ETAG
    assert h2_server.requests[0]["user-agent"] == USER_AGENT
