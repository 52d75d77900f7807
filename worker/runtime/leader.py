"""The scheduler's leader lock: one Redis key that one scheduler holds at a time.

Taken with `SET key token NX PX ttl`; renewed and released only by a Lua script that first
checks the token, so a scheduler never extends or deletes a lock another one took after its
own had expired. The lock is advisory (no fencing): two schedulers may overlap for a moment
after a pause, which is why every enqueue is deduplicated as well (see dispatch.py).
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable

import redis

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def make_token() -> str:
    """host:pid:random, so `redis-cli GET` shows who leads."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class LeaderLock:
    """A lease on `key` for `ttl_s` seconds.

    `held()` is this process's own, conservative view: true until `ttl_s` after the moment
    the last successful acquire or renew was *sent*, so it turns false before Redis could
    hand the key to someone else. Redis errors propagate (redis.RedisError).
    """

    def __init__(
        self,
        client: redis.Redis,
        key: str,
        ttl_s: float,
        token: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._r = client
        self.key = key
        self.ttl_ms = max(1, int(ttl_s * 1000))
        self.token = token or make_token()
        self._clock = clock
        self._valid_until = 0.0
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)

    def acquire(self) -> bool:
        """Take the lock if it is free (or already ours)."""
        sent = self._clock()
        if self._r.set(self.key, self.token, nx=True, px=self.ttl_ms) or self._renew(
            keys=[self.key], args=[self.token, self.ttl_ms]
        ):
            self._valid_until = sent + self.ttl_ms / 1000
            return True
        return False

    def renew(self) -> bool:
        """Extend our lock; false if it is no longer ours."""
        sent = self._clock()
        if self._renew(keys=[self.key], args=[self.token, self.ttl_ms]):
            self._valid_until = sent + self.ttl_ms / 1000
            return True
        self._valid_until = 0.0
        return False

    def release(self) -> bool:
        """Give the lock up now (so a standby takes over at once); false if it was not ours."""
        self._valid_until = 0.0
        return bool(self._release(keys=[self.key], args=[self.token]))

    def held(self) -> bool:
        return self._clock() < self._valid_until

    def holder(self) -> str | None:
        value = self._r.get(self.key)
        return value.decode() if isinstance(value, bytes) else value
