"""The email channel: multipart/alternative (text, then HTML) over SMTP with verified TLS."""

from __future__ import annotations

import contextlib
import re
import smtplib
import ssl
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from worker.config import EmailChannelConfig
from worker.digest_view import render_digest
from worker.errors import DeliveryError
from worker.models import Notification
from worker.rendering import clean_text, render_notification, summary_line, truncate_chars

SUBJECT_PREFIX = "[policywatch]"
# What smtplib, ssl and sockets raise, plus ValueError for e.g. a non-ASCII address that the
# server cannot take without SMTPUTF8. Messages from these never carry the password.
_SEND_ERRORS = (smtplib.SMTPException, OSError, ValueError)
_DOMAIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")


def message_id(delivery_id: str, sender: str) -> str:
    """A Message-ID fixed by the delivery id, so a resend is recognisably the same message.

    The right-hand side is the sender's domain when it has a plain one, else `policywatch`.
    (email.utils.make_msgid adds random parts, which is exactly what a retry must not do.)
    """
    _, address = parseaddr(sender)
    domain = address.rpartition("@")[2]
    return f"<{delivery_id}@{domain if _DOMAIN.match(domain) else 'policywatch'}>"


def subject(notification: Notification) -> str:
    """`[policywatch] NVDA 87: <title>`, or `[policywatch] 3 alerts: NVDA, AMD`."""
    prefix = f"{SUBJECT_PREFIX} digest," if notification.kind == "digest" else SUBJECT_PREFIX
    return truncate_chars(f"{prefix} {summary_line(notification)}", 200)


