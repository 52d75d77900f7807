"""The console channel: a readable text rendering printed to standard output."""

from __future__ import annotations

import sys
from typing import TextIO

from worker.config import ConsoleChannelConfig
from worker.digest_view import render_digest
from worker.errors import DeliveryError
from worker.models import Notification
from worker.rendering import render_notification


class ConsoleChannel:
    """Prints each notification with the `console.txt` template.

    `stream` defaults to the standard output of the moment of sending. Raises a retryable
    DeliveryError when the stream cannot be written (e.g. a closed pipe).
    """

    def __init__(
        self, name: str, config: ConsoleChannelConfig, *, stream: TextIO | None = None
    ) -> None:
        self.name = name
        self._config = config
        self._stream = stream

    def __repr__(self) -> str:
        return f"ConsoleChannel(name={self.name!r})"

    def send(self, notification: Notification) -> str:
        if notification.kind == "digest":
            config = self._config
            text, _, _ = render_digest(notification, config.timezone, config.digest_max_stories)
        else:
            text = render_notification("console.txt", notification)
        stream = self._stream or sys.stdout
        try:
            stream.write(text if text.endswith("\n") else text + "\n")
            stream.flush()
        except (OSError, ValueError) as exc:
            message = f"console channel {self.name!r}: cannot write ({type(exc).__name__})"
            raise DeliveryError(message, retryable=True) from exc
        count = len(notification.alerts)
        return f"printed {count} alert{'s' if count != 1 else ''}"
