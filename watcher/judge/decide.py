"""The one place a check's verdict is decided (pure: no I/O, no parsing, no clock).

``decide`` takes everything gathered about a check so far (``Observations``) and returns
either one ``Decision`` or an ``Ask`` naming the one piece of evidence it needs next: a
reading of a load, the page's whole text, the host's "not found" page, the stored versions
read again, a second fetch, the previous page's text, the version before, or where the
article stands. It never fetches, reads a page, touches the store or logs (it is called
again with each answer; the gatherer logs the decision once): the pipeline gathers
what it asks for and calls it again. Every rule that can turn or quiet a verdict is here or
under it (``classify``, ``confirm``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import Enum, StrEnum
from functools import lru_cache
from typing import Final, Literal

from watcher.judge import confirm
from watcher.judge.classify import (
    Baseline,
    DetectionRules,
    Kind,
    Observation,
    Part,
    Removal,
    State,
    Verdict,
    classify_change,
    error_verdict,
    still_removed,
    surviving_share,
)
from watcher.judge.confirm import Masked, same_content
from watcher.read.diff import count_words
from watcher.read.extract import Article
from watcher.read.normalize import compared_line, normalize_article
from watcher.read.shell import SHELL_WORDS

# Stored as a page's locator when its article could not be placed in the current version.
UNPLACED: Final = "unplaced"
# What a check of an app shell says (an error, never a removal or an empty "new" version).
APP_SHELL: Final = (
    "the page is an app shell: its article is rendered by JavaScript, which a plain "
    'fetch does not run (set fetch = "browser" on the watch; see watcher inspect --browser)'
)
# A revert later than this (an editor quietly undoing an edit days later) is news.
FLIP_WINDOW: Final = timedelta(hours=48)


class _Unasked(Enum):
    UNASKED = "unasked"


# Evidence not gathered yet (``None`` is an answer: "there is none").
UNASKED: Final = _Unasked.UNASKED


class _Keep(Enum):
    KEEP = "keep"


# The page's stored locator stays as it is.
KEEP: Final = _Keep.KEEP


class Evidence(StrEnum):
    """What the judge can ask the pipeline for."""

    QUICK_READ = "quick read"  # does the article read as before where it was found last?
    BASELINE = "baseline"  # the stored versions, read with today's ignore rules
    READING = "reading"  # the article read from a load
    PAGE_LINES = "page lines"  # a load's whole visible text (short removal notices)
    NOT_FOUND = "not-found probe"  # the host's answer for a URL that cannot exist
    REREAD = "re-read"  # the baseline again, stored versions read another way re-read
    SECOND_FETCH = "second fetch"  # the confirming load, on a fresh connection
    PREVIOUS_PAGE = "previous page"  # the stored and current pages' whole text
    HISTORY = "history"  # the version before the latest and the change that led to it
    LOCATION = "location"  # where ``place`` stands in the kept load


Which = Literal[0, 1]  # the first load, or the confirming one


@dataclass(frozen=True, slots=True)
class Ask:
    """The judge needs ``evidence`` (of load ``load``; ``place`` for a location)."""

    evidence: Evidence
    load: Which = 0
    place: Article | None = None


@dataclass(frozen=True, slots=True)
class Load:
    """One fetch of the page and what has been read from it so far."""

    status: int
    final_url: str
    has_text: bool  # a body to read (not a 304 or an empty answer)
    # an app shell: scripts and an empty mount point, the article left to JavaScript
    is_app_shell: bool = False
    article: Article | _Unasked | None = UNASKED  # read without ignore rules
    # ``article`` with the ignore rules applied, when the reader applied them: exactly
    # what ``_compared`` would give here, made where the reading is spread over cores
    compared: Article | None = None
    page_lines: tuple[str, ...] | _Unasked = UNASKED
    not_found: Article | _Unasked | None = UNASKED  # the host's "not found" page, as read


@dataclass(frozen=True, slots=True)
class Earlier:
    """The version before the latest one and the change that led from it to the latest."""

    snapshot_id: int
    fetched_at: datetime
    state: str
    article: Article  # its stored text, without ignore rules
    change_kind: str
    change_parts: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Stored:
    """What the store holds for the page before this check."""

    state: State
    removal: Removal | None
    locator: str | None  # ``Page.locator``: where the article was found last time
    # the stored version's answer: a fetch that answers otherwise gets full classification
    status: int | None = None
    final_url: str = ""


@dataclass(frozen=True, slots=True)
class Observations:
    """Everything known about one check; the pipeline fills in what ``decide`` asks for."""

    url: str
    mode: str  # the watch's reading mode: only articles can be placed or shift
    ignore: tuple[re.Pattern[str], ...]  # applied to both sides before comparing
    rules: DetectionRules
    checked_at: datetime
    confirm: bool  # a change must be seen again by a second fetch
    stored: Stored | None  # None: nothing stored yet
    first: Load
    is_unmodified: bool = False  # a 304, or the same bytes, status and final URL
    reads_as_before: bool | _Unasked = UNASKED
    baseline: Baseline | _Unasked | None = UNASKED
    is_reread: bool = False  # the baseline holds stored versions as today's reader reads them
    second: Load | _Unasked | None = UNASKED  # None: the second fetch failed
    # the previous and the kept page's whole text (None: the stored body cannot be read)
    page_texts: tuple[tuple[str, ...], tuple[str, ...]] | _Unasked | None = UNASKED
    earlier: Earlier | _Unasked | None = UNASKED
    located: str | _Unasked | None = UNASKED
    routes: tuple[str, ...] = ()  # the watch's alert routes


@dataclass(frozen=True, slots=True)
class Decision:
    """What one check found and what to keep of it."""

    verdict: Verdict
    stored: Article | None = None  # the version's text to keep (no ignore rules)
    load: Which = 0  # the load whose response is kept
    locator: str | _Keep | None = KEEP
    is_alerting: bool = False  # the routes are told of this change
    repeat_of: int | None = None  # a return to this stored version, already reported
    # who hears of this check: its change when ``is_alerting``, and an outage that starts
    # or ends with it; nobody for a return to a version already reported
    routes: tuple[str, ...] = ()

    @property
    def stores_version(self) -> bool:
        return self.verdict.is_event


@dataclass(frozen=True, slots=True)
class _Seen:
    """One load read and classified against the baseline."""

    stored: Article | None
    compared: Article | None
    verdict: Verdict
    masked: Masked | None = None
    load: Which = 0
    # the extractor misread the load: its article is read from the page's lines instead
    misread: bool = False


def decide(obs: Observations) -> Decision | Ask:
    """The verdict on ``obs``, or the next piece of evidence needed to reach it."""
    if obs.is_unmodified or (obs.reads_as_before is True and _answers_as_stored(obs)):
        # a quick re-read may have found where to glance next time
        kept = KEEP if obs.located is UNASKED or obs.located is None else obs.located
        return Decision(_unchanged(obs.stored), routes=obs.routes, locator=kept)
    if (
        obs.stored is not None
        and obs.stored.state is State.OK
        and obs.reads_as_before is UNASKED
        and _answers_as_stored(obs)
    ):
        return Ask(Evidence.QUICK_READ)
    if obs.baseline is UNASKED:
        return Ask(Evidence.BASELINE)
    seen = _evaluate(obs, obs.first, 0)
    if isinstance(seen, Ask):
        return seen
    if seen.verdict.kind.is_alerting and not obs.is_reread:
        # A stored version read by an earlier watcher or with other watch settings is
        # compared as today's reader reads its raw body, not as it was read then.
        return Ask(Evidence.REREAD)
    unconfirmed = False
    if obs.confirm and seen.verdict.kind.is_alerting:
        confirmed = _confirmed(obs, seen)
        if isinstance(confirmed, Ask):
            return confirmed
        unconfirmed = confirmed is None
        seen = _not_confirmed(obs, seen) if confirmed is None else _kept_load(obs, seen, confirmed)
    shifted = _extraction_shift(obs, seen)
    if isinstance(shifted, Ask):
        return shifted
    if shifted:
        quiet = Verdict(Kind.UNCHANGED, summary=f"extraction shift: {seen.verdict.summary}")
        seen = replace(seen, verdict=quiet)
    return _finish(obs, seen, unconfirmed)


def _finish(obs: Observations, seen: _Seen, unconfirmed: bool) -> Decision | Ask:
    """Flip-backs, then where the article stands, then the decision."""
    verdict, repeat_of = seen.verdict, None
    if verdict.kind is Kind.CHANGED and obs.stored is not None:
        earlier = _flipped_back_to(obs, seen)
        if isinstance(earlier, Ask):
            return earlier
        if earlier is not None:
            # A/B tests and flapping pages return to versions already reported: record
            # the return, alert once per real new version.
            repeat_of = earlier.snapshot_id
            verdict = replace(
                verdict,
                summary=f"back to the version of {earlier.fetched_at:%Y-%m-%d %H:%M} UTC "
                f"(#{earlier.snapshot_id}), already reported: {verdict.summary}",
            )
    locator = _locator(obs, replace(seen, verdict=verdict), unconfirmed)
    if isinstance(locator, Ask):
        return locator
    return Decision(
        verdict,
        stored=seen.stored,
        load=seen.load,
        locator=locator,
        is_alerting=verdict.kind.is_alerting and repeat_of is None,
        repeat_of=repeat_of,
        routes=obs.routes if repeat_of is None else (),
    )


def _answers_as_stored(obs: Observations) -> bool:
    """Status first: the quick re-read only vouches for a fetch that answers like the stored
    version (the same status class and final URL). A 404, 410 or 451 that still serves the
    old article's HTML is a removal, and an unchanged body must never hide it."""
    stored = obs.stored
    if stored is None:
        return False
    if stored.status is None:
        return True  # not known: the quick re-read alone decides, as before
    same_class = stored.status // 100 == obs.first.status // 100
    same_status = stored.status == obs.first.status or obs.first.status not in _REMOVAL_STATUSES
    return same_class and same_status and stored.final_url == obs.first.final_url


