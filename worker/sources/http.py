"""Fetching a feed over HTTP(S): conditional, capped, under one deadline.

- Conditional GET: the stored ETag and Last-Modified go back verbatim as If-None-Match and
  If-Modified-Since; a 304 is a FetchResult with `body=None`, not an error.
- The body is streamed and decompressed here (gzip, deflate) with a cap on the decompressed
  size, so neither a huge feed nor a gzip bomb fills memory.
- `feed.timeout_s` is a deadline for the whole fetch, redirects included. It is checked as each
  chunk arrives; a server that goes silent is cut by the read timeout (at most the time left
  when the request started), so a fetch ends within twice `timeout_s` at worst.
- Redirects (at most 5) are followed here, by hand, and only to http or https.
- Failures raise FetchError: network errors, timeouts, 408, 429 and 5xx are retryable (with
  the server's Retry-After, in seconds, when it sent one); other statuses are not, and a 410
  says the feed is gone.
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass, field

import httpx

from worker.config import FeedConfig
from worker.errors import FetchError
from worker.models import FeedState
from worker.retry_after import parse_retry_after

MAX_REDIRECTS = 5
DEFAULT_MAX_BYTES = 5_000_000
_SCHEMES = ("http", "https")
_RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})
_PERMANENT = frozenset({301, 308})
_ACCEPT = (
    "application/atom+xml, application/rss+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, application/x-ndjson;q=0.8, "
    "application/jsonl;q=0.8, */*;q=0.5"
)


@dataclass(frozen=True, slots=True)
class FetchResult:
    """One fetch's outcome. `body` is None when the source was not modified (HTTP 304).

    `etag` and `last_modified` are the validators to store for the next conditional GET
    (taken verbatim from the response, or kept from the state on a 304). `permanent_url` is
    set when every redirect hop was permanent (301/308): the config may move to it.
    `headers` have lowercase names.
    """

    status: int
    body: bytes | None
    etag: str = ""
    last_modified: str = ""
    final_url: str = ""
    content_type: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    permanent_url: str = ""

    @property
    def not_modified(self) -> bool:
        return self.body is None


def fetch(
    feed: FeedConfig,
    state: FeedState | None,
    client: httpx.Client,
    user_agent: str,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> FetchResult:
    """GET `feed.url` conditionally; see the module docstring. Raises FetchError."""
    deadline = time.monotonic() + feed.timeout_s
    headers = _request_headers(feed, state, user_agent)
    url = feed.url
    permanent_url = ""
    all_permanent = True
    for _hop in range(MAX_REDIRECTS + 1):
        _require_http(url, feed.url)
        response = _open(client, url, headers, feed, deadline)
        try:
            location = response.headers.get("location")
            if response.is_redirect and location:
                next_url = str(response.url.join(location))
                _require_http(next_url, url)
                all_permanent = all_permanent and response.status_code in _PERMANENT
                permanent_url = next_url if all_permanent else ""
                url = next_url
                continue
            if response.status_code == 304:
                return _result(response, None, state, permanent_url)
            if not 200 <= response.status_code < 300:
                raise _status_error(feed, response)
            body = _read_body(response, feed, deadline, max_bytes)
            return _result(response, body, state, permanent_url)
        finally:
            response.close()
    raise FetchError(
        f"{feed.url}: more than {MAX_REDIRECTS} redirects (last to {url})", retryable=False
    )


def _request_headers(feed: FeedConfig, state: FeedState | None, user_agent: str) -> dict[str, str]:
    headers = {"User-Agent": user_agent, "Accept": _ACCEPT, "Accept-Encoding": "gzip, deflate"}
    # Validators belong to the URL they came from; a feed whose URL changed starts afresh.
    if state is not None and (not state.url or state.url == feed.url):
        if state.etag:
            headers["If-None-Match"] = state.etag
        if state.last_modified:
            headers["If-Modified-Since"] = state.last_modified
    return headers


def _require_http(url: str, came_from: str) -> None:
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme not in _SCHEMES:
        raise FetchError(
            f"{came_from}: refused to fetch {url!r}: only http and https URLs are followed",
            retryable=False,
        )


def _open(
    client: httpx.Client, url: str, headers: dict[str, str], feed: FeedConfig, deadline: float
) -> httpx.Response:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise FetchError(f"{feed.url}: no answer within {feed.timeout_s:g} s", retryable=True)
    try:
        request = client.build_request("GET", url, headers=headers, timeout=remaining)
        return client.send(request, stream=True, follow_redirects=False)
    except httpx.TimeoutException as exc:
        raise FetchError(f"{url}: timed out ({type(exc).__name__})", retryable=True) from exc
    except httpx.InvalidURL as exc:
        raise FetchError(f"{url}: not a valid URL: {exc}", retryable=False) from exc
    except httpx.HTTPError as exc:
        raise FetchError(f"{url}: {type(exc).__name__}: {exc}", retryable=True) from exc


def _status_error(feed: FeedConfig, response: httpx.Response) -> FetchError:
    status = response.status_code
    where = f"{feed.url}: HTTP {status} {response.reason_phrase}".rstrip()
    if status == 410:
        return FetchError(
            f"{where}: the feed is gone for good; remove it or point it at its new URL",
            retryable=False,
            status=status,
        )
    if status in _RETRYABLE or status >= 500:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        when = f"; retry after {retry_after:g} s" if retry_after is not None else ""
        return FetchError(
            f"{where}{when}", retryable=True, retry_after_s=retry_after, status=status
        )
    return FetchError(where, retryable=False, status=status)


def _read_body(
    response: httpx.Response, feed: FeedConfig, deadline: float, max_bytes: int
) -> bytes:
    declared = response.headers.get("content-length", "")
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if declared.isdigit() and encoding in ("", "identity") and int(declared) > max_bytes:
        raise _too_large(feed, max_bytes, f"Content-Length says {declared}")
    decoder = _Decoder(encoding, feed.url)
    chunks: list[bytes] = []
    size = 0
    try:
        for raw in response.iter_raw():
            if time.monotonic() > deadline:
                raise FetchError(
                    f"{feed.url}: download not finished within {feed.timeout_s:g} s "
                    f"({size} bytes so far)",
                    retryable=True,
                )
            data = decoder.decode(raw, max_bytes - size + 1)
            size += len(data)
            if size > max_bytes:
                raise _too_large(feed, max_bytes, "the body ran past it")
            chunks.append(data)
        tail = decoder.flush(max_bytes - size + 1)
    except httpx.TimeoutException as exc:
        raise FetchError(f"{feed.url}: timed out reading the body", retryable=True) from exc
    except httpx.HTTPError as exc:
        raise FetchError(f"{feed.url}: {type(exc).__name__}: {exc}", retryable=True) from exc
    if size + len(tail) > max_bytes:
        raise _too_large(feed, max_bytes, "the body ran past it")
    chunks.append(tail)
    return b"".join(chunks)


def _too_large(feed: FeedConfig, max_bytes: int, why: str) -> FetchError:
    # The feed may shrink again (old entries roll off), so trying later can help.
    return FetchError(f"{feed.url}: body larger than {max_bytes} bytes: {why}", retryable=True)


class _Decoder:
    """Content-Encoding undone chunk by chunk, never producing more than asked for."""

    def __init__(self, encoding: str, url: str) -> None:
        self._url = url
        self._raw_deflate = False
        if encoding in ("", "identity"):
            self._inflater = None
        elif encoding in ("gzip", "x-gzip"):
            self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._inflater = zlib.decompressobj()
            self._raw_deflate = True  # some servers send raw deflate; see decode()
        else:
            raise FetchError(f"{url}: unsupported Content-Encoding {encoding!r}", retryable=False)

    def decode(self, data: bytes, limit: int) -> bytes:
        if self._inflater is None:
            return data
        try:
            out = self._inflater.decompress(self._inflater.unconsumed_tail + data, limit)
        except zlib.error as exc:
            if not self._raw_deflate:
                raise FetchError(f"{self._url}: corrupt compressed body: {exc}") from exc
            self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
            self._raw_deflate = False
            return self.decode(data, limit)
        self._raw_deflate = False
        return out

    def flush(self, limit: int) -> bytes:
        if self._inflater is None:
            return b""
        return self.decode(b"", limit)


def _result(
    response: httpx.Response, body: bytes | None, state: FeedState | None, permanent_url: str
) -> FetchResult:
    etag = response.headers.get("etag", "")
    last_modified = response.headers.get("last-modified", "")
    if body is None and state is not None:
        etag = etag or state.etag
        last_modified = last_modified or state.last_modified
    return FetchResult(
        status=response.status_code,
        body=body,
        etag=etag,
        last_modified=last_modified,
        final_url=str(response.url),
        content_type=response.headers.get("content-type", ""),
        headers={k.lower(): v for k, v in response.headers.items()},
        permanent_url=permanent_url,
    )
