"""Reading a feed from a local file: a `file://` URL or a plain path.

The file is read afresh on every poll unless it is unchanged: its modification time (in
nanoseconds) and size make an ETag, so an unchanged file answers like an HTTP 304. Its
modification time also goes into `last_modified`, as an HTTP date, for people to read.
Whatever is re-read, the caller drops the items it has already seen by id.
"""

from __future__ import annotations

import stat
from email.utils import formatdate
from pathlib import Path
from urllib.parse import unquote, urlsplit

from worker.config import FeedConfig
from worker.errors import FetchError, SourceError
from worker.models import FeedState
from worker.sources.http import DEFAULT_MAX_BYTES, FetchResult

_CONTENT_TYPES = {
    ".jsonl": "application/x-ndjson",
    ".ndjson": "application/x-ndjson",
    ".xml": "application/xml",
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".rdf": "application/rdf+xml",
}


def resolve_path(url: str, base_dir: Path) -> Path:
    """The file a feed URL names; a relative path is taken from `base_dir` (the config's folder).

    Raises SourceError for a file URL that names another host.
    """
    if url[:5].lower() == "file:":
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            raise SourceError(f"{url}: a file URL must not name a host ({parts.netloc!r})")
        path = Path(unquote(parts.path))
    else:
        path = Path(url).expanduser()
    return path if path.is_absolute() else base_dir / path


def fetch_file(
    feed: FeedConfig,
    state: FeedState | None,
    base_dir: Path,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> FetchResult:
    """Read `feed.url` as a local file; `body=None` (status 304) when it is unchanged.

    Raises FetchError: retryable for a missing file (it may yet appear) or one over
    `max_bytes`, not retryable for a folder, a device or a file we may not read.
    """
    path = resolve_path(feed.url, base_dir)
    try:
        info = path.stat()
    except FileNotFoundError as exc:
        raise FetchError(f"{path}: no such file", retryable=True) from exc
    except OSError as exc:
        raise FetchError(f"{path}: {exc.strerror or exc}", retryable=False) from exc
    if not stat.S_ISREG(info.st_mode):
        raise FetchError(f"{path}: not a regular file", retryable=False)
    etag = f'"{info.st_mtime_ns:x}-{info.st_size:x}"'
    content_type = _CONTENT_TYPES.get(path.suffix.lower(), "")
    unchanged = state is not None and state.etag == etag and state.url in ("", feed.url)
    body = None if unchanged else _read(path, max_bytes)
    return FetchResult(
        status=304 if body is None else 200,
        body=body,
        etag=etag,
        last_modified=formatdate(info.st_mtime, usegmt=True),
        final_url=path.resolve().as_uri(),
        content_type=content_type,
        headers={},  # no HTTP here: the parser goes by the document's own declaration
    )


def _read(path: Path, max_bytes: int) -> bytes:
    try:
        with path.open("rb") as file:
            data = file.read(max_bytes + 1)
    except FileNotFoundError as exc:
        raise FetchError(f"{path}: no such file", retryable=True) from exc
    except OSError as exc:
        raise FetchError(f"{path}: {exc.strerror or exc}", retryable=False) from exc
    if len(data) > max_bytes:
        raise FetchError(f"{path}: larger than {max_bytes} bytes", retryable=True)
    return data
