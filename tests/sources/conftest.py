"""Fixtures for the source tests: a live feed server, an HTTP client, the shared data folder."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.feedserver import FeedServer
from worker.config import FeedConfig

# shared/ sits beside the repository root, here and in CI alike.
SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
USER_AGENT = "policywatch-tests/0.1 (+https://example.invalid/policywatch)"


@pytest.fixture
def shared_data() -> Path:
    """The shared data folder; skips on a laptop without it, fails in CI."""
    data = SHARED / "data"
    if not data.is_dir():
        message = f"shared data folder not found at {data.resolve()}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return data


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False) as http_client:
        yield http_client


@pytest.fixture
def make_feed() -> Callable[..., FeedConfig]:
    def make(url: str, **fields: Any) -> FeedConfig:
        return FeedConfig(name=fields.pop("name", "test-feed"), url=url, **fields)

    return make