class EmailChannel:
    """Sends one email per notification to every address in `to`.

    `tls`: `starttls` (plain connect, then STARTTLS), `implicit` (TLS from the first byte, port
    465) or `none` (local test servers only). TLS always verifies the server against the system
    CAs or `ca_file`. Logs in only when `username` is set. The Message-ID comes from the
    delivery id, so retries carry the same one. `clock` gives the Date header's time.
    Raises DeliveryError: retryable for connection problems, timeouts (`timeout_s`) and SMTP
    4xx; permanent for SMTP 5xx, a refused login, a missing STARTTLS and untrusted certificates.
    """

    def __init__(
        self,
        name: str,
        config: EmailChannelConfig,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.name = name
        self._config = config
        self._clock = clock

    def __repr__(self) -> str:
        return f"EmailChannel(name={self.name!r})"

    @property
    def label(self) -> str:
        return f"email channel {self.name!r}"

    def build_message(self, notification: Notification) -> EmailMessage:
        """The message as it will be sent (apart from transport headers the server adds)."""
        if notification.kind == "digest":
            return self.build_digest(notification)
        config = self._config
        message = EmailMessage()
        message["Subject"] = subject(notification)
        message["From"] = config.sender
        message["To"] = ", ".join(config.to)
        message["Date"] = format_datetime(self._clock().astimezone(UTC))
        message["Message-ID"] = message_id(notification.delivery_id, config.sender)
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
        message["X-Policywatch-Delivery"] = notification.delivery_id
        message.set_content(render_notification("email.txt", notification))
        message.add_alternative(render_notification("email.html", notification), subtype="html")
        return message

    def build_digest(self, notification: Notification) -> EmailMessage:
        """A digest: stories ranked and grouped by ticker (worker/digest_view.py), a text and an
        HTML part, and List-Unsubscribe (RFC 2369; one-click per RFC 8058 for https URLs)."""
        config = self._config
        text, html, view = render_digest(
            notification, config.timezone, config.digest_max_stories, config.unsubscribe_url
        )
        message = EmailMessage()
        message["Subject"] = truncate_chars(f"{SUBJECT_PREFIX} digest: {view.summary}", 200)
        message["From"] = config.sender
        message["To"] = ", ".join(config.to)
        message["Date"] = format_datetime(self._clock().astimezone(UTC))
        message["Message-ID"] = message_id(notification.delivery_id, config.sender)
        message["Auto-Submitted"] = "auto-generated"
        message["X-Policywatch-Delivery"] = notification.delivery_id
        message["List-Id"] = f"policywatch digest <{self.name}.digest.policywatch>"
        if config.unsubscribe_url:
            message["List-Unsubscribe"] = f"<{config.unsubscribe_url}>"
            if config.unsubscribe_url.startswith("https://"):
                message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        message.set_content(text)
        message.add_alternative(html, subtype="html")
        return message

    def send(self, notification: Notification) -> str:
        message = self.build_message(notification)
        config = self._config
        try:
            smtp = self._connect()
        except _SEND_ERRORS as exc:
            raise self._classify(exc) from exc
        try:
            if config.username:
                smtp.login(config.username, config.password)
            refused = smtp.send_message(message, from_addr=config.sender, to_addrs=config.to)
        except _SEND_ERRORS as exc:
            smtp.close()
            raise self._classify(exc) from exc
        # The message is accepted by now; a failing QUIT must not turn that into a failure.
        with contextlib.suppress(smtplib.SMTPException, OSError):
            smtp.quit()
        accepted = len(config.to) - len(refused)
        if refused:
            return f"250 accepted for {accepted} of {len(config.to)} recipients"
        return f"250 accepted for {accepted} recipient{'s' if accepted != 1 else ''}"

    def _connect(self) -> smtplib.SMTP:
        config = self._config
        if config.tls == "none":
            return smtplib.SMTP(config.host, config.port, timeout=config.timeout_s)
        # Without an explicit context Python 3.11 smtplib does not verify the certificate.
        context = ssl.create_default_context(cafile=config.ca_file or None)
        if config.tls == "implicit":
            return smtplib.SMTP_SSL(
                config.host, config.port, timeout=config.timeout_s, context=context
            )
        smtp = smtplib.SMTP(config.host, config.port, timeout=config.timeout_s)
        try:
            smtp.ehlo()
            smtp.starttls(context=context)
            smtp.ehlo()
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _classify(self, exc: Exception) -> DeliveryError:
        """The DeliveryError for what smtplib, ssl or the socket raised (no password in it)."""
        label = self.label
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            codes = sorted({code for code, _ in exc.recipients.values()})
            retryable = bool(codes) and all(400 <= code < 500 for code in codes)
            shown = "/".join(str(code) for code in codes)
            return DeliveryError(
                f"{label}: SMTP {shown}: all recipients refused", retryable=retryable
            )
        if isinstance(exc, smtplib.SMTPResponseException):
            code = exc.smtp_code
            said = exc.smtp_error
            text = said.decode("utf-8", "replace") if isinstance(said, bytes) else str(said)
            text = truncate_chars(clean_text(text), 160)
            retryable = code < 500  # 4xx, or no code at all: the connection broke
            return DeliveryError(f"{label}: SMTP {code} {text}".rstrip(), retryable=retryable)
        if isinstance(exc, smtplib.SMTPNotSupportedError):
            return DeliveryError(f"{label}: server refused: {exc}", retryable=False)
        if isinstance(exc, smtplib.SMTPServerDisconnected):
            return DeliveryError(f"{label}: server disconnected", retryable=True)
        if isinstance(exc, ssl.SSLCertVerificationError):
            reason = exc.verify_message or "verification failed"
            return DeliveryError(f"{label}: TLS certificate not trusted: {reason}", retryable=False)
        if isinstance(exc, ssl.SSLEOFError):
            return DeliveryError(f"{label}: TLS connection cut", retryable=True)
        if isinstance(exc, ssl.SSLError):
            reason = exc.reason or type(exc).__name__
            return DeliveryError(f"{label}: TLS failed: {reason}", retryable=False)
        if isinstance(exc, FileNotFoundError) and self._config.ca_file:
            return DeliveryError(f"{label}: ca_file not found", retryable=False)
        if isinstance(exc, TimeoutError):
            message = f"{label}: timed out after {self._config.timeout_s:g}s"
            return DeliveryError(message, retryable=True)
        if isinstance(exc, OSError):
            reason = exc.strerror or type(exc).__name__
            return DeliveryError(f"{label}: network error: {reason}", retryable=True)
        if isinstance(exc, smtplib.SMTPException):
            return DeliveryError(f"{label}: SMTP error: {exc}", retryable=False)
        return DeliveryError(
            f"{label}: cannot send ({type(exc).__name__}: {truncate_chars(str(exc), 160)})",
            retryable=False,
        )
