"""YAML → typed settings. The only module that reads the environment.

Every fault in a config file is reported at once, each with the file, the line, the field path
(`watchlists[2].notify[0]`), the bad value and what was expected. Secrets are written as
`${NAME}` and taken from the environment; a missing variable is an error that names it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlencode, urlsplit

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from worker.errors import ConfigError, ConfigProblem
from worker.quiet import QuietHours, parse_weekdays
from worker.schedule import parse_hhmm, parse_schedule, zone_named

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_UNIT_S = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, None: 1}
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def parse_duration_s(value: object) -> float:
    """`30s`, `5m`, `1h`, `2d`, `1w` or a bare number of seconds → seconds."""
    if isinstance(value, bool):
        raise ValueError("a duration such as 30s, 5m, 1h or 2d")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (m := _DURATION.match(value)):
        seconds = float(m.group(1)) * _UNIT_S[m.group(2)]
    else:
        raise ValueError("a duration such as 30s, 5m, 1h or 2d")
    if seconds <= 0:
        raise ValueError("a positive duration such as 30s, 5m, 1h or 2d")
    return seconds


DurationS = Annotated[float, BeforeValidator(parse_duration_s)]


def parse_duration_or_zero_s(value: object) -> float:
    """Like `parse_duration_s`, but `0`/`0s` (off) is allowed."""
    if not isinstance(value, bool) and (value == 0 or (isinstance(value, str) and _is_zero(value))):
        return 0.0
    return parse_duration_s(value)


def _is_zero(text: str) -> bool:
    m = _DURATION.match(text)
    return m is not None and float(m.group(1)) == 0


DurationOrZeroS = Annotated[float, BeforeValidator(parse_duration_or_zero_s)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CompanyConfig(_Strict):
    """A custom company: its display name and the words that name it."""

    name: str
    aliases: list[str] = []
    products: list[str] = []
    people: list[str] = []
    case_sensitive_aliases: list[str] = []


class RuleConfig(_Strict):
    """A user's own topic rule: all/any/none term lists and proximity."""

    name: str
    all: list[str] = []
    any: list[str] = []
    none: list[str] = []
    near: list[str] = []
    within_words: int = 12
    weight: int = Field(default=30, ge=-100, le=100)


class WatchlistConfig(_Strict):
    name: str
    tickers: list[str] = []
    companies: dict[str, CompanyConfig] = {}
    min_score: int = Field(default=60, ge=0, le=100)
    notify: list[str] = []
    rules: list[RuleConfig] = []

    @model_validator(mode="after")
    def _has_tickers(self) -> WatchlistConfig:
        if not self.tickers and not self.companies:
            raise ValueError("at least one of tickers or companies")
        return self


FeedKind = Literal["auto", "rss", "jsonl", "jsonfeed", "federal_register", "edgar", "folder"]
FederalRegisterType = Literal["RULE", "PRORULE", "NOTICE", "PRESDOCU"]
FEDERAL_REGISTER_API = "https://www.federalregister.gov/api/v1/documents.json"
EDGAR_BROWSE = "https://www.sec.gov/cgi-bin/browse-edgar"
# What a document in the Federal Register API's answer carries, kept small on purpose.
_FEDERAL_REGISTER_FIELDS = (
    "title",
    "abstract",
    "action",
    "type",
    "document_number",
    "publication_date",
    "html_url",
    "agencies",
)
_BUILT_URL_KINDS = ("federal_register", "edgar")
_KIND_OF_FIELD = {
    "agencies": "federal_register",
    "document_types": "federal_register",
    "search": "federal_register",
    "forms": "edgar",
    "cik": "edgar",
}


