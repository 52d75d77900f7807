"""Logs: human or JSON lines, ids on every line about an item, alert or delivery, and no
secret in any record, whatever library wrote it."""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import run_cli
from tests.ops.conftest import ALERTING_MATCHES, write_config
from tests.support.receivers import HttpReceiver, Reply
from worker.config import parse_settings
from worker.logs import REDACTED, Redactor, log_context, protect, secrets_of, setup_logging


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Logging set up as the CLI does, into a buffer; restored afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    hooks = sys.excepthook, threading.excepthook
    stream = io.StringIO()
    setup_logging("DEBUG", "human", stream)
    yield stream
    root.handlers[:] = handlers
    root.setLevel(level)
    sys.excepthook, threading.excepthook = hooks
    logging.captureWarnings(False)


def test_json_logs_of_a_run_parse_and_carry_the_ids_of_items_alerts_and_deliveries(
    tmp_path: Path,
) -> None:
    config = write_config(tmp_path)
    done = run_cli("--log-format", "json", "run", "--once", "--config", str(config), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stderr.splitlines()]
    alerts = [r for r in records if r["msg"].startswith("alert ")]
    sent = [r for r in records if r["msg"].startswith("delivery ") and " sent " in r["msg"]]
    assert len(alerts) == ALERTING_MATCHES
    for record in alerts:
        assert record["feed"] == "extra" and record["watchlist"] == "semis"
        assert record["item_id"] and record["ticker"] in ("NVDA", "AMD")
        assert record["alert_id"].startswith("alr_")
    assert len(sent) == ALERTING_MATCHES
    for record in sent:
        assert record["delivery_id"].startswith("dlv_") and record["channel"] == "outbox"
        assert record["alert_id"].startswith("alr_")
        assert {"ts", "level", "logger"} <= record.keys()
    summary = [r for r in records if "new of" in r["msg"]]
    assert summary and summary[0]["feed"] == "extra"


def test_human_logs_append_the_ids_the_message_does_not_show(captured: io.StringIO) -> None:
    log = logging.getLogger("worker.test")
    with log_context(feed="wire", delivery_id="dlv_123"):
        log.info("delivery dlv_123 sent")
    line = captured.getvalue().strip()
    assert line.endswith("delivery dlv_123 sent [feed=wire]")


def test_a_secret_is_redacted_from_message_arguments_extras_and_tracebacks(
    captured: io.StringIO,
) -> None:
    protect(["s3cr3t-token-value"])
    log = logging.getLogger("worker.test")
    log.warning("posting to %s", "https://hooks.example/s3cr3t-token-value")
    log.info("context", extra={"target": "s3cr3t-token-value"})
    try:
        raise RuntimeError("failed for https://hooks.example/s3cr3t-token-value")
    except RuntimeError:
        log.exception("boom")
    out = captured.getvalue()
    assert "s3cr3t-token-value" not in out
    assert out.count(REDACTED) >= 3
    assert "RuntimeError" in out, "the traceback is kept, only the secret goes"


def test_an_http_library_exception_carrying_the_url_is_redacted(captured: io.StringIO) -> None:
    secret_url = "/hook/T0K3N-abcdef123456"
    with HttpReceiver([Reply(500, body=b"error at " + secret_url.encode())]) as receiver:
        url = receiver.url(secret_url)
        protect([url])
        try:
            httpx.post(url, content=b"{}").raise_for_status()
        except httpx.HTTPStatusError:
            logging.getLogger("worker.test").exception("send failed")
    out = captured.getvalue()
    assert "HTTPStatusError" in out
    assert "T0K3N-abcdef123456" not in out


def test_uncaught_exceptions_in_threads_are_logged_redacted(captured: io.StringIO) -> None:
    protect(["thread-secret-99"])

    def explode() -> None:
        raise ValueError("leaked thread-secret-99")

    worker = threading.Thread(target=explode, name="exploder")
    worker.start()
    worker.join()
    out = captured.getvalue()
    assert "uncaught exception in thread exploder" in out
    assert "thread-secret-99" not in out


def test_credential_shapes_are_redacted_even_when_not_configured() -> None:
    redactor = Redactor()
    text = (
        "https://user:hunter22@db.example/x "
        "https://hooks.slack.com/services/T000/B000/XXXXXXXX "
        "https://discord.com/api/webhooks/123/abcDEF-ghi "
        "https://x.example/f?sig=abc123&api-version=1 "
        "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload whsec_MfKQ9r8GKYqrTwjUPD8ILPZI"
    )
    out = redactor.redact(text)
    for secret in ("hunter22", "XXXXXXXX", "abcDEF-ghi", "abc123", "eyJhbGci", "MfKQ9r8"):
        assert secret not in out
    assert "api-version=1" in out and "db.example" in out


def test_secrets_of_a_config_cover_env_values_urls_passwords_and_headers() -> None:
    settings = parse_settings(
        """
        state: redis://:redispass99@127.0.0.1:6379/0
        watchlists: [{name: w, tickers: [NVDA], notify: [hook, mail]}]
        channels:
          hook:
            type: webhook
            url: https://hooks.example/in/${HOOK_TOKEN}
            headers: {Authorization: "Token literal-header-token"}
          mail:
            type: email
            host: 127.0.0.1
            from: a@example.com
            to: [b@example.com]
            username: alerts
            password: ${SMTP_PASSWORD}
        """,
        "cfg.yaml",
        {"HOOK_TOKEN": "tok-111-222", "SMTP_PASSWORD": "pw-333-444"},
    )
    secrets = secrets_of(settings)
    assert {"tok-111-222", "pw-333-444", "redispass99", "Token literal-header-token"} <= secrets
    assert "https://hooks.example/in/tok-111-222" in secrets
    assert "/in/tok-111-222" in secrets, "the path alone is as secret as the URL"
    assert "secrets" not in settings.model_dump(), "the collected secrets are never dumped"


def test_an_error_the_cli_prints_is_redacted_too(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        "state: 'bogus://desk:${STATE_PASSWORD}@127.0.0.1/0'\n"
        "watchlists: [{name: w, tickers: [NVDA]}]\n"
    )
    done = run_cli("status", "--config", str(config), env={"STATE_PASSWORD": "st4te-pw-xyz"})
    assert done.returncode == 1
    assert "unknown state URL" in done.stderr
    assert "st4te-pw-xyz" not in done.stderr + done.stdout
