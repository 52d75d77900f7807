"""The Apprise channel: the hundred-odd services Apprise knows, through one channel type.

Apprise is an optional dependency (`pip install 'policywatch[apprise]'`). Its URLs carry
tokens, so they never appear in errors or logs, and what Apprise itself logged is shown only
with every piece of the URL blanked out.
"""

from __future__ import annotations

import logging
import re
from types import ModuleType
from typing import Any

from worker.config import AppriseChannelConfig
from worker.errors import ConfigError, ConfigProblem, DeliveryError
from worker.models import Notification
from worker.rendering import clean_text, render_notification, summary_line, truncate_chars

INSTALL_HINT = "the apprise package, which is optional: pip install 'policywatch[apprise]'"
_URL_PIECE = re.compile(r"[A-Za-z0-9%_\-~]{4,}")


def _import_apprise() -> ModuleType:
    import apprise

    return apprise


def redact(text: str, url: str) -> str:
    """`text` with every run of four or more URL characters found in `url` replaced by ***."""
    scheme = url.partition(":")[0]
    for piece in sorted(set(_URL_PIECE.findall(url)) - {scheme}, key=len, reverse=True):
        text = text.replace(piece, "***")
    return text


class AppriseChannel:
    """Sends a plain-text message through Apprise to the one service its `url` names
    (e.g. `tgram://BOT_TOKEN/CHAT_ID`, `ntfy://topic`, `json://host/path`).

    Apprise reports only success or failure, not whether a retry can help, so every failure is
    a retryable DeliveryError (with Apprise's last warning, the URL blanked out); the delivery's
    attempt limit ends it. A fresh Apprise object per send keeps Apprise's own throttle from
    sleeping in a delivery thread: pacing is `min_interval_s`'s job. Apprise's own log records
    can carry whole URLs (tokens and all), so building this channel stops them from reaching
    the application's log handlers; they still reach Apprise's per-call capture.
    Raises ConfigError when apprise is not installed or does not understand the URL.
    """

    def __init__(self, name: str, config: AppriseChannelConfig) -> None:
        self.name = name
        self._config = config
        try:
            self._apprise = _import_apprise()
        except ImportError:
            problem = ConfigProblem("", None, f"channels.{name}.type", "apprise", INSTALL_HINT)
            raise ConfigError([problem]) from None
        logging.getLogger("apprise").propagate = False
        if self._service() is None:
            expected = "a URL Apprise understands, e.g. tgram://TOKEN/CHAT or json://host/path"
            problem = ConfigProblem("", None, f"channels.{name}.url", "(hidden)", expected)
            raise ConfigError([problem])

    def __repr__(self) -> str:
        return f"AppriseChannel(name={self.name!r})"

    @property
    def label(self) -> str:
        return f"apprise channel {self.name!r}"

    def _service(self) -> Any:
        return self._apprise.Apprise.instantiate(self._config.url, suppress_exceptions=True)

    def send(self, notification: Notification) -> str:
        service = self._service()
        if service is None:
            raise DeliveryError(f"{self.label}: Apprise cannot use the URL", retryable=False)
        notifier = self._apprise.Apprise()
        notifier.add(service)
        result = notifier.notify(
            body=render_notification("apprise.txt", notification),
            title=truncate_chars(f"policywatch: {summary_line(notification)}", 250),
            body_format=self._apprise.NotifyFormat.TEXT,
            timeout=self._config.timeout_s,
        )
        if result:
            names = sorted({str(r.name) for r in result}) or ["service"]
            return f"accepted by {', '.join(names)}"
        status = getattr(result, "status", None)
        said = self._last_warning(result)
        why = f"{getattr(status, 'name', 'FAILURE').lower()}" + (f": {said}" if said else "")
        raise DeliveryError(f"{self.label}: Apprise reported {why}", retryable=True)

    def _last_warning(self, result: Any) -> str:
        entries = [e for e in result.logs() if e.level in ("WARNING", "ERROR", "CRITICAL")]
        if not entries:
            return ""
        text = clean_text(redact(str(entries[-1].message), self._config.url))
        return truncate_chars(text, 200)
