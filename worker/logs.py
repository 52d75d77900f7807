"""Log output: human lines or JSON lines on stderr, secrets redacted, context ids attached.

- `setup_logging(level, fmt)` installs one stderr handler on the root logger. Every record
  that reaches it, from policywatch or from any library (httpx, Celery, APScheduler), passes
  through a `RedactingFilter`: the formatted message, the exception text and traceback, the
  stack and every extra string field are scrubbed of configured secrets and of anything
  shaped like a credential (URL passwords, token query parameters, Slack/Discord webhook
  paths, `whsec_` keys, bearer tokens). Uncaught exceptions, in the main thread and in
  others, are routed through logging so they are scrubbed too.
- `protect(secrets)` adds secrets once the config is known (and again after a reload);
  `secrets_of(settings)` lists them: every `${VAR}` value plus the secret-bearing fields of
  channels, state and broker URLs.
- `log_context(feed=..., delivery_id=...)` attaches ids to every record logged inside it, in
  this thread; `extra={...}` attaches them to one record. The JSON format writes them as
  fields; the human format appends the ones the message does not already show.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from types import MappingProxyType, TracebackType
from typing import Any, Literal
from urllib.parse import quote, urlsplit

from worker.config import Settings

LogFormat = Literal["human", "json"]
LOG_FORMATS: tuple[LogFormat, ...] = ("human", "json")
REDACTED = "[REDACTED]"
# Shorter values would blank out ordinary words and numbers all over the logs.
MIN_SECRET_CHARS = 4

_context: ContextVar[Mapping[str, str]] = ContextVar(
    "policywatch_log_context", default=MappingProxyType({})
)

# Attributes every LogRecord has; anything else on a record came from `extra=` or a filter.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
_SECRET_FIELDS = re.compile(r"(url|password|passwd|secret|token|api_?key|webhook)$", re.I)
_CREDENTIAL_SHAPES: tuple[tuple[re.Pattern[str], str], ...] = (
    # scheme://user:password@host
    (re.compile(r"(?<=://)([^/\s:@'\"]*):[^/\s@'\"]+@"), rf"\1:{REDACTED}@"),
    # ?token=..., &sig=... and friends (Teams/Power Automate URLs carry `sig`)
    (
        re.compile(
            r"([?&](?:access_token|token|api_?key|key|secret|password|sig|signature|code)=)"
            r"[^&\s'\"#]+",
            re.I,
        ),
        rf"\1{REDACTED}",
    ),
    (
        re.compile(r"(hooks\.slack\.com/(?:services|workflows|triggers)/)[^\s'\"?#]+", re.I),
        rf"\1{REDACTED}",
    ),
    (
        re.compile(r"(discord(?:app)?\.com/api/webhooks/\d+/)[^\s'\"?#/]+", re.I),
        rf"\1{REDACTED}",
    ),
    (re.compile(r"\bxox[abposre]-[A-Za-z0-9-]+"), REDACTED),
    (re.compile(r"\bwhsec_[A-Za-z0-9+/=]+"), REDACTED),
    (re.compile(r"(\b(?:Bearer|Basic)\s+)[A-Za-z0-9._~+/=-]{8,}", re.I), rf"\1{REDACTED}"),
)


class Redactor:
    """Replaces configured secrets, and anything shaped like a credential, with [REDACTED].

    Thread-safe; `add` may be called while other threads redact.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._secrets: frozenset[str] = frozenset()
        self._pattern: re.Pattern[str] | None = None
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Redact these too (with their URL-encoded forms). Values under 4 characters are
        ignored: they would mangle every line."""
        more = {v for s in secrets for v in _variants(s) if len(v) >= MIN_SECRET_CHARS}
        with self._lock:
            if more <= self._secrets:
                return
            self._secrets = self._secrets | more
            # longest first, so a URL goes before the token inside it
            alternatives = sorted(self._secrets, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(s) for s in alternatives))

    def redact(self, text: str) -> str:
        pattern = self._pattern
        if pattern is not None:
            text = pattern.sub(REDACTED, text)
        for shape, replacement in _CREDENTIAL_SHAPES:
            text = shape.sub(replacement, text)
        return text


def _variants(secret: str) -> set[str]:
    secret = secret.strip()
    if not secret:
        return set()
    return {secret, quote(secret, safe=""), quote(secret, safe="/:?&=@")}


def _url_parts(url: str) -> set[str]:
    """A URL's secret-bearing parts: itself, its path and query (the host alone is not
    secret, the rest of a webhook URL is) and its password."""
    parts = {url}
    try:
        split = urlsplit(url)
    except ValueError:
        return parts
    if split.path not in ("", "/"):
        parts.add(split.path + (f"?{split.query}" if split.query else ""))
        parts.add(split.path)
    if split.query:
        parts.add(split.query)
    if split.password:
        parts.add(split.password)
    return parts


def secrets_of(settings: Settings) -> frozenset[str]:
    """What logs must never show: every `${VAR}` value, and in channels, `state` and `broker`
    every URL (with its path and password), password, secret, token and header value."""
    found: set[str] = set(settings.secrets)
    for channel in settings.channels.values():
        found |= _secret_fields(channel.model_dump(by_alias=False))
    for url in (settings.state, settings.broker):
        if url:
            split = urlsplit(url)
            if split.password:
                found.add(split.password)
    return frozenset(found)


def _secret_fields(data: Mapping[str, Any]) -> set[str]:
    found: set[str] = set()
    for key, value in data.items():
        if key == "headers" and isinstance(value, Mapping):
            found |= {str(v) for v in value.values() if v}
        elif isinstance(value, Mapping):
            found |= _secret_fields(value)
        elif isinstance(value, str) and value and _SECRET_FIELDS.search(key):
            found |= _url_parts(value) if "://" in value else {value}
    return found


class RedactingFilter(logging.Filter):
    """Scrubs a record in place: message (args merged in), exception text, stack, extras."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor
        self._formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        redact = self.redactor.redact
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the line (or leak its args)
            message = f"{record.msg!s} (unformattable arguments)"
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD and isinstance(value, str):
                setattr(record, key, redact(value))
        return True


