"""Open the store a `state:` URL names: sqlite:///file.db (default) or redis://host:port/db."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from worker.errors import StoreError
from worker.store.base import Store
from worker.store.sqlite import SqliteStore

__all__ = ["Store", "open_store", "sqlite_path"]


def sqlite_path(url: str, base_dir: Path) -> str:
    """`sqlite:///rel.db` → base_dir/rel.db; `sqlite:////abs/x.db` → /abs/x.db (as SQLAlchemy)."""
    rest = url[len("sqlite://") :]
    if rest in ("", "/", "/:memory:"):
        return ":memory:"
    if not rest.startswith("/"):
        raise StoreError(
            f"bad SQLite URL {url!r}: expected sqlite:///relative.db or sqlite:////abs.db"
        )
    path = rest[1:]
    return path if path.startswith("/") else str(base_dir / path)


def open_store(url: str, base_dir: Path | None = None) -> Store:
    """Open the store for `url`. Raises StoreError for an unknown scheme or unusable store."""
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        return SqliteStore(sqlite_path(url, base_dir or Path.cwd()))
    if scheme in ("redis", "rediss", "unix"):
        try:
            from worker.store.redis import RedisStore  # type: ignore[import-not-found,unused-ignore]
        except ImportError as exc:
            raise StoreError(f"the Redis store is not available: {exc}") from exc
        return RedisStore.from_url(url)
    raise StoreError(
        f"unknown state URL {url!r}: expected sqlite:///file.db or redis://host:port/db"
    )
