"""Age tiers: parsing with file:line errors, tiers by stated date or discovery, the reset to
a fast tier after a change, retirement; a property over the pace; the daemon end to end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.test_daemon import Clock, Site, drain, make_daemon, site
from tests.test_discover import MakeDaemon, rss, watchlist
from watcher.cli import main
from watcher.config import MIN_EVERY, Settings, Watch, parse_age_schedule, parse_watchlist
from watcher.errors import ConfigError
from watcher.service.tiers import born_at, next_tier_check, plan_tier, tier_for, tier_summary
from watcher.store.models import Page
from watcher.store.store import Store

__all__ = ["make_daemon", "site"]  # fixtures

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
NEWS = ["5m for 6h", "30m for 2d", "6h for 30d", "retire"]
H = timedelta(hours=1)


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        ('["5m for 6h", "30m for 2h"]', "schedule[1] '30m for 2h': ages must grow (the tier "),
        ('["30s for 1h", "1h"]', "schedule[0] '30s for 1h': checks at most every 1m"),
        ('["retire", "5m"]', "schedule[0] 'retire': 'retire' can only be the last entry"),
        ('["5m", "1h"]', "schedule[0] '5m': write 'INTERVAL for AGE'"),
        ('["5m for soon", "retire"]', "schedule[0] '5m for soon': 'soon' is not a duration"),
        ("[]", "schedule needs at least one tier"),
    ],
)
def test_bad_schedule_is_a_located_error(entries: str, expected: str) -> None:
    """A schedule mistake names the file, the line, the key and the entry."""
    text = f"[[source]]\nurl = 'https://a.example/feed'\nschedule = {entries}\n"
    with pytest.raises(ConfigError) as caught:
        parse_watchlist(text, "w.toml")
    assert str(caught.value).startswith(f"w.toml:3: source[0].schedule: {expected}")


def test_schedule_excludes_every_and_cron_on_a_watch() -> None:
    """A hand-written watch keeps every/cron unless it sets a schedule, never both."""
    text = "[[watch]]\nurl = 'https://a.example/'\nevery = '1h'\nschedule = ['5m for 1h', '1h']\n"
    with pytest.raises(ConfigError, match="give either schedule or every/cron"):
        parse_watchlist(text, "w.toml")


def test_tiers_by_age_and_retirement() -> None:
    """Each age falls in the first tier that has not ended; past the last, retired."""
    schedule = parse_age_schedule(NEWS)
    paces = [
        tier_for(schedule, age)
        for age in (timedelta(0), 5 * H, 6 * H, 47 * H, 48 * H, timedelta(days=31))
    ]
    assert [t.every if t else None for t in paces] == [
        timedelta(minutes=5),
        timedelta(minutes=5),
        timedelta(minutes=30),
        timedelta(minutes=30),
        timedelta(hours=6),
        None,
    ]
    forever = parse_age_schedule(["5m for 6h", "1h"])
    assert tier_for(forever, timedelta(days=400)) == forever.tiers[-1]


def test_age_counts_from_the_stated_date_else_discovery() -> None:
    """A stated date earlier than discovery wins; a later (or no) stated date does not."""
    assert born_at(T0 - 3 * H, T0, T0) == T0 - 3 * H
    assert born_at(T0 + 3 * H, T0, T0) == T0
    assert born_at(None, T0, T0 - H) == T0
    assert born_at(None, None, T0 - H) == T0 - H


def test_a_change_resets_the_page_to_the_first_tier_for_a_while() -> None:
    """An old article that changes is checked at the first tier's pace until fast_until."""
    settings = Settings(fast_after_change=timedelta(hours=2))
    watch = Watch(url="https://a.example/old", schedule=NEWS)
    page = Page(url=watch.url, created_at=T0, discovered_at=T0, published_at=T0)
    at = T0 + timedelta(days=3)
    calm = plan_tier(page, watch, settings, False, at)
    assert calm is not None
    assert calm.every == timedelta(hours=6)
    changed = plan_tier(page, watch, settings, True, at)
    assert changed is not None
    assert (changed.every, changed.fast_until) == (timedelta(minutes=5), at + 2 * H)
    page.fast_until = changed.fast_until
    assert (plan_tier(page, watch, settings, False, at + H) or calm).every == timedelta(minutes=5)
    later = plan_tier(page, watch, settings, False, at + 3 * H)
    assert later is not None
    assert later.every == timedelta(hours=6)
    past = plan_tier(page, watch, settings, False, T0 + timedelta(days=31))
    assert past is not None
    assert past.next_at is None


def test_tier_summary_orders_fastest_first_retired_last() -> None:
    assert tier_summary({None: 4, 21600: 3, 300: 9, 1800: 1}) == "5m:9 30m:1 6h:3 retired:4"


def _oracle_every(entries: list[str], age: timedelta) -> timedelta | None:
    """The pace the schedule's text gives at ``age``, read independently of the parser."""
    for entry in entries:
        if entry == "retire":
            return None
        every, _, until = entry.partition(" for ")
        minutes = int(every.rstrip("m"))
        if not until or age < timedelta(hours=int(until.rstrip("h"))):
            return timedelta(minutes=minutes)
    return timedelta(minutes=int(entries[-1].partition(" for ")[0].rstrip("m")))


