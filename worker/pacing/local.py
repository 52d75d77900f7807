"""The in-process token bucket: buckets in a dict, guarded by a lock; for one process."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


def gcra_wait(tat: float, now: float, interval_s: float, burst: int) -> tuple[float, float]:
    """One token-bucket decision, with the bucket kept as a single number (GCRA): `tat`, the
    time at which the bucket would be full again.

    Returns (new tat, 0.0) when a send may go now, or (tat unchanged, seconds to wait).
    """
    tolerance = interval_s * (max(1, burst) - 1)
    tat = max(tat, now)
    if tat - now > tolerance:
        return tat, tat - tolerance - now
    return tat + interval_s, 0.0


class LocalTokenBucket:
    """Token buckets for one process. `clock` gives monotonic seconds (injectable for tests)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._tat: dict[str, float] = {}
        self._held_until: dict[str, float] = {}

    def acquire(self, key: str, interval_s: float, burst: int = 1) -> float:
        with self._lock:
            now = self._clock()
            held = self._held_until.get(key, 0.0)
            if now < held:
                return held - now
            tat, wait = gcra_wait(self._tat.get(key, now), now, interval_s, burst)
            if wait == 0.0:
                self._tat[key] = tat
            return wait

    def hold(self, key: str, seconds: float) -> None:
        with self._lock:
            until = self._clock() + max(0.0, seconds)
            self._held_until[key] = max(self._held_until.get(key, 0.0), until)