# Statuses that are a verdict by themselves, whatever the body says.
_REMOVAL_STATUSES = frozenset({404, 410, 451})


def _unchanged(stored: Stored | None) -> Verdict:
    if stored is not None and stored.state is State.REMOVED:
        return Verdict(Kind.UNCHANGED, state=State.REMOVED, removal=stored.removal)
    return Verdict(Kind.UNCHANGED)


def _evaluate(obs: Observations, load: Load, which: Which) -> _Seen | Ask:
    """Read ``load`` as the checks compare it and classify it against the baseline."""
    if load.article is UNASKED and load.has_text:
        return Ask(Evidence.READING, which)
    stored = load.article if load.has_text and not isinstance(load.article, _Unasked) else None
    if stored is None:
        compared = None
    else:
        compared = load.compared if load.compared is not None else _compared(stored, obs.ignore)
    if load.is_app_shell and count_words(compared.text if compared else "") < SHELL_WORDS:
        # Nothing to read because nothing was rendered: never an article that vanished.
        return _Seen(stored, compared, error_verdict(APP_SHELL), load=which)
    baseline = obs.baseline if isinstance(obs.baseline, Baseline) else None
    observation = Observation(
        url=obs.url, status=load.status, final_url=load.final_url, article=compared
    )
    if compared is not None and _mostly_gone(baseline, compared):
        # Only then is it worth reading the whole page (a short removal notice is often
        # dropped by the article extractor) and asking the host for its "not found" page.
        if isinstance(load.page_lines, _Unasked):
            return Ask(Evidence.PAGE_LINES, which)
        if load.not_found is UNASKED:
            return Ask(Evidence.NOT_FOUND, which)
        not_found = load.not_found if isinstance(load.not_found, Article) else None
        if not_found is not None:
            not_found = _compared(not_found, obs.ignore)
        observation = replace(observation, page_lines=load.page_lines, not_found=not_found)
    verdict = _classify(baseline, observation, obs.rules)
    if compared is not None and baseline is not None and obs.mode == "article":
        weighed = _weighed_on_the_stored_page(obs, baseline, compared, verdict, which)
        if isinstance(weighed, Ask):
            return weighed
        verdict = weighed
    if (collapsed := _read_on_its_page(obs, baseline, observation, load, verdict)) is not None:
        verdict, compared = collapsed
        # kept as its page shows it, not as misread
        return _Seen(compared, compared, verdict, load=which, misread=True)
    return _Seen(stored, compared, verdict, load=which)


