"""An ingest server in a thread, over a real pipeline, SQLite store and JSON Lines outbox."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from worker.channels import build_channel
from worker.config import Settings, parse_settings
from worker.pipeline import Pipeline
from worker.relevance import Relevance
from worker.serve import IngestServer, pipeline_acceptor
from worker.store.sqlite import SqliteStore

TOKEN = "tok_3f9a1c55d0e2b7a8c4e6f1d9"
OTHER_TOKEN = "tok_b1e0aa7742c9d3f5e8a6c2d1"


@dataclass
class Ingest:
    server: IngestServer
    pipeline: Pipeline
    outbox: Path
    wakes: list[int]
    http: httpx.Client

    @property
    def url(self) -> str:
        return self.server.url + "/v1/items"

    @property
    def stored(self) -> int:
        return self.pipeline.store.count_seen()

    def auth(self, token: str = TOKEN) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


def ingest_settings(tmp_path: Path, **serve: object) -> Settings:
    config = f"""
watchlists: [{{name: semis, tickers: [NVDA, AMD], notify: [outbox]}}]
channels: {{outbox: {{type: file, path: {tmp_path / "outbox.jsonl"}}}}}
# These tests post variants of one story on purpose; folding them is tests/routing's subject.
clustering: {{enabled: false}}
serve:
  port: 0
  max_body_bytes: {serve.get("max_body_bytes", 64_000)}
  tokens: {{desk: "${{DESK_TOKEN}}", quant: "${{QUANT_TOKEN}}"}}
"""
    return parse_settings(
        config, str(tmp_path / "pw.yaml"), {"DESK_TOKEN": TOKEN, "QUANT_TOKEN": OTHER_TOKEN}
    )


@pytest.fixture(scope="session")
def relevance(tmp_path_factory: pytest.TempPathFactory) -> Relevance:
    """Built once: the company directory takes a moment to load, and no test changes it."""
    settings = ingest_settings(tmp_path_factory.mktemp("relevance"))
    return Relevance(settings.watchlists, source_file=settings.source_file)


@pytest.fixture
def ingest(tmp_path: Path, relevance: Relevance) -> Iterator[Ingest]:
    settings = ingest_settings(tmp_path)
    channels = {n: build_channel(n, c) for n, c in settings.channels.items()}
    pipeline = Pipeline(settings, SqliteStore(tmp_path / "state.db"), channels, relevance)
    wakes: list[int] = []
    accept = pipeline_acceptor(lambda: pipeline, lambda: wakes.append(1))
    with (
        IngestServer(settings.serve, accept, body_deadline_s=0.5) as server,
        httpx.Client(timeout=10) as http,
    ):
        yield Ingest(server, pipeline, tmp_path / "outbox.jsonl", wakes, http)
    pipeline.store.close()