class FeedConfig(_Strict):
    """One source. `url` is required except for `federal_register` and `edgar`, whose URL is
    built from `agencies`/`document_types`/`search` and `forms`/`cik` (a `url` given for them
    is the API endpoint to use, or, if it has a query, the whole request)."""

    name: str
    url: str = ""
    every: DurationS = 300.0
    kind: FeedKind = "auto"
    max_age: DurationS | None = None
    timeout_s: float = Field(default=20.0, gt=0)
    max_bytes: int = Field(default=5_000_000, gt=0)
    stale_after: DurationS | None = None
    user_agent: str = ""
    agencies: list[str] = []
    document_types: list[FederalRegisterType] = []
    search: str = ""
    forms: list[str] = []
    cik: str = ""

    @model_validator(mode="before")
    @classmethod
    def _build_url(cls, data: Any) -> Any:
        if not isinstance(data, dict) or data.get("kind") not in _BUILT_URL_KINDS:
            return data
        data = dict(data)
        for key in ("agencies", "document_types", "forms"):
            if isinstance(data.get(key), str):
                data[key] = [data[key]]
        url = data.get("url")
        if isinstance(url, str) and "?" in url:
            return data
        if data["kind"] == "federal_register":
            data["url"] = _federal_register_url(data, url or FEDERAL_REGISTER_API)
        else:
            data["url"] = _edgar_url(data, url or EDGAR_BROWSE)
        return data

    @field_validator("cik")
    @classmethod
    def _cik_is_digits(cls, value: str) -> str:
        if value and not (value.strip().isdigit() and len(value.strip()) <= 10):
            raise ValueError("a CIK: up to 10 digits, such as 0001045810")
        return value.strip()


def _federal_register_url(data: dict[str, Any], base: str) -> str:
    pairs: list[tuple[str, str]] = [("order", "newest"), ("per_page", "20")]
    pairs += [("fields[]", f) for f in _FEDERAL_REGISTER_FIELDS]
    pairs += [("conditions[agencies][]", str(a)) for a in data.get("agencies") or []]
    pairs += [("conditions[type][]", str(t)) for t in data.get("document_types") or []]
    if data.get("search"):
        pairs.append(("conditions[term]", str(data["search"])))
    return f"{base}?{urlencode(pairs, safe='[]')}"


def _edgar_url(data: dict[str, Any], base: str) -> str:
    forms = [str(f) for f in data.get("forms") or []]
    # One form: EDGAR filters. Several: the unfiltered feed, filtered here (sources/edgar.py).
    form = forms[0] if len(forms) == 1 else ""
    cik = str(data.get("cik") or "").strip()
    if cik:
        pairs = [("action", "getcompany"), ("CIK", cik.zfill(10)), ("type", form)]
        pairs += [("dateb", ""), ("owner", "include"), ("start", "0"), ("count", "40")]
    else:
        pairs = [("action", "getcurrent"), ("type", form), ("company", ""), ("dateb", "")]
        pairs += [("owner", "include"), ("start", "0"), ("count", "100")]
    pairs.append(("output", "atom"))
    return f"{base}?{urlencode(pairs)}"


class QuietTimeConfig(_Strict):
    """One quiet window, end-exclusive, as Alertmanager writes it; may cross midnight."""

    start_time: str
    end_time: str

    @field_validator("start_time", "end_time")
    @classmethod
    def _is_time(cls, value: str) -> str:
        if value.strip() != "24:00":
            parse_hhmm(value)
        return value


