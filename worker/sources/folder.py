"""A watched folder: each file dropped in is read once, then moved to `done/` or `failed/`.

Which files: regular files directly in the folder (not in subfolders, not symlinks), not
hidden (`.name`) and not named like a download in progress (`.tmp`, `.part`, `.partial`,
`.crdownload`, `.swp`), whose size and modification time have not changed for SETTLE_S
seconds (a file still being written waits for the next poll). Writers should write the file
elsewhere, or under a hidden or `.tmp` name, and rename it into the folder when complete. At most
MAX_FILES_PER_POLL files are read per poll, oldest first.

How they are read, by extension: `.jsonl`, `.ndjson`, `.jsonlines` as JSON Lines; `.json` as a
JSON Feed, else as one item object or an array of them; `.xml`, `.rss`, `.atom`, `.rdf` as
RSS or Atom. Items have the same shape and limits as everywhere else.

Once only: a file that cannot be read (unknown extension, over the feed's `max_bytes`, not
a feed, not one good item) is moved to `failed/` at once, with its reason in
`failed/<name>.error.txt`. A file that was read is moved to `done/` by `mark_done` after its
items are stored (the runtime calls it after processing), so a crash in between leaves the
file in place to be read again, and its items are then recognised as already seen. A name
already taken in `done/` or `failed/` gets the time appended. The folder must be writable.
"""

from __future__ import annotations

import logging
import os
import stat
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from worker.config import FeedConfig
from worker.errors import FetchError, SourceError
from worker.models import Item
from worker.sources.feed import parse_feed
from worker.sources.items import ParsedItems
from worker.sources.jsonfeed import looks_like_json_feed, parse_json_feed
from worker.sources.jsonl import parse_json_items, parse_jsonl
from worker.sources.local import resolve_path

log = logging.getLogger(__name__)

SETTLE_S = 2.0
MAX_FILES_PER_POLL = 100
DONE = "done"
FAILED = "failed"
_IN_PROGRESS = (".tmp", ".part", ".partial", ".crdownload", ".swp")
_JSONL = (".jsonl", ".ndjson", ".jsonlines")
_XML = (".xml", ".rss", ".atom", ".rdf")


@dataclass(frozen=True, slots=True)
class FolderBatch:
    """What one poll of a folder found: items from the files read (`consumed`, absolute paths,
    to be passed to `mark_done` once the items are stored), and what was odd about them."""

    folder: Path
    items: list[Item] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    consumed: list[str] = field(default_factory=list)


def poll_folder(
    feed: FeedConfig, base_dir: Path, clock: Callable[[], float] = time.time
) -> FolderBatch:
    """Read the settled files in `feed.url` (a folder; relative to `base_dir`).

    Raises FetchError for a folder that is missing (retryable: it may yet appear), not a
    folder, or not writable.
    """
    folder = resolve_path(feed.url, base_dir)
    try:
        info = folder.stat()
    except FileNotFoundError as exc:
        raise FetchError(f"{folder}: no such folder", retryable=True) from exc
    except OSError as exc:
        raise FetchError(f"{folder}: {exc.strerror or exc}", retryable=False) from exc
    if not stat.S_ISDIR(info.st_mode):
        raise FetchError(f"{folder}: not a folder", retryable=False)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise FetchError(
            f"{folder}: not writable, so read files could not be moved to {DONE}/",
            retryable=False,
        )
    batch = FolderBatch(folder)
    for path in _settled_files(folder, clock()):
        try:
            parsed = _read(path, feed)
        except SourceError as exc:
            _move_failed(path, str(exc))
            batch.warnings.append(f"{path.name} moved to {FAILED}/: {exc}")
            continue
        batch.items.extend(parsed.items)
        batch.warnings.extend(f"{path.name}: {w}" for w in parsed.warnings)
        batch.consumed.append(str(path))
    return batch


def mark_done(paths: Sequence[str]) -> None:
    """Move files whose items are stored into the `done/` folder beside them."""
    for name in paths:
        path = Path(name)
        try:
            target = _free_name(path.parent / DONE, path.name)
            path.rename(target)
        except FileNotFoundError:
            continue  # another process finished it first
        except OSError as exc:
            log.error("%s: could not move to %s/ (%s); it will be read again", path, DONE, exc)


def _settled_files(folder: Path, now: float) -> list[Path]:
    found: list[tuple[float, str, Path]] = []
    with os.scandir(folder) as entries:
        for entry in entries:
            name = entry.name
            if name.startswith(".") or name.lower().endswith(_IN_PROGRESS):
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if not stat.S_ISREG(info.st_mode) or now - info.st_mtime < SETTLE_S:
                continue
            found.append((info.st_mtime, name, Path(entry.path)))
    found.sort()
    return [path for _, _, path in found[:MAX_FILES_PER_POLL]]


def _read(path: Path, feed: FeedConfig) -> ParsedItems:
    suffix = path.suffix.lower()
    if suffix not in (*_JSONL, ".json", *_XML):
        raise SourceError(
            f"unknown file type {suffix or '(none)'}: expected .jsonl, .ndjson, .json, .xml, "
            ".rss, .atom or .rdf"
        )
    try:
        with path.open("rb") as file:
            body = file.read(feed.max_bytes + 1)
    except OSError as exc:
        raise SourceError(f"cannot read: {exc.strerror or exc}") from exc
    if len(body) > feed.max_bytes:
        raise SourceError(f"larger than {feed.max_bytes} bytes")
    url = path.as_uri()
    if suffix in _JSONL:
        return parse_jsonl(body, feed.name)
    if suffix == ".json":
        if looks_like_json_feed(body[:4096]):
            return parse_json_feed(body, feed.name, {}, url)
        return parse_json_items(body, feed.name)
    return parse_feed(body, feed.name, {}, url)


def _move_failed(path: Path, reason: str) -> None:
    try:
        target = _free_name(path.parent / FAILED, path.name)
        path.rename(target)
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        target.with_name(target.name + ".error.txt").write_text(
            f"{stamp} {path.name}: {reason}\n", encoding="utf-8"
        )
        log.warning("%s moved to %s/: %s", path, FAILED, reason)
    except OSError as exc:
        log.error("%s could not be read (%s) nor moved to %s/: %s", path, reason, FAILED, exc)


def _free_name(folder: Path, name: str) -> Path:
    folder.mkdir(exist_ok=True)
    target = folder / name
    if not target.exists():
        return target
    stem, dot, suffix = name.partition(".")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    return folder / f"{stem}-{stamp}{dot}{suffix}"
