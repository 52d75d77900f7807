"""Config reload: re-read the config file on SIGHUP, or when its content changes.

`ConfigWatcher` reads and validates the file in its own thread and hands a valid new Settings
to `apply` (the runtime's `apply_settings`). A new config that does not validate, or that the
runtime refuses, is logged problem by problem and the running config is kept. A signal handler
only calls `request()`, which sets an event: nothing heavier runs inside the handler.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from pathlib import Path

from worker.config import Settings, load_settings
from worker.errors import ConfigError
from worker.logs import protect, secrets_of
from worker.recorder import NULL_RECORDER, Recorder

log = logging.getLogger(__name__)


def _fingerprint(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None  # mid-save by an editor, say: look again at the next check


class ConfigWatcher:
    """Reloads `path` on `request()` and, with `watch`, whenever its bytes change (checked
    every `check_every_s` seconds; a touch without a change does nothing).

    `apply(settings)` swaps the new config in; it may raise ConfigError to refuse it.
    `load` reads and validates a file (raises ConfigError).
    """

    def __init__(
        self,
        path: str | Path,
        apply: Callable[[Settings], None],
        *,
        watch: bool = True,
        check_every_s: float = 2.0,
        load: Callable[[Path], Settings] = load_settings,
        recorder: Recorder = NULL_RECORDER,
    ) -> None:
        self.path = Path(path)
        self._apply = apply
        self._watch = watch
        self._check_every_s = check_every_s
        self._load = load
        self._recorder = recorder
        self._requested = threading.Event()
        self._stop = threading.Event()
        self._seen = _fingerprint(self.path)
        self._thread = threading.Thread(target=self._run, name="pw-config", daemon=True)

    def start(self) -> ConfigWatcher:
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        self._requested.set()
        self._thread.join(timeout=10)

    def request(self) -> None:
        """Ask for a reload (safe to call from a signal handler)."""
        self._requested.set()

    def reload(self) -> bool:
        """Read, validate and apply the file now. True when the new config runs."""
        self._seen = _fingerprint(self.path)
        try:
            settings = self._load(self.path)
            protect(secrets_of(settings))
            self._apply(settings)
        except ConfigError as exc:
            self._rejected(exc)
            return False
        except Exception:  # a reload boundary: whatever went wrong, the old config runs on
            log.exception("config reload of %s failed; keeping the running config", self.path)
            self._recorder.reloaded("rejected")
            return False
        log.info(
            "config reloaded from %s: %d watchlists, %d feeds, %d channels",
            self.path,
            len(settings.watchlists),
            len(settings.feeds),
            len(settings.channels),
        )
        self._recorder.reloaded("applied")
        return True

    def _rejected(self, exc: ConfigError) -> None:
        log.error(
            "config reload of %s rejected (%d problems); keeping the running config",
            self.path,
            len(exc.problems),
        )
        for problem in exc.problems:
            log.error("config problem: %s", problem)
        self._recorder.reloaded("rejected")

    def _run(self) -> None:
        while not self._stop.is_set():
            requested = self._requested.wait(self._check_every_s if self._watch else None)
            self._requested.clear()
            if self._stop.is_set():
                return
            if requested:
                log.info("reload requested: reading %s", self.path)
                self.reload()
            elif self._watch:
                current = _fingerprint(self.path)
                if current is not None and current != self._seen:
                    log.info("%s changed: reloading", self.path)
                    self.reload()