def _weighed_on_the_stored_page(
    obs: Observations, baseline: Baseline, compared: Article, verdict: Verdict, which: Which
) -> Verdict | Ask:
    """``verdict``, weighed against the stored version's page where it hangs on what that
    page showed. Most of an article gone, with only what stood on the stored page already
    read in its place (its menu, its teasers): the page was reduced to furniture. An
    emptied page "restored" only in what it showed already (its furniture, read another
    way this time): the article did not come back, and the page stays emptied. Not for a
    notice or "not found" page: one that still carries the article's text beside its
    notice is restored by the notice going away."""
    last_good = baseline.last_good
    furniture = (
        verdict.kind is Kind.CHANGED
        and Part.BODY in verdict.parts
        and baseline.state is State.OK
        and _mostly_gone(baseline, compared)
    )
    back = verdict.kind is Kind.RESTORED and baseline.removal is Removal.EMPTIED
    if not furniture and not (back and last_good is not None):
        return verdict
    if obs.page_texts is UNASKED:
        return Ask(Evidence.PREVIOUS_PAGE, which)
    if obs.page_texts is None:
        return verdict
    if furniture and confirm.only_furniture(baseline.article, compared, *obs.page_texts):
        return Verdict(
            Kind.REMOVED,
            state=State.REMOVED,
            removal=Removal.EMPTIED,
            summary="removed: only the page's furniture is left, all of it there before",
        )
    if (
        back
        and last_good is not None
        and confirm.nothing_came_back(baseline.article, compared, last_good, *obs.page_texts)
    ):
        return still_removed(baseline, compared)
    return verdict


