"""The distributed commands refuse what cannot work, before starting anything."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_cli

SQLITE_CONFIG = "state: sqlite:///state.db\nwatchlists: [{name: semis, tickers: [NVDA]}]\n"


def test_the_scheduler_needs_a_redis_state_or_broker(tmp_path: Path) -> None:
    config = tmp_path / "policywatch.yaml"
    config.write_text(SQLITE_CONFIG, encoding="utf-8")
    done = run_cli("scheduler", "--config", str(config), cwd=tmp_path, timeout=30)
    assert done.returncode == 2, done.stderr
    assert "state: got 'sqlite:///state.db'; expected a redis:// URL" in done.stderr


def test_worker_concurrency_applies_to_one_queue(tmp_path: Path) -> None:
    config = tmp_path / "policywatch.yaml"
    config.write_text(SQLITE_CONFIG.replace("sqlite:///state.db", "redis://127.0.0.1:1/0"))
    done = run_cli("worker", "--config", str(config), "--concurrency", "3", cwd=tmp_path)
    assert done.returncode == 2
    assert "--concurrency needs --queue" in done.stderr
