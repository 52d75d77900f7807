"""The file channel: a JSON Lines outbox, one line per alert."""

from __future__ import annotations

import json
import os
from pathlib import Path

from worker.config import FileChannelConfig
from worker.errors import DeliveryError
from worker.models import Notification
from worker.rendering import AlertView

FILE_VERSION = "1"


def outbox_lines(channel: str, notification: Notification) -> bytes:
    """One JSON object per alert, each carrying the delivery id, as UTF-8 JSON Lines."""
    lines = []
    for alert in notification.alerts:
        record = {
            "version": FILE_VERSION,
            "delivery_id": notification.delivery_id,
            "channel": channel,
            "kind": notification.kind,
            **AlertView.of(alert).as_dict(),
        }
        lines.append(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
    return "".join(lines).encode("utf-8")


class FileChannel:
    """Appends one JSON line per alert to `path` (`~` expanded), creating its folder.

    All lines of one notification go out in one append and are fsync'ed. A retry after a
    crash can repeat lines: readers drop repeats by `delivery_id` and `id`. Raises
    DeliveryError: not retryable for permission or path-shape problems, retryable otherwise
    (e.g. a full disk).
    """

    def __init__(self, name: str, config: FileChannelConfig) -> None:
        self.name = name
        self.path = Path(config.path).expanduser()

    def __repr__(self) -> str:
        return f"FileChannel(name={self.name!r}, path={str(self.path)!r})"

    def send(self, notification: Notification) -> str:
        data = outbox_lines(self.name, notification)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("ab") as outbox:
                outbox.write(data)
                outbox.flush()
                os.fsync(outbox.fileno())
        except (PermissionError, IsADirectoryError, NotADirectoryError, FileExistsError) as exc:
            message = f"file channel {self.name!r}: cannot write {self.path}: {exc.strerror}"
            raise DeliveryError(message, retryable=False) from exc
        except OSError as exc:
            message = f"file channel {self.name!r}: cannot write {self.path}: {exc.strerror}"
            raise DeliveryError(message, retryable=True) from exc
        count = len(notification.alerts)
        return f"appended {count} line{'s' if count != 1 else ''}"
