"""A full run with secrets in webhook URLs, headers, signing keys and an SMTP password, against
targets that fail and echo what they were sent: no secret reaches the logs or the output."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import free_port, run_cli
from tests.ops.conftest import ALERTING_MATCHES, write_config
from tests.support.receivers import HttpReceiver, PasswordAuthenticator, Reply, SmtpReceiver
from worker.logs import REDACTED

HOOK_TOKEN = "hk-7f3a9c1e5b2d4f6a"
BEARER = "bearer-91c2e7d44a0b"
SIGNING = "whsec_c2lnbmluZy1rZXktZm9yLXRlc3Rz"
SMTP_PASSWORD = "smtp-pw-5e8d2c71"
SLACK_TOKEN = "xoxb-slack-token-0a1b2c3d"
SECRETS = (HOOK_TOKEN, BEARER, SIGNING, SMTP_PASSWORD, SLACK_TOKEN, "c2lnbmluZy1rZXk")


def test_no_configured_secret_appears_in_the_logs_of_a_full_run(tmp_path: Path) -> None:
    hook_path = f"/hooks/{HOOK_TOKEN}"
    echo = Reply(500, body=f"internal error handling POST {hook_path}".encode())
    closed_port = free_port()
    authenticator = PasswordAuthenticator("desk", SMTP_PASSWORD)
    with (
        HttpReceiver([echo] * 8) as hook,
        SmtpReceiver(authenticator=authenticator, auth_require_tls=False) as smtp,
    ):
        channels = "\n  ".join(
            [
                "hook:",
                "  type: webhook",
                f"  url: http://127.0.0.1:{hook.port}/hooks/${{HOOK_TOKEN}}",
                "  secret: ${SIGNING_SECRET}",
                '  headers: {Authorization: "Bearer ${API_BEARER}"}',
                "mail:",
                "  type: email",
                "  host: 127.0.0.1",
                f"  port: {smtp.port}",
                "  tls: none",
                "  username: desk",
                "  password: ${SMTP_PASSWORD}",
                "  from: alerts@example.com",
                "  to: [desk@example.com]",
                "slack:",
                "  type: slack",
                f"  url: http://127.0.0.1:{closed_port}/services/${{SLACK_TOKEN}}",
            ]
        )
        config = write_config(
            tmp_path,
            channels=channels,
            notify="[hook, mail, slack]",
            extra="delivery: {max_attempts: 1}\n",
        )
        env = {
            "HOOK_TOKEN": HOOK_TOKEN,
            "SIGNING_SECRET": SIGNING,
            "API_BEARER": BEARER,
            "SMTP_PASSWORD": SMTP_PASSWORD,
            "SLACK_TOKEN": SLACK_TOKEN,
        }
        runs = []
        for fmt in ("human", "json"):
            cwd = tmp_path / fmt  # a fresh state each time: the state path is relative
            cwd.mkdir()
            args = ("--log-level", "DEBUG", "--log-format", fmt, "run", "--once")
            runs.append(run_cli(*args, "--config", str(config), cwd=cwd, env=env))
        assert all(r.returncode == 0 for r in runs), runs[0].stderr
        assert len(hook.requests) == 2 * ALERTING_MATCHES, "both runs called the webhook"
        assert len(smtp.messages) == 2 * ALERTING_MATCHES, "the emails went out, after logging in"
        assert set(authenticator.attempts) == {"desk"}
    logs = "\n".join(r.stderr + r.stdout for r in runs)
    assert "HTTP 500" in logs, "the failure itself is logged"
    assert "network error" in logs, "so is the unreachable Slack target"
    assert logs.count("is dead") >= 16, "hook and slack deliveries die after one attempt"
    assert f"HTTP Request: POST {REDACTED}" in logs, "httpx logged the request, redacted"
    leaked = [secret for secret in SECRETS if secret in logs]
    assert leaked == []
