"""The watchlist: TOML -> frozen, validated models, and the JSON schema editors validate with.

Every error names the file, the line and the key (``watcher.toml:14: watch[2].every: …``),
because users edit this file by hand and run watcher unattended.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import re
import string
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from watcher.errors import BrowserUnavailableError, ConfigError
from watcher.guard import DEFAULT_PORTS
from watcher.read.extract import check_selector
from watcher.read.normalize import compile_ignore

DEFAULT_USER_AGENT = "watcher/0.1 (+https://github.com/watcher-news/watcher)"

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)", re.IGNORECASE)
_DURATION_WHOLE = re.compile(r"^\s*(?:\d+(?:\.\d+)?\s*(?:ms|s|m|h|d|w)\s*)+$", re.IGNORECASE)
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: object, *, allow_zero: bool = False) -> timedelta:
    """Accept ``"15m"``, ``"1h30m"``, ``"90s"``, ``"2d"`` or a number of seconds."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and _DURATION_WHOLE.match(value):
        seconds = sum(
            float(n) * _UNIT_SECONDS[unit.lower()] for n, unit in _DURATION_PART.findall(value)
        )
    else:
        raise ValueError(f"{value!r} is not a duration (use e.g. 90s, 15m, 1h30m, 2d)")
    if seconds < 0 or (seconds == 0 and not allow_zero):
        raise ValueError(f"{value!r} must be longer than zero")
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """The inverse of ``parse_duration`` for whole seconds: ``timedelta(minutes=90)`` -> 1h30m."""
    seconds = int(value.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": _DURATION_WHOLE.pattern},
                {"type": "number", "exclusiveMinimum": 0},
            ],
            "description": "A duration: 90s, 15m, 1h30m, 2d, or seconds as a number.",
        }
    ),
]

# A delay that may be zero ("0s": act at once).
Delay = Annotated[
    timedelta,
    BeforeValidator(lambda value: parse_duration(value, allow_zero=True)),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": _DURATION_WHOLE.pattern},
                {"type": "number", "minimum": 0},
            ],
            "description": "A delay: 0s, 5s, 1m, or seconds as a number.",
        }
    ),
]