class ContextFilter(logging.Filter):
    """Copies the ids of the enclosing `log_context` onto the record (extras win)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _context.get().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


@contextmanager
def log_context(**ids: str | None) -> Iterator[None]:
    """Attach ids (feed, item_id, alert_id, delivery_id, channel, ...) to every record logged
    inside the block, in this thread. Empty values are left out."""
    token = _context.set({**_context.get(), **{k: v for k, v in ids.items() if v}})
    try:
        yield
    finally:
        _context.reset(token)


def _context_of(record: logging.LogRecord) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in record.__dict__.items():
        if key in _STANDARD or key.startswith("_") or value is None:
            continue
        out[key] = value if isinstance(value, str | int | float | bool) else str(value)
    return out


class HumanFormatter(logging.Formatter):
    """`2025-04-16T12:00:00 INFO    worker.pipeline: message [feed=wire]`: context ids the
    message does not already show are appended in brackets."""

    def __init__(self) -> None:
        super().__init__(
            "%(asctime)s %(levelname)-7s %(name)s: %(message)s", datefmt="%Y-%m-%dT%H:%M:%S"
        )

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        line = super().formatMessage(record)
        message = record.getMessage()
        shown = [
            f"{key}={value}"
            for key, value in _context_of(record).items()
            if str(value) not in message
        ]
        return f"{line} [{' '.join(shown)}]" if shown else line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts (UTC, ms), level, logger, msg, the context ids and
    extras, and `exc` (the traceback) when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in _context_of(record).items():
            entry.setdefault(key, value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False)


class _PolicywatchHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler `setup_logging` installs (so a second call replaces, not adds)."""


def setup_logging(level: str = "INFO", fmt: LogFormat = "human", stream: Any = None) -> Redactor:
    """Send all logging to `stream` (stderr) in `fmt`, redacted; returns the Redactor."""
    redactor = Redactor()
    handler = _PolicywatchHandler(stream or sys.stderr)
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactingFilter(redactor))
    handler.setFormatter(JsonFormatter() if fmt == "json" else HumanFormatter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _PolicywatchHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    # Libraries speak only of trouble, unless asked for everything: at DEBUG, httpx logs each
    # request line, URL included, which is why every record is redacted.
    quiet = logging.DEBUG if level.upper() == "DEBUG" else logging.WARNING
    for noisy in ("httpx", "httpcore", "apscheduler", "urllib3"):
        logging.getLogger(noisy).setLevel(quiet)
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_uncaught_in_thread
    return redactor


def protect(secrets: Iterable[str]) -> None:
    """Redact `secrets` in every handler `setup_logging` installed."""
    values = list(secrets)
    for handler in logging.getLogger().handlers:
        for f in handler.filters:
            if isinstance(f, RedactingFilter):
                f.redactor.add(values)


def redact(text: str) -> str:
    """`text` as the installed handlers would write it: for what the CLI prints itself."""
    for handler in logging.getLogger().handlers:
        for f in handler.filters:
            if isinstance(f, RedactingFilter):
                text = f.redactor.redact(text)
    return text


def _log_uncaught(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, exc, tb)
        return
    logging.getLogger("policywatch").critical("uncaught exception", exc_info=(kind, exc, tb))


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit or args.exc_value is None:
        return
    name = args.thread.name if args.thread else "?"
    logging.getLogger("policywatch").critical(
        "uncaught exception in thread %s",
        name,
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
    )
