"""Local HTTP servers the end-to-end and memory benchmarks talk to, each in a thread.

`NewsFeed` serves an RSS feed the benchmark adds items to while a runtime polls it; it notes
when each item was first served (the poll that saw it). It answers 304 to a poll that sends
the current ETag. `FeedFarm` serves many small, unchanging feeds (200 once, then 304).
`Hook` is a webhook receiver that notes when the first alert for each item arrived.
All times are time.perf_counter() in this process, so they compare directly.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from xml.sax.saxutils import escape


@dataclass(frozen=True)
class Story:
    number: int
    title: str
    summary: str
    published: float  # unix seconds, for pubDate

    @property
    def link(self) -> str:
        return f"https://news.example.com/e2e/{self.number}"


def rss(stories: list[Story], title: str = "bench") -> bytes:
    parts = [f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}']
    parts.append("</title><link>https://news.example.com/</link><description>bench</description>")
    for s in stories:
        when = format_datetime(datetime.fromtimestamp(s.published, UTC), usegmt=True)
        parts.append(
            f"<item><title>{escape(s.title)}</title><link>{s.link}</link>"
            f"<guid>{s.link}</guid><pubDate>{when}</pubDate>"
            f"<description>{escape(s.summary)}</description></item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts).encode("utf-8")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hangs up early is not news here


class _Threaded:
    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._server = _Server(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class NewsFeed(_Threaded):
    """One RSS feed at /feed.rss showing the latest `window` stories."""

    def __init__(self, window: int = 30) -> None:
        self.window = window
        self.lock = threading.Lock()
        self.stories: list[Story] = []
        self.version = 0
        self.published_at: dict[int, float] = {}
        self.first_served: dict[int, float] = {}
        self.polls: list[float] = []
        super().__init__(self._handler())

    def publish(self, story: Story) -> None:
        with self.lock:
            self.stories.append(story)
            self.version += 1
            self.published_at[story.number] = time.perf_counter()

    def _respond(self, if_none_match: str) -> tuple[int, bytes, str]:
        arrived = time.perf_counter()
        with self.lock:
            self.polls.append(arrived)
            etag = f'"v{self.version}"'
            if if_none_match == etag:
                return 304, b"", etag
            shown = self.stories[-self.window :]
            for story in shown:
                self.first_served.setdefault(story.number, arrived)
        return 200, rss(shown), etag

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        feed = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802
                status, body, etag = feed._respond(self.headers.get("If-None-Match", ""))
                self.send_response(status)
                self.send_header("ETag", etag)
                self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


class FeedFarm(_Threaded):
    """`count` feeds at /feed/0.rss … each with `per_feed` fixed items; 304 once known."""

    def __init__(self, count: int, per_feed: int, body_chars: int = 600) -> None:
        self.count = count
        self.lock = threading.Lock()
        self.status_counts: dict[int, int] = {}
        self.first_at = 0.0
        self.last_200_at = 0.0
        filler = ("Chipmakers reported steady orders and said supply had normalised. " * 20)[
            :body_chars
        ]
        self._bodies = {
            n: rss(
                [
                    Story(n * 1000 + i, f"Feed {n} story {i}: market update", filler, 1.7e9 + i)
                    for i in range(per_feed)
                ],
                title=f"feed {n}",
            )
            for n in range(count)
        }
        super().__init__(self._handler())

    def _count(self, status: int) -> None:
        now = time.perf_counter()
        with self.lock:
            self.status_counts[status] = self.status_counts.get(status, 0) + 1
            self.first_at = self.first_at or now
            if status == 200:
                self.last_200_at = now

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        farm = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802
                try:
                    n = int(self.path.removeprefix("/feed/").removesuffix(".rss"))
                    body = farm._bodies[n]
                except (ValueError, KeyError):
                    farm._count(404)
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                etag = f'"f{n}"'
                status = 304 if self.headers.get("If-None-Match") == etag else 200
                farm._count(status)
                self.send_response(status)
                self.send_header("ETag", etag)
                self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
                payload = body if status == 200 else b""
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


class Hook(_Threaded):
    """Webhook receiver at /hook: first arrival time per story number (from the alert link)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: dict[int, float] = {}
        self.requests = 0
        super().__init__(self._handler())

    def _record(self, body: bytes) -> None:
        arrived = time.perf_counter()
        alerts = json.loads(body).get("alerts", [])
        with self.lock:
            self.requests += 1
            for alert in alerts:
                link = str(alert.get("link") or "")
                if "/e2e/" in link:
                    number = int(link.rsplit("/", 1)[1])
                    self.received.setdefault(number, arrived)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        hook = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                hook._record(self.rfile.read(length))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