# The politeness floor of age tiers: no schedule checks a page more often than this.
MIN_EVERY = timedelta(minutes=1)
_TIER_ENTRY = re.compile(r"^\s*(?P<every>\S+)\s+for\s+(?P<until>\S+)\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Tier:
    """Check every ``every`` while the article is younger than ``until`` (None: forever)."""

    every: timedelta
    until: timedelta | None


@dataclass(frozen=True, slots=True)
class AgeSchedule:
    """Tiers by age; ``retire`` ends checking after the last one."""

    tiers: tuple[Tier, ...]
    retire: bool


def parse_age_schedule(entries: Sequence[str]) -> AgeSchedule:
    """``["5m for 6h", …, "retire"]`` -> ``AgeSchedule``; ``ValueError`` names the entry."""
    if not entries:
        raise ValueError("schedule needs at least one tier, e.g. ['5m for 6h', '1h']")
    tiers: list[Tier] = []
    retire = False
    for index, entry in enumerate(entries):
        last = index == len(entries) - 1
        where = f"schedule[{index}] {entry!r}"
        if entry.strip().lower() == "retire":
            if not last:
                raise ValueError(f"{where}: 'retire' can only be the last entry")
            if not tiers:
                raise ValueError(f"{where}: retire after what? give a tier first")
            retire = True
            continue
        match = _TIER_ENTRY.match(entry)
        try:
            if match:
                every = parse_duration(match["every"])
                until: timedelta | None = parse_duration(match["until"])
            elif last:
                every, until = parse_duration(entry.strip()), None
            else:
                raise ValueError("write 'INTERVAL for AGE', e.g. '30m for 2d'")
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
        if every < MIN_EVERY:
            raise ValueError(
                f"{where}: checks at most every {format_duration(MIN_EVERY)} (politeness)"
            )
        if until is not None and tiers and tiers[-1].until is not None and until <= tiers[-1].until:
            before = format_duration(tiers[-1].until)
            raise ValueError(f"{where}: ages must grow (the tier before ends at {before})")
        tiers.append(Tier(every, until))
    return AgeSchedule(tuple(tiers), retire)


@functools.lru_cache(maxsize=256)
def _cached_schedule(entries: tuple[str, ...]) -> AgeSchedule:
    # Asked once per check of every page on a schedule; a watchlist has a handful of them.
    return parse_age_schedule(entries)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Settings(_Model):
    """Defaults for every watch, and where state is kept."""

    database: str = Field(
        default="sqlite:///watcher.db",
        description="SQLAlchemy URL; the environment variable WATCHER_DATABASE overrides it.",
    )
    user_agent: str = Field(default=DEFAULT_USER_AGENT, min_length=1)
    every: Duration = Field(default=timedelta(minutes=15), description="Default check interval.")
    timeout: Duration = Field(
        default=timedelta(seconds=20), description="Connect and read timeout per request."
    )
    deadline: Duration = Field(
        default=timedelta(seconds=60), description="Total time one fetch may take."
    )
    max_bytes: int = Field(
        default=10 * 1024 * 1024, gt=0, description="Largest page body accepted, decompressed."
    )
    max_text: int = Field(
        default=2 * 1024 * 1024,
        gt=0,
        description="Longest text read from a page, in characters; a page whose text is "
        "longer is refused as an error (page text too large) instead of being stored.",
    )
    workers: int = Field(default=4, ge=1, le=64, description="Pages fetched at the same time.")
    readers: int | None = Field(
        default=None,
        ge=1,
        le=64,
        description="Reader processes that parse pages at the same time (default: one per CPU).",
    )
    read_timeout: Duration = Field(
        default=timedelta(seconds=30),
        description="Longest a reader may spend on one page before it is killed "
        "(the check is recorded as 'reader timeout').",
    )
    reader_memory: int = Field(
        default=2 * 1024 * 1024 * 1024,
        ge=256 * 1024 * 1024,
        description="Address space one reader process may use, in bytes; a page that needs "
        "more fails alone as 'reader out of memory'.",
    )
    per_host: int = Field(
        default=2, ge=1, le=64, description="Requests to one host at the same time (daemon)."
    )
    host_delay: Duration = Field(
        default=timedelta(seconds=1),
        description="Least time between the starts of two requests to one host (daemon).",
    )
    default_notify: list[str] = Field(
        default_factory=list,
        description="Routes for watches that name none and match no route's tags.",
    )
    alert_give_up: Duration = Field(
        default=timedelta(hours=24),
        description="How long an undelivered alert is retried before it is given up (logged).",
    )
    removal_phrases: str | None = Field(
        default=None,
        description="A file of extra removal-notice and not-found phrases, added to the "
        "shipped list (format: watcher/data/removal_phrases.txt).",
    )
    confirm: bool = Field(
        default=True,
        description="Re-fetch a page before reporting a change or removal; a change seen "
        "only once (A/B tests, flapping CDNs) or only in parts that differ between two "
        "loads is not reported.",
    )
    confirm_delay: Delay = Field(
        default=timedelta(0),
        le=timedelta(minutes=10),
        description="Wait this long before the confirming fetch (at most 10m).",
    )
    unreachable_after: Duration = Field(
        default=timedelta(hours=1),
        description="How long a page must keep failing before one 'unreachable' alert.",
    )
    unhealthy_after: Duration = Field(
        default=timedelta(minutes=10),
        description="How long the daemon may go without completing a check or a delivery "
        "(or finding nothing due) before it stops answering systemd's watchdog.",
    )
    wayback_endpoint: str = Field(
        default="https://web.archive.org/save/",
        pattern=r"^https?://",
        description="Save Page Now, asked to capture pages whose watch or route has "
        'archive = ["wayback"]; the page URL is appended.',
    )
    fast_after_change: Duration = Field(
        default=timedelta(hours=6),
        description="A page on an age schedule that changes is checked at its first tier's "
        "pace for this long.",
    )
    allow_private: bool = Field(
        default=False,
        description="Let every watch fetch private, loopback and link-local addresses and any "
        "port (an intranet on purpose); by default the network guard refuses them.",
    )
    allowed_ports: list[Annotated[int, Field(ge=1, le=65535)]] = Field(
        default_factory=lambda: sorted(DEFAULT_PORTS),
        description="Ports a watch may fetch from without allow_private.",
    )
    allow_networks: list[str] = Field(
        default_factory=list,
        description="Networks every watch may fetch from although the guard refuses private "
        'addresses, e.g. ["10.20.0.0/16"]: a narrower opening than allow_private.',
    )
    browsers: int = Field(
        default=2,
        ge=1,
        le=16,
        description='Pages loaded at once by the shared headless browser (fetch = "browser").',
    )
    browser_recycle: int = Field(
        default=100,
        ge=1,
        description="The browser is restarted after this many pages (leaks stay bounded).",
    )
    browser_memory: int = Field(
        default=1024 * 1024 * 1024,
        ge=128 * 1024 * 1024,
        description="The browser is restarted once its processes use more memory than this "
        "(proportional set size, bytes).",
    )
    browser_executable: str | None = Field(
        default=None,
        description="Chromium to drive; default: chromium (Debian's package) found on PATH.",
    )
    base_url: str | None = Field(
        default=None,
        pattern=r"^https?://",
        description="Where `watcher serve` is reached from outside, e.g. "
        "https://watcher.example.org; alerts then link to the change's page.",
    )
    metrics: str | None = Field(
        default=None,
        pattern=r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$",
        description="Serve Prometheus metrics from the daemon at HOST:PORT, e.g. "
        '"127.0.0.1:9108" (off by default; the endpoint has no authentication).',
    )

    @field_validator("metrics")
    @classmethod
    def _metrics_port(cls, value: str | None) -> str | None:
        if value is not None and not 0 < int(value.rsplit(":", 1)[1]) < 65536:
            raise ValueError(f"{value!r}: the port must be 1 to 65535")
        return value

    @field_validator("allow_networks")
    @classmethod
    def _networks_parse(cls, value: list[str]) -> list[str]:
        for text in value:
            try:
                ipaddress.ip_network(text)
            except ValueError as exc:
                raise ValueError(f"{text!r} is not a network: {exc}") from None
        return value


TemplateName = Literal["title", "slack", "html", "text"]
# The placeholders an alert template may use (watcher.alerts.message fills them in, escaped).
TEMPLATE_FIELDS = (
    "kind",
    "page",
    "url",
    "link",
    "detected_at",
    "summary",
    "diff",
    "route",
    "evidence",
)


# Independent copies: where a confirmed change is also captured. Each is delivered as an
# outbox row of the route named ARCHIVE_ROUTE_PREFIX + name (watcher.alerts.wayback).
Archive = Literal["wayback"]
ARCHIVE_ROUTE_PREFIX = "archive:"


class Route(_Model):
    """A named set of apprise URLs; secrets can live in the environment or a file."""

    urls: list[str] = Field(default_factory=list, description="apprise URLs.")
    urls_env: str | None = Field(
        default=None, description="Environment variable holding URLs, separated by spaces."
    )
    urls_file: str | None = Field(
        default=None, description="File holding URLs, one per line (systemd LoadCredential=)."
    )
    tags: list[str] = Field(
        default_factory=list, description="Watches with any of these tags also alert here."
    )
    digest: Duration | None = Field(
        default=None, description="Group this route's alerts into one message per period."
    )
    archive: list[Archive] = Field(
        default_factory=list,
        description='["wayback"]: pages alerted here are also captured by the Internet Archive.',
    )
    on: list[Literal["dropped"]] = Field(
        default_factory=list,
        description='Events told here besides changes, removals and outages: ["dropped"] '
        "(an article left its source soon after it appeared, while still online).",
    )
    templates: dict[TemplateName, str] = Field(
        default_factory=dict,
        description="Message templates ($kind, $page, $url, $link, $detected_at, $summary, "
        "$diff, $route): title, slack (Markdown), html (email), text.",
    )

    @model_validator(mode="after")
    def _has_a_source(self) -> Route:
        if not (self.urls or self.urls_env or self.urls_file):
            raise ValueError("a route needs urls, urls_env or urls_file")
        return self

    @field_validator("templates")
    @classmethod
    def _templates_parse(cls, value: dict[TemplateName, str]) -> dict[TemplateName, str]:
        for name, text in value.items():
            template = string.Template(text)
            if not template.is_valid():
                raise ValueError(f"templates.{name}: a $ must be written $$")
            unknown = set(template.get_identifiers()) - set(TEMPLATE_FIELDS)
            if unknown:
                known = ", ".join(f"${field}" for field in TEMPLATE_FIELDS)
                raise ValueError(f"templates.{name}: unknown {sorted(unknown)}; use {known}")
        return value


Mode = Literal["article", "selector", "page"]
Fetcher = Literal["http", "browser"]


def _browser_installed(fetch: Fetcher) -> None:
    """A browser watch needs the optional extra; say how to get it."""
    if fetch != "browser":
        return
    try:
        import playwright  # noqa: F401
    except ImportError:
        hint = BrowserUnavailableError.HINT
        raise ValueError(f'fetch = "browser" needs Playwright and Chromium: {hint}') from None


def _browser_options(fetch: Fetcher, screenshot: bool | None, wait_for: str | None) -> None:
    if fetch != "browser" and (screenshot is not None or wait_for is not None):
        raise ValueError('screenshot and wait_for are only used with fetch = "browser"')
    if wait_for is not None:
        check_selector(wait_for)
    _browser_installed(fetch)


def _ignore_rules_compile(value: list[str]) -> list[str]:
    """An ``ignore`` list of a watch or source: every rule must compile."""
    compile_ignore(value)
    return value


def _exclude_selectors_parse(value: list[str]) -> list[str]:
    """An ``exclude`` list of a watch or source: every CSS selector must parse."""
    for selector in value:
        check_selector(selector)
    return value


class Watch(_Model):
    """One page to watch."""

    url: str = Field(description="http(s) URL of the article.")
    name: str = Field(default="", description="Shown in alerts; defaults to the URL.")
    tags: list[str] = Field(default_factory=list)
    mode: Mode = Field(
        default="article",
        description="article: main text; selector: elements matching `selector`; page: all text.",
    )
    selector: str | None = Field(default=None, description="CSS selector for mode = selector.")
    exclude: list[str] = Field(
        default_factory=list, description="CSS selectors removed before extraction."
    )
    ignore: list[str] = Field(
        default_factory=list, description="Regular expressions dropped before comparing."
    )
    every: Duration | None = Field(default=None, description="Check interval; default: settings.")
    cron: str | None = Field(default=None, description="Cron schedule instead of `every`.")
    headers: dict[str, str] = Field(default_factory=dict)
    cookies: dict[str, str] = Field(default_factory=dict)
    proxy: str | None = Field(
        default=None, description="Proxy URL: http://, https://, socks5:// or socks5h://."
    )
    notify: list[str] = Field(default_factory=list, description="Names of [notify.*] routes.")
    archive: list[Archive] = Field(
        default_factory=list,
        description='["wayback"]: ask the Internet Archive to capture the page on each '
        "confirmed change or removal.",
    )
    allow_private: bool = Field(
        default=False,
        description="Fetch this page even on a private, loopback or link-local address or an "
        "unusual port (an intranet page on purpose).",
    )
    schedule: list[str] | None = Field(
        default=None,
        description='Check by age instead of every/cron: ["5m for 6h", "30m for 2d", '
        '"6h for 30d", "retire"]; age counts from the stated date, else discovery.',
    )
    fetch: Fetcher = Field(
        default="http",
        description="http: a plain request (fast, the default); browser: load the page in "
        "headless Chromium and read the DOM after its scripts ran (pages rendered by "
        "JavaScript; needs pip install 'watcher[browser]').",
    )
    screenshot: bool | None = Field(
        default=None,
        description='Keep a full-page PNG with every stored version (fetch = "browser"; '
        "default true).",
    )
    wait_for: str | None = Field(
        default=None,
        description="CSS selector the browser waits for before reading (fetch = "
        '"browser"); default: the page settles (no network for 0.5 s).',
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return cls.check_http_url(value)

    @staticmethod
    def check_http_url(value: str) -> str:
        """``value`` stripped, if it is an http(s) URL with a host and no white space."""
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{value!r} is not an http(s) URL")
        if any(char.isspace() for char in value.strip()):
            raise ValueError(f"{value!r} contains white space; write it as %20")
        return value.strip()

    @field_validator("proxy")
    @classmethod
    def _proxy_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        scheme = urlsplit(value).scheme
        if scheme not in ("http", "https", "socks4", "socks4a", "socks5", "socks5h"):
            raise ValueError(f"{value!r}: proxy must be http, https, socks4, socks5 or socks5h")
        return value

    _regexes_compile = field_validator("ignore")(_ignore_rules_compile)
    _selectors_parse = field_validator("exclude")(_exclude_selectors_parse)

    @field_validator("selector")
    @classmethod
    def _selector_parses(cls, value: str | None) -> str | None:
        if value is not None:
            check_selector(value)
        return value

    @field_validator("schedule")
    @classmethod
    def _schedule_parses(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            parse_age_schedule(value)
        return value

    @property
    def age_schedule(self) -> AgeSchedule | None:
        return _cached_schedule(tuple(self.schedule)) if self.schedule is not None else None

    @field_validator("cron")
    @classmethod
    def _cron_parses(cls, value: str | None) -> str | None:
        if value is not None:
            _check_cron(value)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Watch:
        if self.mode == "selector" and not self.selector:
            raise ValueError('mode = "selector" needs a selector')
        if self.selector and self.mode != "selector":
            raise ValueError('selector is only used with mode = "selector"')
        if self.every is not None and self.cron is not None:
            raise ValueError("give either every or cron, not both")
        if self.schedule is not None and (self.every is not None or self.cron is not None):
            raise ValueError("give either schedule or every/cron, not both")
        _browser_options(self.fetch, self.screenshot, self.wait_for)
        return self

    @property
    def label(self) -> str:
        return self.name or self.url

    @property
    def takes_screenshot(self) -> bool:
        """Whether a stored version of this watch keeps a screenshot."""
        return self.fetch == "browser" and self.screenshot is not False


SourceKind = Literal["feed", "sitemap", "section"]


class Source(_Model):
    """A feed, news sitemap or section page whose articles are watched as they appear.

    The articles it lists become pages in the database (never in this file), checked with
    the options below as if each were a ``[[watch]]`` of its own.
    """

    url: str = Field(description="http(s) URL of the RSS/Atom feed, sitemap or section page.")
    name: str = Field(default="", description="Shown in `watcher list`; defaults to the URL.")
    kind: SourceKind | None = Field(
        default=None,
        description="feed, sitemap or section; default: section if `links` is set, else "
        "told from the document (RSS/Atom or urlset/sitemapindex).",
    )
    links: str | None = Field(
        default=None,
        description="Section pages: a regular expression the whole article URL must match, "
        r"e.g. 'https://example\.com/\d{4}/\d{2}/.*\.html'.",
    )
    poll: Duration = Field(
        default=timedelta(minutes=10), description="How often the source itself is read."
    )
    every: Duration | None = Field(
        default=None, description="Check interval of its articles; default: settings.every."
    )
    schedule: list[str] | None = Field(
        default=None,
        description='Check its articles by age: ["5m for 6h", "30m for 2d", "6h for 30d", '
        '"retire"]; age counts from the date the source or page states, else discovery.',
    )
    match: str | None = Field(
        default=None,
        description="Only articles whose URL or title contains a match of this regular expression.",
    )
    since: Duration | None = Field(
        default=None, description="Ignore items the source dates older than this."
    )
    dropped_within: Duration = Field(
        default=timedelta(hours=48),
        description="An article leaving the source this soon after it appeared, while still "
        'online, is a "dropped" event.',
    )
    tags: list[str] = Field(default_factory=list)
    notify: list[str] = Field(default_factory=list, description="Names of [notify.*] routes.")
    mode: Mode = Field(default="article", description="How its articles are read.")
    exclude: list[str] = Field(
        default_factory=list, description="CSS selectors removed before extraction."
    )
    ignore: list[str] = Field(
        default_factory=list, description="Regular expressions dropped before comparing."
    )
    allow_private: bool = Field(
        default=False,
        description="Read the source and its articles even on private or loopback addresses.",
    )
    fetch: Fetcher = Field(
        default="http",
        description="How its articles are fetched: http, or browser (headless Chromium).",
    )
    screenshot: bool | None = Field(
        default=None,
        description='Keep a screenshot with each stored version (fetch = "browser").',
    )
    wait_for: str | None = Field(
        default=None, description='CSS selector the browser waits for (fetch = "browser").'
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return Watch.check_http_url(value)

    @field_validator("schedule")
    @classmethod
    def _schedule_parses(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            parse_age_schedule(value)
        return value

    @field_validator("links", "match")
    @classmethod
    def _pattern_compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"{value!r} is not a regular expression: {exc}") from None
        return value

    _regexes_compile = field_validator("ignore")(_ignore_rules_compile)
    _selectors_parse = field_validator("exclude")(_exclude_selectors_parse)

    @model_validator(mode="after")
    def _consistent(self) -> Source:
        if self.kind == "section" and not self.links:
            raise ValueError('kind = "section" needs links, a pattern of article URLs')
        if self.links and self.kind not in (None, "section"):
            raise ValueError("links is only used by section pages")
        if self.schedule is not None and self.every is not None:
            raise ValueError("give either schedule or every, not both")
        _browser_options(self.fetch, self.screenshot, self.wait_for)
        return self

    @property
    def label(self) -> str:
        return self.name or self.url

    def watch_for(self, url: str, name: str = "") -> Watch:
        """How an article this source found is checked: its options, as a watch."""
        return Watch(
            url=url,
            name=name,
            tags=list(self.tags),
            mode=self.mode,
            exclude=list(self.exclude),
            ignore=list(self.ignore),
            every=self.every,
            schedule=self.schedule,
            notify=list(self.notify),
            allow_private=self.allow_private,
            fetch=self.fetch,
            screenshot=self.screenshot,
            wait_for=self.wait_for,
        )


class Watchlist(_Model):
    """The whole file: settings, notification routes, the watches and the sources."""

    settings: Settings = Field(default_factory=Settings)
    notify: dict[str, Route] = Field(default_factory=dict)
    watch: list[Watch] = Field(default_factory=list)
    source: list[Source] = Field(default_factory=list)

    def _check_routes(self, where: tuple[str | int, ...], routes: Sequence[str]) -> None:
        """Every route a watch or source names must be defined under [notify]."""
        for position, route in enumerate(routes):
            if route not in self.notify:
                known = ", ".join(sorted(self.notify)) or "none defined"
                raise _LocatedError(
                    (*where, position), f"no route named {route!r} (routes: {known})"
                )

    @model_validator(mode="after")
    def _cross_checks(self) -> Watchlist:
        seen: dict[str, int] = {}
        for index, watch in enumerate(self.watch):
            key = canonical_url(watch.url)
            if key in seen:
                raise _LocatedError(
                    ("watch", index, "url"),
                    f"{watch.url!r} is already watched by watch[{seen[key]}]",
                )
            seen[key] = index
            self._check_routes(("watch", index, "notify"), watch.notify)
        sources: dict[str, int] = {}
        for index, source in enumerate(self.source):
            key = canonical_url(source.url)
            if key in sources:
                raise _LocatedError(
                    ("source", index, "url"),
                    f"{source.url!r} is already read by source[{sources[key]}]",
                )
            sources[key] = index
            self._check_routes(("source", index, "notify"), source.notify)
        for position, route in enumerate(self.settings.default_notify):
            if route not in self.notify:
                known = ", ".join(sorted(self.notify)) or "none defined"
                raise _LocatedError(
                    ("settings", "default_notify", position),
                    f"no route named {route!r} (routes: {known})",
                )
        return self

    def routes_for(self, watch: Watch) -> tuple[str, ...]:
        """Where ``watch`` alerts: its own routes plus tag routes, else the defaults."""
        routes = list(watch.notify)
        tags = set(watch.tags)
        routes += [name for name, route in self.notify.items() if tags & set(route.tags)]
        if not routes:
            routes = list(self.settings.default_notify)
        archives = [*watch.archive]
        archives += [a for name in routes if name in self.notify for a in self.notify[name].archive]
        routes += [ARCHIVE_ROUTE_PREFIX + archive for archive in archives]
        return tuple(dict.fromkeys(routes))

    def dropped_routes(self, source: Source) -> tuple[str, ...]:
        """The routes of ``source``'s articles that asked to be told of dropped articles."""
        routes = self.routes_for(source.watch_for(source.url))
        return tuple(r for r in routes if r in self.notify and "dropped" in self.notify[r].on)

    def find(self, url: str) -> Watch | None:
        key = canonical_url(url)
        return next((w for w in self.watch if canonical_url(w.url) == key), None)


class _LocatedError(ValueError):
    """A cross-field error that knows which key it is about."""

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message


def canonical_url(url: str) -> str:
    """The identity of a URL for duplicate detection: lower-case host, no fragment."""
    parts = urlsplit(url.strip())
    path = parts.path or "/"
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, parts.query, ""))


def _check_cron(expression: str) -> None:
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(expression, timezone="UTC")
    except ValueError as exc:
        raise ValueError(f"{expression!r} is not a cron expression: {exc}") from None


def load_watchlist(path: Path) -> Watchlist:
    """Read and validate the watchlist at ``path``; raise ``ConfigError`` naming line and key."""
    try:
        source = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file (create one, e.g. from config/)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    return parse_watchlist(source, str(path))


def parse_watchlist(source: str, filename: str = "watcher.toml") -> Watchlist:
    """Validate TOML text; ``filename`` only labels error messages."""
    try:
        data = tomllib.loads(source)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = re.search(r"\(at line (\d+), column \d+\)", message)
        line = f":{match.group(1)}" if match else ""
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", message)
        raise ConfigError(f"{filename}{line}: invalid TOML: {reason}") from None
    try:
        return Watchlist.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, source, filename)) from None