class QuietHoursConfig(_Strict):
    """When a channel is quiet: `times` (none: all day) on `weekdays` (none: every day) in
    `timezone` (default: the channel's). Alerts scoring `breakthrough_score` or more go out
    anyway; the rest wait for the window to end."""

    times: list[QuietTimeConfig] = []
    weekdays: list[str] = []
    timezone: str = ""
    breakthrough_score: int | None = Field(default=None, ge=0, le=100)

    @field_validator("weekdays")
    @classmethod
    def _are_weekdays(cls, value: list[str]) -> list[str]:
        parse_weekdays(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _is_zone(cls, value: str) -> str:
        if value:
            zone_named(value)
        return value

    @model_validator(mode="after")
    def _opens_sometime(self) -> QuietHoursConfig:
        QuietHours.from_config(
            [(t.start_time, t.end_time) for t in self.times], self.weekdays, "UTC"
        )
        return self


GroupLabel = Literal["watchlist", "ticker", "cluster"]


class _ChannelBase(_Strict):
    min_interval_s: float = Field(default=0.0, ge=0)
    # Routing (see worker/routing.py): instant messages or scheduled digests.
    mode: Literal["instant", "digest"] = "instant"
    schedule: str = "daily 08:00"
    timezone: str = "UTC"
    group_by: list[GroupLabel] = ["watchlist", "ticker", "cluster"]
    group_wait: DurationOrZeroS = 0.0
    group_interval: DurationOrZeroS = 0.0
    repeat_interval: DurationS = 86400.0
    quiet_hours: QuietHoursConfig | None = None
    digest_max_stories: int = Field(default=60, ge=1, le=500)
    digest_send_empty: bool = False

    @field_validator("schedule")
    @classmethod
    def _is_schedule(cls, value: str) -> str:
        parse_schedule(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _is_zone(cls, value: str) -> str:
        zone_named(value)
        return value


class ConsoleChannelConfig(_ChannelBase):
    type: Literal["console"]


class FileChannelConfig(_ChannelBase):
    type: Literal["file"]
    path: str


class SlackChannelConfig(_ChannelBase):
    type: Literal["slack"]
    url: str = Field(repr=False)
    min_interval_s: float = Field(default=1.0, ge=0)
    timeout_s: float = Field(default=15.0, gt=0)


class WebhookChannelConfig(_ChannelBase):
    type: Literal["webhook"]
    url: str = Field(repr=False)
    secret: str = Field(default="", repr=False)
    headers: dict[str, str] = Field(default_factory=dict, repr=False)
    timeout_s: float = Field(default=15.0, gt=0)


class EmailChannelConfig(_ChannelBase):
    type: Literal["email"]
    host: str
    port: int = Field(default=587, gt=0, lt=65536)
    tls: Literal["starttls", "implicit", "none"] = "starttls"
    username: str = ""
    password: str = Field(default="", repr=False)
    sender: str = Field(alias="from")
    to: list[str]
    ca_file: str = ""
    timeout_s: float = Field(default=30.0, gt=0)
    unsubscribe_url: str = ""

    @field_validator("unsubscribe_url")
    @classmethod
    def _is_unsubscribe_url(cls, value: str) -> str:
        if value and not re.match(r"^(https://[^\s]+|mailto:[^\s@]+@[^\s]+)$", value):
            raise ValueError("an https:// URL or a mailto: address")
        return value

    @field_validator("to")
    @classmethod
    def _has_recipients(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("at least one recipient")
        return value


class DiscordChannelConfig(_ChannelBase):
    type: Literal["discord"]
    url: str = Field(repr=False)
    username: str = Field(default="", max_length=80)
    # Discord's per-channel webhook limit is commonly given as 30 messages a minute.
    min_interval_s: float = Field(default=2.0, ge=0)
    timeout_s: float = Field(default=15.0, gt=0)


def legacy_teams_host(url: str) -> str:
    """The host of a retired Office 365 connector URL (`*.webhook.office.com`,
    `outlook.office.com/webhook`), or "" for any other URL."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return ""
    host = (parts.hostname or "").lower()
    if host == "webhook.office.com" or host.endswith(".webhook.office.com"):
        return host
    if host in ("outlook.office.com", "outlook.office365.com") and parts.path.startswith(
        "/webhook"
    ):
        return host
    return ""


class TeamsChannelConfig(_ChannelBase):
    type: Literal["teams"]
    url: str = Field(repr=False)
    min_interval_s: float = Field(default=1.0, ge=0)
    timeout_s: float = Field(default=15.0, gt=0)

    @field_validator("url")
    @classmethod
    def _is_a_workflows_url(cls, value: str) -> str:
        host = legacy_teams_host(value)
        if host:
            raise ValueError(
                f"a Teams Workflows webhook URL; {host} is a legacy Office 365 connector URL, "
                "which Microsoft is retiring: in Teams, add the Workflows template "
                "'Send webhook alerts to a channel' and use the URL it gives"
            )
        return value


class AppriseChannelConfig(_ChannelBase):
    type: Literal["apprise"]
    url: str = Field(repr=False)
    timeout_s: float = Field(default=30.0, gt=0)


ChannelConfig = Annotated[
    ConsoleChannelConfig
    | FileChannelConfig
    | SlackChannelConfig
    | WebhookChannelConfig
    | EmailChannelConfig
    | DiscordChannelConfig
    | TeamsChannelConfig
    | AppriseChannelConfig,
    Field(discriminator="type"),
]


class DeliveryConfig(_Strict):
    """How hard to try: `max_attempts` sends, backing off from `backoff_base_s` up to
    `backoff_max_s`, for at most `max_age` seconds after the delivery was created; a
    delivery's lease lasts `lease_s`."""

    max_attempts: int = Field(default=8, ge=1)
    backoff_base_s: DurationS = 5.0
    backoff_max_s: DurationS = 3600.0
    lease_s: DurationS = 120.0
    # A delivery this old is not tried again: its next failure makes it DEAD.
    max_age: DurationS = 86400.0


class ClusteringConfig(_Strict):
    """How copies and rewrites of one event are folded into one story (worker/clustering.py):
    an item joins a story whose first report is at most `window` away and that it resembles
    with a similarity of at least `threshold` (0-1), compared against at most `max_candidates`
    recent reports."""

    enabled: bool = True
    window: DurationS = 48 * 3600.0
    threshold: float = Field(default=0.55, gt=0, le=1)
    max_candidates: int = Field(default=500, ge=1, le=100_000)


class DistributedConfig(_Strict):
    """The Celery + Redis runtime (`policywatch scheduler` and `policywatch worker`).

    Celery messages are hints; the store decides what runs. `visibility_timeout_s` is how long
    the broker waits before giving an unacknowledged task to another worker: it must exceed
    `task_time_limit_s`, the hard limit on any task (the soft limit is 90% of it). A delivery
    task is also never allowed to outlive its lease (`delivery.lease_s`).
    """

    visibility_timeout_s: DurationS = 3600.0
    task_time_limit_s: DurationS = 300.0
    sweep_every: DurationS = 2.0
    requeue_after_s: DurationS = 60.0
    leader_ttl_s: DurationS = 10.0
    poll_concurrency: int = Field(default=2, ge=1, le=64)
    deliver_concurrency: int = Field(default=4, ge=1, le=256)

    @model_validator(mode="after")
    def _limits_fit(self) -> DistributedConfig:
        if self.task_time_limit_s >= self.visibility_timeout_s:
            raise _FieldFault(
                ("distributed", "task_time_limit_s"),
                self.task_time_limit_s,
                f"less than distributed.visibility_timeout_s ({self.visibility_timeout_s:g}s)",
            )
        return self


class MetricsConfig(_Strict):
    """The HTTP endpoint serving /metrics, /healthz and /readyz on `bind`:`port` (0: any free
    port, logged). `multiprocess_dir` switches prometheus-client to multiprocess mode for
    prefork Celery workers: an empty folder the worker processes share."""

    port: int = Field(default=9464, ge=0, lt=65536)
    bind: str = "127.0.0.1"
    multiprocess_dir: str = ""


class HealthConfig(_Strict):
    """A running scheduler writes a heartbeat every `heartbeat_every`; /readyz fails, and
    `status` warns, once the last one is older than `stale_after`."""

    heartbeat_every: DurationS = 10.0
    stale_after: DurationS = 60.0

    @model_validator(mode="after")
    def _stale_after_beats(self) -> HealthConfig:
        if self.stale_after <= self.heartbeat_every:
            raise _FieldFault(
                ("health", "stale_after"),
                self.stale_after,
                "a duration longer than heartbeat_every",
            )
        return self


class ReloadConfig(_Strict):
    """A running scheduler re-reads its config on SIGHUP, and (with `watch`) when the file's
    content changes, checked every `check_every`."""

    watch: bool = True
    check_every: DurationS = 2.0


class PollingConfig(_Strict):
    """How feeds are polled: at most `max_fetches` at once in all, `max_per_host` at once per
    host; after errors, each feed waits its interval doubled per failure in a row, up to
    `backoff_max_s`; HTTP/2 where a server offers it if `http2` is on and the h2 package is
    installed."""

    max_fetches: int = Field(default=16, ge=1, le=256)
    max_per_host: int = Field(default=2, ge=1, le=64)
    backoff_max_s: DurationS = 21600.0
    http2: bool = True


class ServeConfig(_Strict):
    """`policywatch serve`: where it listens, who may post (name → bearer token, each from the
    environment) and the largest request body it reads."""

    bind: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, lt=65536)
    tokens: dict[str, str] = Field(default_factory=dict, repr=False)
    max_body_bytes: int = Field(default=5_000_000, gt=0)


_CONTACT = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}|https?://[^\s/]+\.[^\s]+")
MIN_TOKEN_CHARS = 16


def has_contact(user_agent: str) -> bool:
    """True when a User-Agent names an email address or a web address to reach its sender."""
    return bool(_CONTACT.search(user_agent))


class RetentionConfig(_Strict):
    """How long state is kept. `seen`: an item id is forgotten once no poll of its feed has
    carried it for this long (items a feed still carries are never forgotten); null keeps
    every id forever."""

    seen: DurationS | None = 30 * 86400.0


class Settings(_Strict):
    """The whole configuration, built once at start-up and passed down.

    `secrets` holds every value that came from a `${VAR}`: never printed (excluded from dumps
    and repr), kept so logs can redact them.
    """

    state: str = "sqlite:///policywatch.db"
    broker: str = ""
    watchlists: list[WatchlistConfig]
    feeds: list[FeedConfig] = []
    channels: dict[str, ChannelConfig] = {}
    delivery: DeliveryConfig = DeliveryConfig()
    distributed: DistributedConfig = DistributedConfig()
    max_age: DurationS | None = None
    workers: int = Field(default=4, ge=1, le=64)
    user_agent: str = "policywatch/0.1 (+https://github.com/policywatch/policywatch)"
    clustering: ClusteringConfig = ClusteringConfig()
    edgar_user_agent: str = ""
    polling: PollingConfig = PollingConfig()
    serve: ServeConfig = ServeConfig()
    source_file: str = ""
    metrics: MetricsConfig | None = None
    health: HealthConfig = HealthConfig()
    reload: ReloadConfig = ReloadConfig()
    secrets: frozenset[str] = Field(default=frozenset(), exclude=True, repr=False)
    retention: RetentionConfig = RetentionConfig()

    @model_validator(mode="after")
    def _names_resolve(self) -> Settings:
        _require_unique([w.name for w in self.watchlists], "watchlists", "name")
        _require_unique([f.name for f in self.feeds], "feeds", "name")
        for i, watchlist in enumerate(self.watchlists):
            for j, channel in enumerate(watchlist.notify):
                if channel not in self.channels:
                    known = ", ".join(sorted(self.channels)) or "none defined"
                    raise _FieldFault(
                        ("watchlists", i, "notify", j), channel, f"a channel name ({known})"
                    )
        self._check_feeds()
        for name, token in self.serve.tokens.items():
            if len(token.strip()) < MIN_TOKEN_CHARS:
                raise _FieldFault(
                    ("serve", "tokens", name),
                    "(hidden)",
                    f"a token of at least {MIN_TOKEN_CHARS} characters, from the environment",
                )
        return self

    def _check_feeds(self) -> None:
        for i, feed in enumerate(self.feeds):
            for key, kind in _KIND_OF_FIELD.items():
                if getattr(feed, key) and feed.kind != kind:
                    raise _FieldFault(
                        ("feeds", i, key),
                        getattr(feed, key),
                        f"only on a feed of kind {kind} (this one is {feed.kind})",
                    )
            if not feed.url.strip():
                what = "a folder path" if feed.kind == "folder" else "a feed URL or path"
                raise _FieldFault(("feeds", i, "url"), "(missing)", what)
            if feed.kind == "edgar" and not has_contact(feed.user_agent or self.edgar_user_agent):
                where: tuple[str | int, ...] = ("feeds", i, "kind")
                value: object = feed.kind
                if feed.user_agent:
                    where, value = ("feeds", i, "user_agent"), feed.user_agent
                elif self.edgar_user_agent:
                    where, value = ("edgar_user_agent",), self.edgar_user_agent
                raise _FieldFault(
                    where,
                    value,
                    "edgar_user_agent: a User-Agent with your contact email or URL, as SEC "
                    "EDGAR requires (e.g. 'Acme Research ops@acme.example')",
                )


class _FieldFault(ValueError):
    """A cross-field fault that knows which field it is about."""

    def __init__(self, loc: tuple[str | int, ...], value: object, expected: str) -> None:
        super().__init__(expected)
        self.loc = loc
        self.value = value
        self.expected = expected


def _require_unique(names: list[str], section: str, key: str) -> None:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            raise _FieldFault((section, i, key), name, f"a {key} not used twice in {section}")
        seen.add(name)


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """YAML 1.2 booleans: only true/false. YAML 1.1 reads ON, NO, Y as booleans, and ON is a
    ticker (onsemi) and NO a country code; a watchlist must not turn them into True/False.
    libyaml's parser (CSafeLoader) where PyYAML has it: a 2,000-ticker file loads in a tenth
    of the time."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


@dataclass(frozen=True)
class _Located:
    data: Any
    lines: dict[tuple[str | int, ...], int]


def _load_yaml_with_lines(text: str, file: str) -> _Located:
    """Parses once: the node tree gives each path its line, then becomes the data."""
    loader = None
    try:
        loader = _Loader(text)  # the pure Python reader rejects control characters here
        node = loader.get_single_node()
        data = None if node is None else loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([ConfigProblem(file, line, "", problem, "valid YAML")]) from exc
    finally:
        if loader is not None:
            loader.dispose()
    if node is None:
        raise ConfigError([ConfigProblem(file, 1, "", "", "a YAML mapping with watchlists")])
    lines: dict[tuple[str | int, ...], int] = {}
    _index_lines(node, (), lines)
    return _Located(data, lines)


def _index_lines(node: yaml.Node, path: tuple[str | int, ...], out: dict[Any, int]) -> None:
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            out[(*path, key)] = key_node.start_mark.line + 1
            _index_lines(value_node, (*path, key), out)
            out[(*path, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, child in enumerate(node.value):
            _index_lines(child, (*path, i), out)


def _interpolate(
    data: Any, env: Mapping[str, str], path: tuple[str | int, ...], missing: list[Any]
) -> Any:
    if isinstance(data, str):

        def replace(m: re.Match[str]) -> str:
            name = m.group(1)
            if name not in env:
                missing.append((path, name))
                return ""
            return env[name]

        return _ENV_REF.sub(replace, data)
    if isinstance(data, dict):
        return {k: _interpolate(v, env, (*path, k), missing) for k, v in data.items()}
    if isinstance(data, list):
        return [_interpolate(v, env, (*path, i), missing) for i, v in enumerate(data)]
    return data


def format_path(loc: tuple[str | int, ...]) -> str:
    """('watchlists', 2, 'notify', 0) → 'watchlists[2].notify[0]'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _line_for(lines: dict[tuple[str | int, ...], int], loc: tuple[str | int, ...]) -> int | None:
    for n in range(len(loc), -1, -1):
        if loc[:n] in lines:
            return lines[loc[:n]]
    return None


def _value_at(data: Any, loc: tuple[str | int, ...]) -> object:
    for part in loc:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _clean_loc(loc: tuple[Any, ...]) -> tuple[str | int, ...]:
    # pydantic puts the discriminator tag into the location ("channels.x.slack.url")
    tags = {"console", "file", "slack", "webhook", "email", "discord", "teams", "apprise"}
    out: list[str | int] = []
    for i, part in enumerate(loc):
        if i >= 2 and loc[0] == "channels" and i == 2 and part in tags:
            continue
        out.append(part)
    return tuple(out)


# Fields that hold credentials (webhook URLs are credentials): errors never show their values.
_SECRET_FIELDS = frozenset({"url", "secret", "password", "headers"})


def _problems_from(exc: ValidationError, located: _Located, file: str) -> list[ConfigProblem]:
    problems = []
    for err in exc.errors():
        ctx_error = (err.get("ctx") or {}).get("error")
        if isinstance(ctx_error, _FieldFault):
            loc, value, expected = ctx_error.loc, ctx_error.value, ctx_error.expected
        else:
            loc = _clean_loc(tuple(err["loc"]))
            value = err.get("input") if err["type"] != "missing" else "(missing)"
            if loc and loc[-1] in _SECRET_FIELDS and err["type"] != "missing":
                value = "(hidden)"
            expected = _expected_from(err)
        problems.append(
            ConfigProblem(file, _line_for(located.lines, loc), format_path(loc), value, expected)
        )
    return problems


def _expected_from(err: Any) -> str:
    kind = err["type"]
    if kind == "missing":
        return "this required field"
    if kind == "extra_forbidden":
        return "no such field here (check the spelling)"
    if kind == "union_tag_invalid":
        tags = err.get("ctx", {}).get("expected_tags", "")
        return f"a known channel type: {tags}"
    if kind == "union_tag_not_found":
        return "a `type:` field naming the channel kind"
    msg: str = err["msg"]
    return msg.removeprefix("Value error, ").removeprefix("Input should be ")


def load_settings(path: str | Path, env: Mapping[str, str] | None = None) -> Settings:
    """Read, interpolate and validate a config file.

    Raises ConfigError listing every problem found.
    """
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([ConfigProblem(file, None, "", str(exc), "a readable file")]) from exc
    return parse_settings(text, file, os.environ if env is None else env)


def parse_settings(text: str, file: str, env: Mapping[str, str]) -> Settings:
    """Validate config text; `file` is only used to name the source in errors."""
    located = _load_yaml_with_lines(text, file)
    if not isinstance(located.data, dict):
        raise ConfigError(
            [ConfigProblem(file, 1, "", located.data, "a YAML mapping with watchlists")]
        )
    missing: list[Any] = []
    data = _interpolate(located.data, env, (), missing)
    problems = [
        ConfigProblem(
            file,
            _line_for(located.lines, p),
            format_path(p),
            _value_at(located.data, p),
            f"environment variable {name} to be set",
        )
        for p, name in missing
    ]
    problems.extend(_tokens_written_in_the_file(located, file))
    secrets = _env_values(located.data, env)
    try:
        settings = Settings.model_validate({**data, "source_file": file})
    except ValidationError as exc:
        problems.extend(_problems_from(exc, located, file))
        raise ConfigError(_hide_secrets(problems, secrets)) from exc
    if problems:
        raise ConfigError(problems)
    return settings.model_copy(update={"secrets": secrets})


def _env_values(data: Any, env: Mapping[str, str]) -> frozenset[str]:
    """Every value a `${VAR}` in `data` takes from `env`: what logs must never show."""
    if isinstance(data, str):
        return frozenset(env[n] for n in _ENV_REF.findall(data) if env.get(n))
    if isinstance(data, dict):
        return frozenset().union(*(_env_values(v, env) for v in data.values()))
    if isinstance(data, list):
        return frozenset().union(*(_env_values(v, env) for v in data))
    return frozenset()


def _hide_secrets(problems: list[ConfigProblem], secrets: frozenset[str]) -> list[ConfigProblem]:
    """A bad value that came from the environment is named, never shown."""
    out = []
    for p in problems:
        shown = str(p.value)
        if any(s and s in shown for s in secrets):
            p = replace(p, value="(hidden: from an environment variable)")
        out.append(p)
    return out


def _tokens_written_in_the_file(located: _Located, file: str) -> list[ConfigProblem]:
    """Bearer tokens are secrets: each must be a `${NAME}` from the environment."""
    serve = located.data.get("serve")
    tokens = serve.get("tokens") if isinstance(serve, dict) else None
    if not isinstance(tokens, dict):
        return []
    return [
        ConfigProblem(
            file,
            _line_for(located.lines, ("serve", "tokens", name)),
            format_path(("serve", "tokens", name)),
            "(hidden)",
            "${NAME}: a token read from the environment, never written in the file",
        )
        for name, value in tokens.items()
        if isinstance(value, str) and not _ENV_REF.fullmatch(value.strip())
    ]


def env_flag(name: str) -> bool:
    """Read a boolean switch from the environment (used for CI detection in tooling)."""
    return os.environ.get(name, "").lower() not in ("", "0", "false", "no")


def current_user() -> str:
    """Who runs this command (for a silence's `created_by`): $USER, else $LOGNAME, else "?"."""
    return os.environ.get("USER") or os.environ.get("LOGNAME") or "?"