# An article read as emptied whose page still shows this much of it was read another way.
_STILL_SHOWN = 0.5


def _read_on_its_page(
    obs: Observations,
    baseline: Baseline | None,
    observation: Observation,
    load: Load,
    verdict: Verdict,
) -> tuple[Verdict, Article] | None:
    """The verdict and the article as this page shows them, when ``verdict`` says the
    article was emptied while this very page still shows most of it: the extractor drew
    the article's edges elsewhere (on a page of a short story among many links, small
    differences flip it). Then the changes this page shows count, as a confirming load's
    would (``confirm.corroborated``), and the rest is put back as stored."""
    compared = observation.article
    if (
        verdict.removal is not Removal.EMPTIED
        or verdict.kind is not Kind.REMOVED
        or compared is None
        or baseline is None
        or baseline.state is not State.OK
        or isinstance(load.page_lines, _Unasked)
    ):
        return None
    lines = tuple(line for raw in load.page_lines if (line := compared_line(raw, obs.ignore)))
    if confirm.shown_share(baseline.article, lines) < _STILL_SHOWN:
        return None
    masked = _corroborated(baseline.article, compared, None, lines)
    # the body as the page shows it; the metadata as read from the same load, whose
    # reading only drew the body's edges elsewhere
    current = replace(
        masked.current,
        paragraphs=confirm.as_shown(baseline.article.paragraphs, lines),
        title=compared.title,
        byline=compared.byline,
        published=compared.published,
        stated=compared.stated,
    )
    return _classify(baseline, replace(observation, article=current), obs.rules), current