def _describe(exc: ValidationError, source: str, filename: str) -> str:
    """One line per problem: ``file:line: key.path: message``."""
    lines = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        message = error["msg"]
        context = error.get("ctx") or {}
        located = context.get("error")
        if isinstance(located, _LocatedError):
            loc = loc + located.loc if loc and loc[-1] != located.loc[0] else located.loc
            message = located.message
        elif error["type"] == "extra_forbidden":
            allowed = ", ".join(_allowed_keys(loc[:-1]))
            message = f"unknown key {loc[-1]!r}; allowed here: {allowed}"
        elif error["type"] == "missing":
            message = "required key is missing"
        else:
            message = re.sub(r"^(Value error|Assertion failed), ", "", message)
        line = _line_of(source, loc)
        where = f"{filename}:{line}" if line else filename
        lines.append(f"{where}: {_format_loc(loc)}: {message}")
    return "\n".join(lines)


def _format_loc(loc: Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _allowed_keys(loc: Sequence[str | int]) -> list[str]:
    model: Any = Watchlist
    for part in loc:
        if isinstance(part, int):
            continue
        if model is Watchlist and part == "notify":
            model = dict
            continue
        if model is dict:
            model = Route
            continue
        field = model.model_fields.get(part)
        annotation = getattr(field, "annotation", None)
        if annotation is None:
            return []
        if part == "watch":
            model = Watch
        elif part == "source":
            model = Source
        elif part == "settings":
            model = Settings
        else:
            return []
    return sorted(model.model_fields) if hasattr(model, "model_fields") else []


def _line_of(source: str, loc: Sequence[str | int]) -> int | None:
    """Best-effort line number of ``loc`` in hand-written TOML; None if it cannot tell."""
    if not loc:
        return None
    lines = source.splitlines()
    header = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?")
    # Find the table the key lives in: [[watch]] number N, [settings], [notify.NAME].
    table_start, table_end = 0, len(lines)
    rest: Sequence[str | int] = loc
    if loc[0] in ("watch", "source") and len(loc) > 1 and isinstance(loc[1], int):
        table = re.compile(rf"^\s*\[\[\s*{loc[0]}\s*\]\]")
        starts = [i for i, text in enumerate(lines) if table.match(text)]
        if loc[1] >= len(starts):
            return None
        table_start = starts[loc[1]]
        rest = loc[2:]
    elif loc[0] == "notify" and len(loc) > 1:
        name = str(loc[1])
        starts = [
            i
            for i, text in enumerate(lines)
            if re.match(rf"^\s*\[\s*notify\.\"?{re.escape(name)}\"?\s*\]", text)
        ]
        if not starts:
            return None
        table_start = starts[0]
        rest = loc[2:]
    elif loc[0] == "settings":
        starts = [i for i, text in enumerate(lines) if re.match(r"^\s*\[\s*settings\s*\]", text)]
        if not starts:
            return None
        table_start = starts[0]
        rest = loc[1:]
    else:
        table_end = next((i for i, text in enumerate(lines) if header.match(text)), len(lines))
    for i in range(table_start + 1, len(lines)):
        if header.match(lines[i]) and i > table_start:
            table_end = i
            break
    key = next((part for part in rest if isinstance(part, str)), None)
    if key is not None:
        pattern = re.compile(rf"^\s*\"?{re.escape(key)}\"?\s*=")
        for i in range(table_start if rest is loc else table_start + 1, table_end):
            if pattern.match(lines[i]):
                return i + 1
    return table_start + 1 if rest is not loc else None


def schema_text() -> str:
    """The JSON schema of the watchlist, as committed in ``config/``."""
    schema = Watchlist.model_json_schema(mode="validation")
    schema["$schema"] = "http://json-schema.org/draft-07/schema#"
    schema["title"] = "watcher watchlist"
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
