"""The one error tree of policywatch.

PolicywatchError
├── ConfigError            bad YAML, bad field, missing ${VAR}; carries every problem found
├── SourceError            a feed could not be fetched or parsed
│   └── FetchError         HTTP/network failure; knows whether a retry can help
├── StoreError             the state store is unusable
└── DeliveryError          a channel could not deliver; knows whether a retry can help
    └── TargetGoneError    404/410 from the target: disable it, never retry
"""

from __future__ import annotations

from dataclasses import dataclass


class PolicywatchError(Exception):
    """Root of every error policywatch raises on purpose."""


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong in a config file, located precisely."""

    file: str
    line: int | None
    path: str
    value: object
    expected: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        shown = repr(self.value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        return f"{where}: {self.path or '<root>'}: got {shown}; expected {self.expected}"


class ConfigError(PolicywatchError):
    """The config is unusable; `problems` lists every fault found, not only the first."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class SourceError(PolicywatchError):
    """A source could not be read or parsed."""


class FetchError(SourceError):
    """Fetching a source failed. `retryable` says whether trying later can help; `status` is
    the HTTP status that said so, when there was one (410: the source is gone for good)."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = True,
        retry_after_s: float | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after_s = retry_after_s
        self.status = status


class StoreError(PolicywatchError):
    """The state store cannot be opened or used."""


class DeliveryError(PolicywatchError):
    """A channel failed to deliver.

    `retryable` is True for network errors, timeouts, 5xx and 429; False for other 4xx.
    `retry_after_s` carries a server's Retry-After, when it sent one.
    """

    def __init__(
        self, message: str, *, retryable: bool, retry_after_s: float | None = None
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after_s = retry_after_s


class TargetGoneError(DeliveryError):
    """The target answered 404 or 410: it is gone; the channel is disabled."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)