# ``decide`` is called again with each piece of evidence added and reads the same loads
# again: the costly pure steps remember their last answers (enough for every check thread).
@lru_cache(maxsize=64)
def _compared(article: Article, ignore: tuple[re.Pattern[str], ...]) -> Article:
    return normalize_article(article, ignore).article


@lru_cache(maxsize=64)
def _classify(
    baseline: Baseline | None, observation: Observation, rules: DetectionRules
) -> Verdict:
    return classify_change(baseline, observation, rules=rules)


@lru_cache(maxsize=32)
def _mask(baseline: Article, first: Article, second: Article) -> Masked:
    return confirm.mask_volatile(baseline, first, second)


@lru_cache(maxsize=32)
def _is_shift(
    old: Article, new: Article, old_page: tuple[str, ...], new_page: tuple[str, ...]
) -> bool:
    return confirm.is_extraction_shift(old, new, old_page, new_page)


@lru_cache(maxsize=64)
def _mostly_gone(baseline: Baseline | None, compared: Article) -> bool:
    if baseline is None:
        return False
    reference = baseline.last_good if baseline.state is State.REMOVED else baseline.article
    return reference is not None and surviving_share(reference.text, compared.text) < 0.5


def _confirmed(obs: Observations, first: _Seen) -> _Seen | Ask | None:
    """What the second load confirms of ``first``; None when it does not."""
    if obs.second is UNASKED:
        return Ask(Evidence.SECOND_FETCH)
    if obs.second is None:
        return None  # the confirming fetch failed
    second = _evaluate(obs, obs.second, 1)
    if isinstance(second, Ask):
        return second
    if second.verdict.kind is not first.verdict.kind:
        # flapped back (A/B test, inconsistent CDN node, transient 404), or only read
        # another way: what the second page shows of the change decides
        return _borne_out(obs, first, second)
    if second.verdict.removal is not first.verdict.removal:
        return None
    baseline = obs.baseline if isinstance(obs.baseline, Baseline) else None
    if (
        baseline is None
        or first.verdict.kind is Kind.REMOVED
        or same_content(first.compared, second.compared)
        or first.compared is None
        or second.compared is None
    ):
        return second
    if baseline.state is State.REMOVED and first.verdict.state is State.REMOVED:
        # changed while it stays removed: what the removed page showed is the reference
        return _masked(obs, baseline, baseline.article, first.compared, second, removed=True)
    reference = baseline.article if baseline.state is State.OK else baseline.last_good
    if reference is None:
        return second
    return _masked(obs, baseline, reference, first.compared, second)


def _kept_load(obs: Observations, first: _Seen, confirmed: _Seen) -> _Seen:
    """``confirmed``, kept from the load that reads most like the stored version. Both
    loads show the change; what else differs between them was seen once, so it is the
    page's volatile side (a dateline that one load showed as "3 minutes ago", a counter
    read into the article). A version kept with it would be compared with it later, and
    its going away would read as an edit. A load the extractor misread is kept only when
    the other was misread too."""
    baseline = obs.baseline
    if (
        confirmed.load == 0
        or confirmed.verdict.kind is not Kind.CHANGED
        or first.stored is None
        or first.compared is None
        or confirmed.compared is None
        or not isinstance(baseline, Baseline)
        or baseline.state is not State.OK
    ):
        return confirmed
    reference = baseline.article
    if first.misread or (
        not confirmed.misread
        and confirm.units_apart(first.compared, reference)
        >= confirm.units_apart(confirmed.compared, reference)
    ):
        return confirmed
    return replace(confirmed, stored=first.stored, compared=first.compared, load=0)


