"""Per-target pacing: how long a target must wait before its next send.

A pacer keeps one token bucket per target key: at most one send every `interval_s` seconds,
with room for `burst` sends at once. `acquire` never sleeps: it takes a slot and answers 0, or
takes nothing and answers the seconds until a slot frees, so the caller reschedules the work in
the store instead of holding a thread. `hold` stops a key for a while (a target's Retry-After),
whatever its bucket says.

Two backends, one behaviour: `LocalTokenBucket` (one process: the embedded runtime) and
`RedisTokenBucket` (shared by every worker through Redis). `build_pacer` picks by the state URL.
"""

from __future__ import annotations

from typing import Protocol
from urllib.parse import urlsplit

from worker.models import stable_hash
from worker.pacing.local import LocalTokenBucket

__all__ = ["LocalTokenBucket", "Pacer", "build_pacer", "pace_key"]

REDIS_SCHEMES = ("redis", "rediss", "unix")


class Pacer(Protocol):
    def acquire(self, key: str, interval_s: float, burst: int = 1) -> float:
        """Take a send slot for `key`: 0.0 when taken, else seconds until one frees (none taken)."""
        ...

    def hold(self, key: str, seconds: float) -> None:
        """Let nothing through for `key` during the next `seconds` (never shortens a hold)."""
        ...


def pace_key(channel: str, url: str = "") -> str:
    """The bucket of a target: its URL when it has one (two channels posting to one Slack
    webhook share its limit), else the channel name. The URL is a secret, so only a hash of it
    is used as the key."""
    return f"url:{stable_hash(url)}" if url else f"channel:{channel}"


def build_pacer(state_url: str) -> Pacer:
    """The pacer for a runtime whose state lives at `state_url`: shared through Redis when that
    is a Redis URL (every worker sees the same buckets), else in this process."""
    if urlsplit(state_url).scheme in REDIS_SCHEMES:
        import redis

        from worker.pacing.redis import RedisTokenBucket

        return RedisTokenBucket(redis.Redis.from_url(state_url))
    return LocalTokenBucket()
