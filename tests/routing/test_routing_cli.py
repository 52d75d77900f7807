"""`policywatch silence ...` and `policywatch digest ...` as a user runs them, with `run --once`
over the bundled news."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.conftest import REPO, run_cli
from worker.digests import digest_mark
from worker.store.sqlite import SqliteStore

NEWS = REPO / "examples" / "news"


def write_config(folder: Path) -> Path:
    config = folder / "policywatch.yaml"
    config.write_text(
        f"""
state: sqlite:///state.db
watchlists:
  - name: semis
    tickers: [NVDA, AMD, ASML, TSM]
    notify: [desk, morning]
feeds:
  - name: wire
    url: {NEWS / "wire-tech.rss.xml"}
  - name: desk
    url: {NEWS / "policy-desk.atom.xml"}
channels:
  desk:
    type: file
    path: out/desk.jsonl
  morning:
    type: file
    path: out/morning.jsonl
    mode: digest
    schedule: weekdays 08:00
    timezone: Europe/London
""",
        encoding="utf-8",
    )
    return config


def lines(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def cli(config: Path, *args: str) -> tuple[int, str, str]:
    result = run_cli(*args, "--config", str(config), cwd=config.parent)
    return result.returncode, result.stdout, result.stderr


def test_a_silence_mutes_a_ticker_and_shows_what_it_muted(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    code, out, _ = cli(
        config, "silence", "add", "--ticker", "nvda", "--for", "4h", "--by", "ana",
        "--comment", "earnings week",
    )  # fmt: skip
    assert code == 0
    silence_id = out.split()[0]
    assert silence_id.startswith("sil_") and "ticker=NVDA" in out
    assert cli(config, "run", "--once")[0] == 0
    sent = lines(tmp_path / "out" / "desk.jsonl")
    assert sent and not [a for a in sent if a["ticker"] == "NVDA"]
    code, out, _ = cli(config, "silence", "list")
    assert silence_id in out and "active" in out and "by ana: earnings week" in out
    muted = int(out.split("muted")[1].split()[0])
    assert muted >= 2  # NVDA alerts for the desk and for the morning digest
    code, out, _ = cli(config, "silence", "show", silence_id)
    assert "Nvidia" in out and f"muted {muted} alerts" in out
    assert cli(config, "silence", "expire", silence_id)[0] == 0
    assert "no silences in force" in cli(config, "silence", "list")[1]
    assert "expired" in cli(config, "silence", "list", "--all")[1]


def test_a_silence_needs_a_reason_and_an_end(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    code, _, err = cli(config, "silence", "add", "--ticker", "NVDA", "--for", "4h")
    assert code == 2 and "--comment" in err
    code, _, err = cli(config, "silence", "add", "--ticker", "NVDA", "--comment", "x")
    assert code == 2 and "--for" in err
    code, _, err = cli(config, "silence", "add", "--for", "1h", "--comment", "x")
    assert code == 2 and "--ticker" in err


def test_digest_commands_list_preview_and_send_what_is_held(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    assert cli(config, "run", "--once")[0] == 0
    assert lines(tmp_path / "out" / "morning.jsonl") == []  # digests keep their schedule
    code, out, _ = cli(config, "digest", "list")
    assert code == 0 and "morning" in out and "'weekdays 08:00'" in out
    held = int(out.split("held")[1].split()[0])
    assert held > 0
    code, out, _ = cli(config, "digest", "preview", "morning")
    assert code == 0 and "== NVDA · NVIDIA ==" in out and "Times are Europe/London" in out
    code, out, _ = cli(config, "digest", "preview", "morning", "--html")
    assert out.startswith("<!DOCTYPE html>")
    code, out, _ = cli(config, "digest", "send", "morning")
    assert code == 0 and " sent " in out
    digest = lines(tmp_path / "out" / "morning.jsonl")
    assert len(digest) == held and {d["kind"] for d in digest} == {"digest"}
    assert "held 0" in cli(config, "digest", "list")[1]
    code, _, err = cli(config, "digest", "preview", "desk")
    assert code == 2 and "not a digest channel" in err and "morning" in err


def test_a_digest_that_fell_due_while_down_goes_out_on_the_next_run(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    assert cli(config, "run", "--once")[0] == 0
    store = SqliteStore(tmp_path / "state.db")
    try:  # as if the last digest had been made four days ago and the worker was down since
        long_ago = datetime.now(UTC) - timedelta(days=4)
        store.set_marks({digest_mark("morning"): long_ago.isoformat()}, datetime.now(UTC))
    finally:
        store.close()
    assert cli(config, "run", "--once")[0] == 0
    digest = lines(tmp_path / "out" / "morning.jsonl")
    assert digest and {d["kind"] for d in digest} == {"digest"}
    assert len({d["delivery_id"] for d in digest}) == 1
    assert cli(config, "run", "--once")[0] == 0
    assert len(lines(tmp_path / "out" / "morning.jsonl")) == len(digest)