def _borne_out(obs: Observations, first: _Seen, second: _Seen) -> _Seen | Ask | None:
    """A change the confirming load read as no change, or as an article nearly all gone,
    while that page still stands where the first did: the extractor read it another way
    (it draws the article's edges differently on small differences). The first load's
    changes then count where the second page shows them (``confirm.corroborated``)."""
    load = obs.second
    if (
        first.verdict.kind is not Kind.CHANGED
        or not isinstance(load, Load)
        or load.status // 100 != 2
        or load.final_url != obs.first.final_url
        or first.compared is None
        or not isinstance(obs.baseline, Baseline)
        or obs.baseline.state is not State.OK
    ):
        return None
    if second.verdict.kind is Kind.REMOVED and second.verdict.removal is not Removal.EMPTIED:
        return None
    if second.verdict.kind not in (Kind.REMOVED, Kind.UNCHANGED):
        return None
    if isinstance(load.page_lines, _Unasked):
        return Ask(Evidence.PAGE_LINES, 1)
    lines = tuple(line for raw in load.page_lines if (line := compared_line(raw, obs.ignore)))
    masked = _corroborated(obs.baseline.article, first.compared, second.compared, lines)
    observation = Observation(
        url=obs.url, status=obs.first.status, final_url=obs.first.final_url, article=masked.current
    )
    verdict = _classify(obs.baseline, observation, obs.rules)
    if verdict.kind is not Kind.CHANGED:
        return None
    return replace(first, verdict=verdict, masked=masked)


@lru_cache(maxsize=8)
def _corroborated(
    reference: Article, first: Article, second: Article | None, lines: tuple[str, ...]
) -> Masked:
    return confirm.corroborated(reference, first, second, lines)


def _masked(
    obs: Observations,
    baseline: Baseline,
    reference: Article,
    first: Article,
    second: _Seen,
    *,
    removed: bool = False,
) -> _Seen | None:
    """Classify again without what differed between the two loads (a clock, a teaser);
    ``removed``: ``reference`` is the removed version the page still shows."""
    assert second.compared is not None
    masked = _mask(reference, first, second.compared)
    if baseline.state is State.OK:
        masked_baseline = Baseline(State.OK, None, masked.baseline, masked.baseline)
    elif removed:
        masked_baseline = replace(baseline, article=masked.baseline)
    else:
        masked_baseline = replace(baseline, last_good=masked.baseline)
    assert isinstance(obs.second, Load)
    observation = Observation(
        url=obs.url,
        status=obs.second.status,
        final_url=obs.second.final_url,
        article=masked.current,
    )
    verdict = _classify(masked_baseline, observation, obs.rules)
    if removed and verdict.state is not State.REMOVED:
        # Both loads read the page as still removed: what differed between them (the
        # furniture each read in the article's place) cannot have brought it back.
        verdict = still_removed(masked_baseline, masked.current)
    if verdict.kind is Kind.UNCHANGED:
        return None  # only what differs between two loads changed
    return replace(second, verdict=verdict, masked=masked)


def _not_confirmed(obs: Observations, seen: _Seen) -> _Seen:
    """The first load's reading, reported as unchanged: nothing was seen twice."""
    baseline = obs.baseline if isinstance(obs.baseline, Baseline) else None
    verdict = Verdict(
        Kind.UNCHANGED,
        state=baseline.state if baseline else State.OK,
        summary=f"not confirmed by a second fetch: {seen.verdict.summary}",
    )
    return replace(seen, verdict=verdict, masked=None)


def _extraction_shift(obs: Observations, seen: _Seen) -> bool | Ask:
    """A change of body, byline, captions or notes whose text was on both pages: the
    extractor drew the article's edges elsewhere, the text did not move. Only asked of
    article-mode changes that touch neither headline nor date."""
    verdict = seen.verdict
    baseline = obs.baseline if isinstance(obs.baseline, Baseline) else None
    if (
        verdict.kind is not Kind.CHANGED
        or not verdict.parts
        or not set(verdict.parts) <= {Part.BODY, Part.BYLINE, Part.CAPTION, Part.NOTES}
        or obs.mode != "article"
        or baseline is None
        or baseline.state is not State.OK
        or seen.compared is None
    ):
        return False
    if obs.page_texts is UNASKED:
        return Ask(Evidence.PREVIOUS_PAGE, seen.load)
    if obs.page_texts is None:
        return False
    old, new = (
        (seen.masked.baseline, seen.masked.current)
        if seen.masked is not None
        else (baseline.article, seen.compared)
    )
    return _is_shift(old, new, *obs.page_texts)


