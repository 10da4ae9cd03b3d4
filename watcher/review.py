"""Second looks at a detected change before it is stored and reported (edge: fetch, store).

A change must survive a second fetch, must not be only the extractor moving, and must not
be a return to a version reported hours ago; a removal gets the page's whole text and the
host's own "not found" page to be named correctly.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from urllib.parse import urljoin, urlsplit

import requests

from watcher.classify import (
    Baseline,
    DetectionRules,
    Kind,
    Observation,
    Part,
    State,
    Verdict,
    classify_change,
    surviving_share,
)
from watcher.config import Settings, Watch
from watcher.confirm import Masked, is_extraction_shift, mask_volatile, same_content
from watcher.errors import FetchError, StoreError
from watcher.extract import Article
from watcher.fetch import FetchResult, fetch_page
from watcher.models import Snapshot
from watcher.normalize import normalize_article
from watcher.readers import Reader
from watcher.reading import (
    fetch_options,
    page_lines,
    read_article,
    snapshot_article,
    visible_lines,
)
from watcher.store import Store

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Evaluation:
    stored: Article | None  # what is kept as the version's text (no ignore rules)
    compared: Article | None  # what was compared (ignore rules applied)
    verdict: Verdict
    # after a confirming fetch: baseline and current without what differed between loads,
    # which is what ``verdict`` was decided on
    masked: Masked | None = None


@dataclass(frozen=True, slots=True)
class Look:
    """How one check reads a fetch: the watch, its baseline, rules and removal probes.

    ``reader`` runs every parse of the page in a reader process.
    """

    watch: Watch
    baseline: Baseline | None
    ignore: Sequence[re.Pattern[str]]
    probe: Callable[[str], Article | None] | None
    rules: DetectionRules
    reader: Reader

    def evaluate(self, fetched: FetchResult) -> Evaluation:
        watch, reader = self.watch, self.reader
        stored = (
            reader.run(read_article, fetched.text, watch, fetched.final_url)
            if fetched.text
            else None
        )
        compared = normalize_article(stored, self.ignore).article if stored else None
        observation = Observation(
            url=watch.url, status=fetched.status, final_url=fetched.final_url, article=compared
        )
        if compared is not None and self._article_mostly_gone(compared):
            # Only then is it worth reading the whole page (a short removal notice is
            # often dropped by the article extractor) and asking the host what its own
            # "not found" page looks like.
            lines = reader.run(visible_lines, fetched.text, watch)
            not_found = self.probe(fetched.final_url) if self.probe else None
            if not_found is not None:
                not_found = normalize_article(not_found, self.ignore).article
            observation = replace(observation, page_lines=lines, not_found=not_found)
        verdict = classify_change(self.baseline, observation, rules=self.rules)
        return Evaluation(stored, compared, verdict)

    def _article_mostly_gone(self, compared: Article) -> bool:
        baseline = self.baseline
        if baseline is None:
            return False
        reference = baseline.last_good if baseline.state is State.REMOVED else baseline.article
        return reference is not None and surviving_share(reference.text, compared.text) < 0.5


def confirm_change(
    look: Look, first: Evaluation, refetch: Callable[[], FetchResult]
) -> tuple[FetchResult, Evaluation] | None:
    """The second fetch and what it confirms; None when the first look is not confirmed."""
    watch, baseline = look.watch, look.baseline
    try:
        fetched = refetch()
    except FetchError as exc:
        logger.info("confirming fetch failed url=%s: %s", watch.url, exc)
        return None
    second = look.evaluate(fetched)
    if second.verdict.kind is not first.verdict.kind:
        return None  # flapped back (A/B test, inconsistent CDN node, transient 404)
    if second.verdict.removal is not first.verdict.removal:
        return None
    if (
        baseline is None
        or first.verdict.kind is Kind.REMOVED
        or same_content(first.compared, second.compared)
        or first.compared is None
        or second.compared is None
    ):
        return fetched, second
    reference = baseline.article if baseline.state is State.OK else baseline.last_good
    if reference is None:
        return fetched, second
    masked = mask_volatile(reference, first.compared, second.compared)
    masked_baseline = (
        Baseline(State.OK, None, masked.baseline, masked.baseline)
        if baseline.state is State.OK
        else Baseline(baseline.state, baseline.removal, baseline.article, masked.baseline)
    )
    observation = Observation(
        url=watch.url, status=fetched.status, final_url=fetched.final_url, article=masked.current
    )
    verdict = classify_change(masked_baseline, observation, rules=look.rules)
    if verdict.kind is Kind.UNCHANGED:
        logger.info(
            "only parts that differ between two loads changed (%d), not reported url=%s",
            len(masked.volatile),
            watch.url,
        )
        return None
    return fetched, Evaluation(second.stored, second.compared, verdict, masked)


def explained_by_extraction(
    store: Store,
    watch: Watch,
    latest: Snapshot | None,
    baseline: Baseline | None,
    seen: Evaluation,
    fetched: FetchResult,
    ignore: Sequence[re.Pattern[str]],
    reader: Reader,
) -> bool:
    """A body or byline change whose text was on both pages: the extractor moved, not the text.

    Needs the previous version's whole page, read again from its stored raw HTML; only
    done for changes of article-mode watches that touch neither headline nor date.
    """
    verdict = seen.verdict
    if (
        verdict.kind is not Kind.CHANGED
        or not verdict.parts
        or not set(verdict.parts) <= {Part.BODY, Part.BYLINE}
        or watch.mode != "article"
        or latest is None
        or baseline is None
        or baseline.state is not State.OK
        or seen.compared is None
    ):
        return False
    try:
        old_html = store.raw_body(latest.body_sha256).decode(
            latest.encoding or "utf-8", errors="replace"
        )
    except (StoreError, LookupError) as exc:
        logger.warning("cannot re-read the stored version url=%s: %s", watch.url, exc)
        return False
    old, new = (
        (seen.masked.baseline, seen.masked.current)
        if seen.masked is not None
        else (baseline.article, seen.compared)
    )
    return is_extraction_shift(
        old,
        new,
        reader.run(page_lines, old_html, watch, tuple(ignore)),
        reader.run(page_lines, fetched.text, watch, tuple(ignore)),
    )


_FLIP_WINDOW = timedelta(hours=48)
_NOT_FOUND_TTL_SECONDS = 24 * 3600
_not_found_cache: dict[str, tuple[float, Article | None]] = {}
_not_found_lock = threading.Lock()


def not_found_page(
    session: requests.Session, watch: Watch, settings: Settings, url: str, reader: Reader
) -> Article | None:
    """What the host answers with 200 for a URL that cannot exist (cached for a day).

    A soft-404 page is recognised by resembling it. None when the host answers such
    URLs properly (404) or cannot be asked.
    """
    parts = urlsplit(url)
    section = parts.path.strip("/").split("/", 1)[0]
    key = f"{parts.scheme}://{parts.netloc}/{section}"
    now = time.monotonic()
    with _not_found_lock:
        cached = _not_found_cache.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
    probe_url = urljoin(url, f"{secrets.token_hex(8)}.html")
    article: Article | None = None
    try:
        probe = fetch_page(session, probe_url, fetch_options(settings, watch))
    except FetchError as exc:
        logger.info("not-found probe failed url=%s: %s", probe_url, exc)
    else:
        if probe.status == 200 and probe.text:
            article = reader.run(read_article, probe.text, watch, probe.final_url)
    with _not_found_lock:
        _not_found_cache[key] = (now + _NOT_FOUND_TTL_SECONDS, article)
    return article


def flips_back(
    store: Store,
    latest: Snapshot,
    compared: Article | None,
    parts: Sequence[Part],
    ignore: Sequence[re.Pattern[str]],
    now: datetime,
) -> Snapshot | None:
    """The version before ``latest``, when this check undoes exactly the change that led
    to ``latest``: the same parts changed, and each reads again as it did before.

    That is a page flipping between two versions (an A/B headline test, inconsistent
    CDN nodes): recorded, alerted once. Only the changed parts are compared, because
    the loads that stored the two versions may also differ in paragraphs that were
    masked as volatile. A revert that comes with anything else, or after
    ``_FLIP_WINDOW`` (an editor quietly undoing an edit days later), is news.
    """
    if compared is None or not parts or latest.id is None:
        return None
    change = store.change_to(latest.id)
    if change is None or change.previous_snapshot_id is None:
        return None
    if change.kind != Kind.CHANGED.value or set(change.parts) != {p.value for p in parts}:
        return None
    previous = store.get_snapshot(change.previous_snapshot_id)
    if previous is None or previous.state != State.OK or previous.fetched_at < now - _FLIP_WINDOW:
        return None
    before = normalize_article(snapshot_article(previous), ignore).article
    return previous if all(_same_part(part, before, compared) for part in parts) else None


def _same_part(part: Part, one: Article, other: Article) -> bool:
    if part is Part.HEADLINE:
        return one.title == other.title
    if part is Part.BYLINE:
        return one.byline == other.byline
    if part is Part.DATE:
        return one.published[:10] == other.published[:10]
    return one.paragraphs == other.paragraphs