@st.composite
def schedules(draw: st.DrawFn) -> list[str]:
    count = draw(st.integers(1, 4))
    ages = sorted(draw(st.sets(st.integers(1, 24 * 40), min_size=count, max_size=count)))
    entries = [f"{draw(st.integers(1, 720))}m for {age}h" for age in ages]
    ending = draw(st.sampled_from(["retire", "open", "forever"]))
    if ending == "retire":
        entries.append("retire")
    elif ending == "forever":
        entries.append(f"{draw(st.integers(1, 1440))}m")
    return entries


@given(
    schedules(),
    st.integers(0, 48 * 60),  # minutes between the stated date and discovery
    st.lists(st.tuples(st.integers(0, 90), st.booleans()), min_size=1, max_size=60),
    st.integers(1, 24 * 60),  # minutes a change keeps the page fast
)
def test_pace_is_never_slower_than_the_tier_nor_faster_than_politeness(
    entries: list[str],
    stated_minutes: int,
    checks: list[tuple[int, bool]],
    fast_minutes: int,
) -> None:
    """However late each check runs and whichever checks find a change, the next check is
    due within the interval of the tier the page is on (the first tier while a change keeps
    it fast), never sooner than the politeness floor, and it retires only past its tiers."""
    settings = Settings(fast_after_change=timedelta(minutes=fast_minutes))
    watch = Watch(url="https://a.example/p", schedule=entries)
    discovered = T0
    page = Page(
        url=watch.url,
        created_at=discovered,
        discovered_at=discovered,
        published_at=discovered - timedelta(minutes=stated_minutes),
    )
    born = discovered - timedelta(minutes=stated_minutes)
    at = discovered
    for late_minutes, is_change in checks:
        plan = plan_tier(page, watch, settings, is_change, at)
        assert plan is not None
        is_fast = plan.fast_until is not None and at < plan.fast_until
        wanted = (
            _oracle_every(entries, timedelta(0)) if is_fast else _oracle_every(entries, at - born)
        )
        if plan.next_at is None:
            assert wanted is None
            assert not is_change
            return
        gap = plan.next_at - at
        assert wanted is not None
        assert MIN_EVERY <= gap <= wanted
        page.fast_until = plan.fast_until
        at = plan.next_at + timedelta(minutes=late_minutes)


def test_next_check_is_one_interval_of_the_current_tier() -> None:
    """On time, consecutive checks are exactly one interval apart."""
    schedule = parse_age_schedule(NEWS)
    step = next_tier_check(schedule, T0, T0 + H, None)
    assert step.next_at == T0 + H + timedelta(minutes=5)


# --- the daemon ------------------------------------------------------------------------


def test_daemon_paces_discovered_articles_by_age_and_retires_them(
    db: Store,
    db_url: str,
    site: Site,
    make_daemon: MakeDaemon,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A fresh article is on the 5m tier, one stated 90 minutes old on the 30m tier; past
    the last tier both retire with their history; STATUS and list --tiers count them."""
    site.serve("/fresh")
    site.serve("/older")
    feed = rss(site, ["/fresh", "/older"]).replace(
        b"Sun, 29 Nov 2026 11:01:00 GMT", b"Sun, 29 Nov 2026 10:30:00 GMT"
    )
    feed = feed.replace(b"<pubDate>Sun, 29 Nov 2026 11:00:00 GMT</pubDate>", b"")
    site.serve("/rss.xml", body=feed)
    schedule = ["5m for 1h", "30m for 3h", "retire"]
    clock = Clock(T0)
    daemon = make_daemon(
        watchlist([{"url": site.url("/rss.xml"), "schedule": schedule, "poll": "1d"}]), clock
    )
    daemon.poll_sources()
    drain(daemon, clock)
    fresh, older = (db.page_by_url(site.url(p)) for p in ("/fresh", "/older"))
    assert fresh is not None
    assert older is not None
    assert fresh.tier_every_seconds == 300
    assert older.tier_every_seconds == 1800
    assert fresh.next_check_at is not None
    assert older.next_check_at is not None
    assert fresh.next_check_at - (fresh.last_checked_at or T0) < timedelta(minutes=6)
    assert "tiers 5m:1 30m:1" in daemon.status_line()

    clock.now = T0 + timedelta(hours=4)  # both past 3 h of age
    drain(daemon, clock)
    for url in (site.url("/fresh"), site.url("/older")):
        retired = db.page_by_url(url)
        assert retired is not None
        assert retired.retired_at is not None
        assert retired.next_check_at is None
        assert retired.is_active
        assert len(db.snapshots(retired.id or 0)) == 1
    assert "tiers retired:2" in daemon.status_line()
    clock.now += timedelta(days=1)
    assert drain(daemon, clock) == 0

    config = tmp_path / "w.toml"
    config.write_text(f"[[source]]\nurl = '{site.url('/rss.xml')}'\n", encoding="utf-8")
    assert main(["-c", str(config), "--database", db_url, "list", "--tiers"]) == 0
    out = capsys.readouterr().out.split()
    assert out == ["TIER", "PAGES", "retired", "2", "every/cron", "0"]


def test_retired_page_stays_retired_when_the_watchlist_is_synced(db: Store) -> None:
    """A hand-written watch past its last tier is not brought back by a reload."""
    url = "https://a.example/old"
    (page_id,) = db.sync_pages([(url, "Old")], T0).values()
    assert [p.id for p in db.claim_due_pages(T0, 1, 60, "me")] == [page_id]
    db.sources.record_tier(page_id, every_seconds=None, fast_until=None, retired_at=T0, owner="me")
    db.sync_pages([(url, "Old")], T0 + H)
    page = db.get_page(page_id)
    assert page is not None
    assert page.retired_at == T0
    assert page.next_check_at is None
    assert page.lease_until is None