def _flipped_back_to(obs: Observations, seen: _Seen) -> Earlier | Ask | None:
    """The version before the latest, when this check undoes exactly the change that led
    to the latest: the same parts changed, and each reads again as it did before.

    That is a page flipping between two versions (an A/B headline test, inconsistent CDN
    nodes): recorded, alerted once. Only the changed parts are compared, because the
    loads that stored the two versions may also differ in paragraphs masked as volatile.
    A revert that comes with anything else, or after ``FLIP_WINDOW``, is news.
    """
    parts = seen.verdict.parts
    if seen.compared is None or not parts:
        return None
    if obs.earlier is UNASKED:
        return Ask(Evidence.HISTORY)
    earlier = obs.earlier
    if earlier is None:
        return None
    if earlier.change_kind != Kind.CHANGED.value or set(earlier.change_parts) != {
        p.value for p in parts
    }:
        return None
    if earlier.state != State.OK or earlier.fetched_at < obs.checked_at - FLIP_WINDOW:
        return None
    before = _compared(earlier.article, obs.ignore)
    return earlier if all(_same_part(p, before, seen.compared) for p in parts) else None


def _same_part(part: Part, one: Article, other: Article) -> bool:
    if part is Part.HEADLINE:
        return (one.title, one.headlines, _said(one, "headline")) == (
            other.title,
            other.headlines,
            _said(other, "headline"),
        )
    if part is Part.BYLINE:
        return (one.byline, one.bylines, _said(one, "author")) == (
            other.byline,
            other.bylines,
            _said(other, "author"),
        )
    if part is Part.DATE:
        return (one.published[:10], one.datelines, _said(one, "published")) == (
            other.published[:10],
            other.datelines,
            _said(other, "published"),
        )
    if part is Part.CAPTION:
        return one.captions == other.captions
    if part is Part.NOTES:
        return one.notes == other.notes
    return one.paragraphs == other.paragraphs


def _said(article: Article, key: str) -> tuple[str, ...]:
    return tuple(line for line in article.stated if line.startswith(f"{key}: "))


def _locator(obs: Observations, seen: _Seen, unconfirmed: bool) -> str | _Keep | Ask | None:
    """Where the article stands in the kept load, for the next check's quick re-read.

    When no new version is stored, the next full check compares with the stored version,
    so the block must hold its paragraphs as well as what was read now (the extractor may
    have left some of them out this time). A page that could not be placed is tried again
    only with its next version: placing costs a parse. An error keeps the stored locator.
    """
    verdict, stored = seen.verdict, seen.stored
    if verdict.kind is Kind.ERROR:
        return KEEP
    if unconfirmed or verdict.state is not State.OK or stored is None:
        return None
    previous = obs.stored.locator if obs.stored is not None else None
    if not verdict.is_event and previous == UNPLACED:
        return UNPLACED
    if obs.located is not UNASKED:
        return obs.located or UNPLACED
    placed = stored
    baseline = obs.baseline if isinstance(obs.baseline, Baseline) else None
    if not verdict.is_event and baseline is not None:
        # compared as the checks compare them: what the ignore rules drop never counts
        current = set(seen.compared.paragraphs) if seen.compared else set()
        extra = tuple(p for p in baseline.article.paragraphs if p not in current)
        placed = replace(stored, paragraphs=(*stored.paragraphs, *extra))
    return Ask(Evidence.LOCATION, seen.load, placed)
