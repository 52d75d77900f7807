"""Fixtures for delivery tests: local HTTP and SMTP receivers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.receivers import HttpReceiver, SmtpReceiver


@pytest.fixture
def hook() -> Iterator[HttpReceiver]:
    with HttpReceiver() as receiver:
        yield receiver


@pytest.fixture
def other_hook() -> Iterator[HttpReceiver]:
    with HttpReceiver() as receiver:
        yield receiver


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    with SmtpReceiver() as receiver:
        yield receiver
