"""The generic JSON webhook channel, signed per Standard Webhooks.

Also home of the HTTP delivery rules the Slack channel shares: one POST without redirects, and
the mapping of answers to DeliveryError. Webhook URLs and header values are secrets: they never
appear in an exception message; exceptions from httpx are replaced, not chained.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from worker.config import WebhookChannelConfig
from worker.errors import ConfigError, ConfigProblem, DeliveryError, TargetGoneError
from worker.models import Notification
from worker.rendering import AlertView
from worker.retry_after import parse_retry_after

WEBHOOK_VERSION = "1"
USER_AGENT = "policywatch/0.1"
# Enough for an error code or a short message; a target's body is never read in full.
_BODY_PREVIEW_BYTES = 4096


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    """What a target answered: status, headers and the first few KiB of the body."""

    status: int
    reason: str
    headers: httpx.Headers
    body: bytes


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # Building a context loads the CA bundle: about 60 ms of CPU, which a client made per send
    # would pay on every alert. One context, made once, is shared (SSLContext is thread-safe).
    return httpx.create_ssl_context()


def post(
    label: str, url: str, body: bytes, headers: Mapping[str, str], timeout_s: float
) -> HttpAnswer:
    """POST `body` to `url` once, following no redirect.

    `label` (e.g. "slack channel 'desk'") starts every error message; the URL never does.
    Raises DeliveryError: retryable for timeouts and network errors, not for a bad URL.
    """
    try:
        with (
            httpx.Client(
                timeout=httpx.Timeout(timeout_s), follow_redirects=False, verify=_tls_context()
            ) as client,
            client.stream("POST", url, content=body, headers=headers) as response,
        ):
            preview = b""
            for chunk in response.iter_bytes():
                preview += chunk
                if len(preview) >= _BODY_PREVIEW_BYTES:
                    break
            return HttpAnswer(
                response.status_code,
                response.reason_phrase,
                response.headers,
                preview[:_BODY_PREVIEW_BYTES],
            )
    # `from None` everywhere: httpx messages and tracebacks can carry the URL.
    except httpx.TimeoutException as exc:
        message = f"{label}: timed out after {timeout_s:g}s ({type(exc).__name__})"
        raise DeliveryError(message, retryable=True) from None
    except (httpx.UnsupportedProtocol, httpx.InvalidURL, httpx.LocalProtocolError) as exc:
        message = f"{label}: the URL or a header is not usable ({type(exc).__name__})"
        raise DeliveryError(message, retryable=False) from None
    except httpx.HTTPError as exc:
        message = f"{label}: network error ({type(exc).__name__})"
        raise DeliveryError(message, retryable=True) from None
    except (UnicodeError, ValueError) as exc:
        message = f"{label}: the URL or a header is not usable ({type(exc).__name__})"
        raise DeliveryError(message, retryable=False) from None


def raise_for_answer(label: str, answer: HttpAnswer, detail: str = "") -> None:
    """Return quietly on 2xx; otherwise raise the DeliveryError the status calls for.

    404/410 raise TargetGoneError; 408, 429 and 5xx are retryable (with Retry-After when sent);
    3xx (redirects are not followed) and other 4xx are not. `detail` is appended to the message
    and must be safe to log.
    """
    status = answer.status
    if 200 <= status < 300:
        return
    message = f"{label}: HTTP {status}" + (f" {detail}" if detail else "")
    if status in (404, 410):
        raise TargetGoneError(message)
    if status in (408, 429) or status >= 500:
        retry_after_s = parse_retry_after(answer.headers.get("retry-after"))
        raise DeliveryError(message, retryable=True, retry_after_s=retry_after_s)
    if 300 <= status < 400:
        raise DeliveryError(f"{message} (redirects are not followed)", retryable=False)
    raise DeliveryError(message, retryable=False)


def signing_key(secret: str) -> bytes:
    """The HMAC key of a Standard Webhooks secret: base64 after an optional `whsec_` prefix.

    Raises ValueError (without the secret in it) when that is not base64 or is empty.
    """
    encoded = secret.removeprefix("whsec_")
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("whsec_ followed by base64") from None
    if not key:
        raise ValueError("whsec_ followed by base64 of at least one byte")
    return key


def sign(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value: `v1,` + base64 HMAC-SHA256 of "{id}.{timestamp}.{body}"."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def webhook_payload(notification: Notification) -> dict[str, Any]:
    """The version-1 webhook body: identical for every attempt of one delivery."""
    return {
        "version": WEBHOOK_VERSION,
        "delivery_id": notification.delivery_id,
        "kind": notification.kind,
        "alerts": [AlertView.of(alert).as_dict() for alert in notification.alerts],
    }


class WebhookChannel:
    """POSTs a version-1 JSON body to `url`; 2xx is success.

    With a `secret`, signs per Standard Webhooks (`webhook-id` is the delivery id, stable across
    retries; `webhook-timestamp` in unix seconds). Extra `headers` from the config are sent too,
    but never override the content type or the signature headers. `clock` returns unix seconds.
    Raises DeliveryError (TargetGoneError on 404/410); see `raise_for_answer`.
    """

    def __init__(
        self,
        name: str,
        config: WebhookChannelConfig,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = name
        self._config = config
        self._clock = clock
        self._key: bytes | None = None
        if config.secret:
            try:
                self._key = signing_key(config.secret)
            except ValueError as exc:
                path = f"channels.{name}.secret"
                problem = ConfigProblem("", None, path, "(hidden)", str(exc))
                raise ConfigError([problem]) from None

    def __repr__(self) -> str:
        return f"WebhookChannel(name={self.name!r})"

    @property
    def label(self) -> str:
        return f"webhook channel {self.name!r}"

    def send(self, notification: Notification) -> str:
        body = json.dumps(
            webhook_payload(notification), ensure_ascii=False, separators=(",", ":")
        ).encode("utf-8")
        headers = httpx.Headers({"user-agent": USER_AGENT})
        try:
            headers.update(self._config.headers)
        except UnicodeError:
            # The value may be a token: name nothing but the fact.
            message = f"{self.label}: a configured header is not plain ASCII"
            raise DeliveryError(message, retryable=False) from None
        headers["content-type"] = "application/json"
        if self._key is not None:
            timestamp = int(self._clock())
            headers["webhook-id"] = notification.delivery_id
            headers["webhook-timestamp"] = str(timestamp)
            headers["webhook-signature"] = sign(
                self._key, notification.delivery_id, timestamp, body
            )
        answer = post(self.label, self._config.url, body, headers, self._config.timeout_s)
        raise_for_answer(self.label, answer)
        return f"{answer.status} {answer.reason}".strip()
