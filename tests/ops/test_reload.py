"""Config reload in a running `policywatch run`: on SIGHUP and on file change; a bad new config
is rejected with its errors logged, and the running one carries on untouched."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.ops.conftest import ALERTING_MATCHES, NEWS, wait_for, write_config
from worker.errors import ConfigError, ConfigProblem
from worker.reload import ConfigWatcher

SECOND_FEED = "- {name: extra, url: news.jsonl, every: 5m}\n  - {name: more, url: more.jsonl}"
# more.jsonl repeats the same stories under new ids; story clustering would rightly fold them
# into the stories already alerted, so the configs that add it count every item as its own.
EACH_ITEM_ITS_OWN_STORY = "clustering: {enabled: false}\n"


class Running:
    """A `policywatch run` subprocess whose stderr goes to a file we can read while it runs."""

    def __init__(self, folder: Path, config: Path) -> None:
        self.folder = folder
        self.log_file = folder / "stderr.log"
        self._log = self.log_file.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "worker", "run", "--config", str(config)],
            cwd=folder,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            stdout=subprocess.DEVNULL,
            stderr=self._log,
        )

    @property
    def log(self) -> str:
        return self.log_file.read_text()

    def outbox(self) -> list[dict[str, object]]:
        path = self.folder / "outbox.jsonl"
        return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(20)
        self._log.close()
        return code


@pytest.fixture
def more_news(tmp_path: Path) -> None:
    """A second feed file: the same stories under new ids, so they alert again."""
    lines = []
    for line in NEWS.read_text().splitlines():
        item = json.loads(line)
        item["id"] = "more-" + item["id"]
        lines.append(json.dumps(item))
    (tmp_path / "more.jsonl").write_text("\n".join(lines) + "\n")


@pytest.fixture
def running(tmp_path: Path, more_news: None) -> Iterator[tuple[Running, Path]]:
    config = write_config(tmp_path, extra="reload: {watch: false}\n")
    run = Running(tmp_path, config)
    wait_for(lambda: len(run.outbox()) == ALERTING_MATCHES, what="the first cycle's alerts")
    yield run, config
    assert run.stop() == 0, run.log


def test_sighup_with_a_valid_config_takes_effect(running: tuple[Running, Path]) -> None:
    run, config = running
    write_config(
        config.parent,
        feeds=SECOND_FEED,
        extra="reload: {watch: false}\n" + EACH_ITEM_ITS_OWN_STORY,
    )
    run.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "config reloaded" in run.log, what="the reload")
    wait_for(lambda: len(run.outbox()) == 2 * ALERTING_MATCHES, what="the new feed's alerts")
    assert "feed more added, polling now" in run.log
    assert len({a["id"] for a in run.outbox()}) == 2 * ALERTING_MATCHES


def test_sighup_with_an_invalid_config_keeps_the_old_one_and_logs_why(
    running: tuple[Running, Path],
) -> None:
    run, config = running
    good = config.read_text()
    write_config(
        config.parent,
        feeds=SECOND_FEED.replace("more.jsonl}", "more.jsonl, every: soon}"),
        extra="reload: {watch: false}\nworkers: 0\n",
    )
    run.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "workers: got 0" in run.log, what="the rejection, problem by problem")
    log = run.log
    assert "rejected (2 problems)" in log
    assert "policywatch.yaml:9: feeds[1].every: got 'soon'; expected a duration" in log
    assert "keeping the running config" in log
    assert run.proc.poll() is None, "still running"
    assert "feed more added" not in log
    # the old config still runs: a later good config is applied by the same process
    config.write_text(good.replace("min_score: 60", "min_score: 50"))
    run.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "config reloaded" in run.log, what="the good reload")
    assert len(run.outbox()) == ALERTING_MATCHES, "the rejected feed was never polled"


def test_a_changed_file_is_reloaded_without_a_signal(tmp_path: Path, more_news: None) -> None:
    config = write_config(tmp_path, extra="reload: {check_every: 0.2s}\n")
    run = Running(tmp_path, config)
    try:
        wait_for(lambda: len(run.outbox()) == ALERTING_MATCHES, what="the first cycle")
        config.touch()  # a touch that changes nothing does not reload
        write_config(
            tmp_path,
            feeds=SECOND_FEED,
            extra="reload: {check_every: 0.2s}\n" + EACH_ITEM_ITS_OWN_STORY,
        )
        wait_for(lambda: len(run.outbox()) == 2 * ALERTING_MATCHES, what="the new feed")
        assert run.log.count("changed: reloading") == 1
    finally:
        assert run.stop() == 0, run.log


def test_a_runtime_refusal_is_a_rejection_too(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    applied: list[object] = []

    def refuse(settings: object) -> None:
        applied.append(settings)
        problem = ConfigProblem(str(config), None, "state", "(changed)", "the same store")
        raise ConfigError([problem])

    watcher = ConfigWatcher(config, refuse, watch=False)
    assert watcher.reload() is False
    assert len(applied) == 1
