"""The Redis token bucket: one hash per target, decided by a Lua script on Redis's own clock,
so every worker and process shares the same buckets and the same sense of time."""

from __future__ import annotations

from typing import Any

import redis

from worker.errors import StoreError

KEY_PREFIX = "policywatch:pace:"

# KEYS[1]: the bucket hash {tat, hold}; ARGV: interval_s, burst. Returns the wait as a string
# (a Lua number would come back truncated to an integer). Same decision as local.gcra_wait.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local interval = tonumber(ARGV[1])
local burst = math.max(1, tonumber(ARGV[2]))
local state = redis.call('HMGET', KEYS[1], 'tat', 'hold')
local tat = tonumber(state[1] or '0')
local hold = tonumber(state[2] or '0')
if now < hold then
  return tostring(hold - now)
end
local tolerance = interval * (burst - 1)
if tat < now then tat = now end
if tat - now > tolerance then
  return tostring(tat - tolerance - now)
end
tat = tat + interval
redis.call('HSET', KEYS[1], 'tat', string.format('%.6f', tat))
redis.call('PEXPIRE', KEYS[1], math.ceil((math.max(tat, hold) - now) * 1000) + 1000)
return '0'
"""

# KEYS[1]: the bucket hash; ARGV: seconds. Pushes `hold` to now + seconds unless already later.
_HOLD = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tat', 'hold')
local tat = tonumber(state[1] or '0')
local hold = math.max(tonumber(state[2] or '0'), now + math.max(0, tonumber(ARGV[1])))
redis.call('HSET', KEYS[1], 'hold', string.format('%.6f', hold))
redis.call('PEXPIRE', KEYS[1], math.ceil((math.max(tat, hold) - now) * 1000) + 1000)
return 1
"""


class RedisTokenBucket:
    """Token buckets in Redis under `policywatch:pace:<key>`, expiring once idle.

    Raises StoreError when Redis cannot be reached (the message names no host or password).
    """

    def __init__(self, client: redis.Redis, prefix: str = KEY_PREFIX) -> None:
        self._client = client
        self._prefix = prefix
        self._acquire = client.register_script(_ACQUIRE)
        self._hold = client.register_script(_HOLD)

    def acquire(self, key: str, interval_s: float, burst: int = 1) -> float:
        answer = self._run(self._acquire, key, [repr(float(interval_s)), str(int(burst))])
        return max(0.0, float(answer))

    def hold(self, key: str, seconds: float) -> None:
        self._run(self._hold, key, [repr(float(seconds))])

    def _run(self, script: Any, key: str, args: list[str]) -> Any:
        try:
            return script(keys=[self._prefix + key], args=args)
        except redis.RedisError as exc:
            raise StoreError(f"pacing through Redis failed ({type(exc).__name__})") from None
