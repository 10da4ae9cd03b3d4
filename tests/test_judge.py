"""The judge's rules, one fixture per rule, and properties over observations.

No HTTP, no database, no reader: each test states what the pipeline would have gathered,
and ``World.answer`` hands the judge exactly the evidence it asks for.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from watcher.judge.classify import Baseline, Kind, Part, Removal, State
from watcher.judge.decide import (
    KEEP,
    UNPLACED,
    Ask,
    Decision,
    Earlier,
    Evidence,
    Load,
    Observations,
    Stored,
    decide,
)
from watcher.judge.phrases import shipped_phrases
from watcher.read.extract import Article
from watcher.read.normalize import builtin_ignore

URL = "https://news.example.com/world/minister-resigns"
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
BODY = (
    "The transport minister resigned on Friday after documents showed the contract for the "
    "new bridge was awarded without a tender.",
    "Opposition leaders said 14 officials had been questioned by investigators this week.",
    "The ministry declined to comment on the report when reached by telephone.",
)
STORY = Article("Minister resigns over bridge", "Jane Doe", "2026-11-29", BODY)
EDITED = replace(STORY, paragraphs=(BODY[0], BODY[1].replace("14", "4"), BODY[2]))
OK = Stored(State.OK, None, "locator-1", status=200, final_url=URL)
FAILED = "failed"  # a second fetch that got no response


@dataclass(frozen=True)
class World:
    """What the pipeline would gather for one check, as plain values."""

    first: Article | None
    status: int = 200
    second: Article | str | None = None  # FAILED for a second fetch with no response
    second_status: int = 200
    stored: Stored | None = OK
    baseline: Article | None = STORY
    # the last good version of a page stored as removed (``stored``'s state)
    last_good: Article | None = None
    quick: bool = False
    page_lines: tuple[str, ...] = ()
    second_page_lines: tuple[str, ...] | None = None  # default: ``page_lines``
    not_found: Article | None = None
    page_texts: tuple[tuple[str, ...], tuple[str, ...]] | None = None
    earlier: Earlier | None = None
    located: str | None = "locator-2"
    confirm: bool = True
    is_unmodified: bool = False

    def observations(self) -> Observations:
        return Observations(
            url=URL,
            mode="article",
            ignore=tuple(builtin_ignore()),
            rules=shipped_phrases(),
            checked_at=NOW,
            confirm=self.confirm,
            stored=self.stored,
            first=Load(self.status, URL, has_text=self.first is not None),
            is_unmodified=self.is_unmodified,
            routes=("desk",),
        )

    def answer(self, ask: Ask, obs: Observations) -> Observations:
        """The evidence ``ask`` names, as the pipeline would gather it."""
        evidence = ask.evidence
        if evidence is Evidence.QUICK_READ:
            return replace(obs, reads_as_before=self.quick)
        if evidence in (Evidence.BASELINE, Evidence.REREAD):
            base, stored = self.baseline, self.stored
            baseline = None
            if base is not None and stored is not None and stored.state is State.REMOVED:
                baseline = Baseline(State.REMOVED, stored.removal, base, self.last_good)
            elif base is not None:
                baseline = Baseline(State.OK, None, base, base)
            return replace(obs, baseline=baseline, is_reread=evidence is Evidence.REREAD)
        if evidence is Evidence.SECOND_FETCH:
            if self.second == FAILED:
                return replace(obs, second=None)
            article = self.second if isinstance(self.second, Article) else None
            return replace(obs, second=Load(self.second_status, URL, article is not None))
        if evidence is Evidence.PREVIOUS_PAGE:
            return replace(obs, page_texts=self.page_texts)
        if evidence is Evidence.HISTORY:
            return replace(obs, earlier=self.earlier)
        if evidence is Evidence.LOCATION:
            return replace(obs, located=self.located)
        load = obs.first if ask.load == 0 else obs.second
        assert isinstance(load, Load)
        if evidence is Evidence.READING:
            load = replace(load, article=self.first if ask.load == 0 else self.second_article)
        elif evidence is Evidence.PAGE_LINES:
            lines = self.second_page_lines if ask.load == 1 else None
            load = replace(load, page_lines=self.page_lines if lines is None else lines)
        else:
            load = replace(load, not_found=self.not_found)
        return replace(obs, first=load) if ask.load == 0 else replace(obs, second=load)

    @property
    def second_article(self) -> Article | None:
        return self.second if isinstance(self.second, Article) else None


def judge(world: World) -> tuple[Decision, list[Ask]]:
    """Run the judge to a decision, answering every question from ``world``."""
    obs, asked = world.observations(), []
    for _ in range(20):
        outcome = decide(obs)
        if isinstance(outcome, Decision):
            return outcome, asked
        asked.append(outcome)
        obs = world.answer(outcome, obs)
    raise AssertionError(f"the judge kept asking: {asked}")


def evidence(asked: list[Ask]) -> list[Evidence]:
    return [ask.evidence for ask in asked]


# -- rule fixtures ---------------------------------------------------------------------------


def test_unmodified_response_is_unchanged_without_asking() -> None:
    """A 304 or the same bytes ends the check at once and keeps the stored locator."""
    decision, asked = judge(World(STORY, is_unmodified=True))
    assert decision.verdict.kind is Kind.UNCHANGED
    assert not asked
    assert decision.locator is KEEP
    assert not decision.stores_version


def test_unmodified_removed_page_stays_removed() -> None:
    """An unmodified answer of a removed page keeps its removal."""
    stored = Stored(State.REMOVED, Removal.GONE, None)
    decision, _ = judge(World(None, status=404, stored=stored, is_unmodified=True))
    assert (decision.verdict.state, decision.verdict.removal) == (State.REMOVED, Removal.GONE)


def test_quick_read_as_before_ends_the_check() -> None:
    """When the article reads as before where it was found, nothing else is asked."""
    decision, asked = judge(World(STORY, quick=True))
    assert evidence(asked) == [Evidence.QUICK_READ]
    assert decision.verdict.kind is Kind.UNCHANGED


def test_first_version_is_new_and_placed() -> None:
    """With nothing stored, the page is a new version: stored, placed, never alerted."""
    decision, asked = judge(World(STORY, stored=None, baseline=None))
    assert evidence(asked) == [Evidence.BASELINE, Evidence.READING, Evidence.LOCATION]
    assert decision.verdict.kind is Kind.NEW
    assert decision.stores_version
    assert not decision.is_alerting
    assert decision.locator == "locator-2"


def test_noise_only_full_read_places_the_article_again() -> None:
    """A full read that finds the article as stored is unchanged and placed for next time."""
    decision, asked = judge(World(STORY))
    assert evidence(asked) == [
        Evidence.QUICK_READ,
        Evidence.BASELINE,
        Evidence.READING,
        Evidence.LOCATION,
    ]
    assert asked[-1].place == STORY
    assert decision.verdict.kind is Kind.UNCHANGED
    assert decision.locator == "locator-2"
    assert not decision.stores_version


def test_unplaced_page_is_not_placed_again_without_a_new_version() -> None:
    """A page once found unplaceable is not parsed to be placed again while unchanged."""
    stored = Stored(State.OK, None, UNPLACED)
    decision, asked = judge(World(STORY, stored=stored))
    assert Evidence.LOCATION not in evidence(asked)
    assert decision.locator == UNPLACED


def test_edit_seen_by_both_loads_alerts() -> None:
    """An edit the second fetch sees as well is a confirmed change, kept from that load."""
    decision, asked = judge(World(EDITED, second=EDITED))
    assert Evidence.SECOND_FETCH in evidence(asked)
    assert decision.verdict.kind is Kind.CHANGED
    assert decision.verdict.parts == (Part.BODY,)
    assert decision.is_alerting
    assert decision.load == 1


def test_an_edit_is_kept_from_the_load_that_reads_like_the_stored_version() -> None:
    """Both loads show the edit; the second also lost the dateline to a "3 minutes ago".
    The version is kept from the first load, so the dateline stays in the record and
    its coming back on the next load is no edit."""
    stored = replace(STORY, datelines=("29 Nov 2026 08:00 GMT",))
    first = replace(EDITED, datelines=stored.datelines)
    decision, _ = judge(World(first, second=EDITED, baseline=stored))
    assert decision.verdict.kind is Kind.CHANGED
    assert decision.verdict.parts == (Part.BODY,)
    assert decision.load == 0
    assert decision.stored == first


def test_an_edit_is_kept_from_the_second_load_when_the_first_read_more_noise() -> None:
    """The first load read a counter into the article; the second did not: the edit is
    kept from the second, as the stored version reads."""
    first = replace(EDITED, notes=("41",))
    decision, _ = judge(World(first, second=EDITED))
    assert decision.verdict.kind is Kind.CHANGED
    assert decision.load == 1
    assert decision.stored == EDITED


def test_edit_gone_on_the_second_load_is_not_reported() -> None:
    """A change the second fetch does not see (A/B test, CDN node) stays silent."""
    decision, _ = judge(World(EDITED, second=STORY))
    assert decision.verdict.kind is Kind.UNCHANGED
    assert decision.verdict.summary.startswith("not confirmed by a second fetch")
    assert decision.locator is None  # nothing of an unconfirmed load is re-read next time


COLLAPSED = replace(STORY, paragraphs=("Updated 3 minutes ago",))  # the extractor's other edges
MENU = ("Home", "World", "Most read: a cat elected mayor of a small town")


def test_an_edit_the_second_load_reads_as_emptied_is_confirmed_by_its_page() -> None:
    """The confirming load's extractor read the page as almost empty, while the page
    still shows the edit: the edit is confirmed, from the first load."""
    world = World(EDITED, second=COLLAPSED, second_page_lines=(*MENU, *EDITED.paragraphs))
    decision, asked = judge(world)
    assert Evidence.PAGE_LINES in evidence(asked)
    assert decision.verdict.kind is Kind.CHANGED
    assert decision.verdict.parts == (Part.BODY,)
    assert decision.is_alerting
    assert decision.load == 0


def test_an_article_read_as_emptied_while_its_page_shows_it_is_no_removal() -> None:
    """Both loads' extractor read the page as almost empty, while the page itself still
    shows the article with an edit: the edit is reported, not a removal."""
    page = (*MENU, *EDITED.paragraphs)
    world = World(COLLAPSED, second=COLLAPSED, page_lines=page, second_page_lines=page)
    decision, _ = judge(world)
    assert decision.verdict.kind is Kind.CHANGED
    assert decision.verdict.parts == (Part.BODY,)
    assert decision.stored is not None
    assert decision.stored.paragraphs == EDITED.paragraphs


def test_an_article_read_as_emptied_whose_page_shows_it_unchanged_is_quiet() -> None:
    """Read as almost empty, the page showing the article as stored: nothing changed."""
    page = (*MENU, *BODY)
    decision, _ = judge(World(COLLAPSED, second=COLLAPSED, page_lines=page))
    assert decision.verdict.kind is Kind.UNCHANGED


def test_an_article_gone_from_its_page_is_emptied() -> None:
    """Read as almost empty, and the page no longer shows it: emptied."""
    decision, _ = judge(World(COLLAPSED, second=COLLAPSED, page_lines=MENU))
    assert decision.verdict.kind is Kind.REMOVED
    assert decision.verdict.removal is Removal.EMPTIED


def test_an_edit_the_second_page_does_not_show_is_not_confirmed() -> None:
    """Read as almost empty, and the page shows the old wording: not confirmed."""
    world = World(EDITED, second=COLLAPSED, second_page_lines=(*MENU, *BODY))
    decision, _ = judge(world)
    assert decision.verdict.kind is Kind.UNCHANGED
    assert decision.verdict.summary.startswith("not confirmed by a second fetch")


def test_a_headline_the_second_load_read_too_is_confirmed_alone() -> None:
    """A new headline both loads read, the body read another way by the second: the
    headline is confirmed; the body, which its page shows as it was, is not a change."""
    first = replace(STORY, title="Minister quits over bridge")
    second = replace(COLLAPSED, title="Minister quits over bridge")
    decision, _ = judge(World(first, second=second, second_page_lines=(*MENU, *BODY)))
    assert decision.verdict.kind is Kind.CHANGED
    assert decision.verdict.parts == (Part.HEADLINE,)


def test_noise_the_second_page_does_not_show_stays_silent() -> None:
    """A teaser read into the first load's article, gone from the second page: noise."""
    first = replace(STORY, paragraphs=(*BODY, "Most read: the lottery numbers of this week"))
    decision, _ = judge(World(first, second=COLLAPSED, second_page_lines=(*MENU, *BODY)))
    assert decision.verdict.kind is Kind.UNCHANGED


def test_failed_second_fetch_does_not_confirm() -> None:
    """No response to the confirming fetch means nothing is confirmed."""
    decision, _ = judge(World(EDITED, second=FAILED))
    assert decision.verdict.kind is Kind.UNCHANGED
    assert not decision.is_alerting


def test_paragraph_that_differs_between_loads_is_masked() -> None:
    """A teaser that rotates on every load is noise, however often it changes."""
    first = replace(STORY, paragraphs=(*BODY, "Most read: a cat elected mayor of a small town"))
    second = replace(STORY, paragraphs=(*BODY, "Most read: the lottery numbers of this week"))
    decision, _ = judge(World(first, second=second))
    assert decision.verdict.kind is Kind.UNCHANGED


def test_without_confirmation_an_edit_alerts_at_once() -> None:
    """With confirm off, the first load decides."""
    decision, asked = judge(World(EDITED, confirm=False))
    assert Evidence.SECOND_FETCH not in evidence(asked)
    assert decision.verdict.kind is Kind.CHANGED
    assert decision.is_alerting


def test_404_confirmed_is_a_removal() -> None:
    """A 404 seen twice is a removal (gone), stored and alerted."""
    decision, _ = judge(World(None, status=404, second=None, second_status=404))
    assert decision.verdict.kind is Kind.REMOVED
    assert decision.verdict.removal is Removal.GONE
    assert decision.is_alerting
    assert decision.locator is None


def test_server_error_is_an_error_and_keeps_the_locator() -> None:
    """A 503 is an error, never a removal, and keeps where the article was found."""
    decision, _ = judge(World(None, status=503))
    assert decision.verdict.kind is Kind.ERROR
    assert decision.locator is KEEP
    assert not decision.stores_version


def test_removal_notice_on_the_page_needs_its_whole_text() -> None:
    """With most of the article gone, a removal notice among the page's lines is a removal."""
    notice = Article("Minister resigns over bridge", "", "", ("Home", "World"))
    lines = ("Home", "World", "This content has been removed.")
    decision, asked = judge(World(notice, second=notice, page_lines=lines))
    assert Evidence.PAGE_LINES in evidence(asked)
    assert Evidence.NOT_FOUND in evidence(asked)
    assert decision.verdict.kind is Kind.REMOVED
    assert decision.verdict.removal is Removal.NOTICE


def test_extraction_shift_is_not_a_change() -> None:
    """A paragraph the extractor dropped that still stands on the new page is no edit."""
    shorter = replace(STORY, paragraphs=BODY[:2])
    pages = ((*BODY, "Footer"), (*BODY, "Footer"))
    decision, asked = judge(World(shorter, second=shorter, page_texts=pages))
    assert Evidence.PREVIOUS_PAGE in evidence(asked)
    assert decision.verdict.kind is Kind.UNCHANGED
    assert decision.verdict.summary.startswith("extraction shift")


def test_removed_text_missing_from_the_page_is_a_change() -> None:
    """A paragraph gone from the article and from the page is a real deletion."""
    shorter = replace(STORY, paragraphs=BODY[:2])
    pages = ((*BODY, "Footer"), (*BODY[:2], "Footer"))
    decision, _ = judge(World(shorter, second=shorter, page_texts=pages))
    assert decision.verdict.kind is Kind.CHANGED


# A short story with a long credit line, then emptied of its story: what the page shows,
# and the extractor's two readings of it (the menu when it was stored, the credits now).
CREDITS = (
    "Edited by Mary-Ann Smith with reporting from the capital by the regional desk; "
    "corrections and tips can be sent to the newsroom at any hour of the day or night"
)
SHORT_STORY = replace(STORY, paragraphs=(BODY[0], CREDITS))
EMPTIED_PAGE = (*MENU, "Minister resigns over bridge", CREDITS)
EMPTIED = Stored(State.REMOVED, Removal.EMPTIED, None, status=200, final_url=URL)
READ_AS_MENU = replace(STORY, paragraphs=MENU)
READ_AS_CREDITS = replace(STORY, paragraphs=(CREDITS,))


def emptied(
    reading: Article, page: tuple[str, ...], emptied_page: tuple[str, ...] = EMPTIED_PAGE
) -> World:
    """A check of a page stored as emptied (read as its menu then, ``SHORT_STORY`` before
    that): both loads read ``reading`` from ``page``."""
    return World(
        reading,
        second=reading,
        stored=EMPTIED,
        baseline=READ_AS_MENU,
        last_good=SHORT_STORY,
        page_texts=(emptied_page, page),
    )


def test_an_emptied_page_read_another_way_stays_removed() -> None:
    """An emptied page whose extractor now reads other furniture than when it was stored,
    all of it shown on the emptied page: nothing came back, no restoration."""
    decision, asked = judge(emptied(READ_AS_CREDITS, EMPTIED_PAGE))
    assert Evidence.PREVIOUS_PAGE in evidence(asked)
    assert decision.verdict.kind is Kind.UNCHANGED
    assert (decision.verdict.state, decision.verdict.removal) == (State.REMOVED, Removal.EMPTIED)
    assert not decision.is_alerting


def test_an_emptied_page_read_another_way_reports_its_rewritten_headline() -> None:
    """Read another way, and its headline rewritten: the headline change is reported, and
    the page is still emptied."""
    retitled = replace(READ_AS_CREDITS, title="Minister quits over bridge")
    page = tuple(line.replace("resigns", "quits") for line in EMPTIED_PAGE)
    decision, _ = judge(emptied(retitled, page))
    assert decision.verdict.kind is Kind.CHANGED
    assert decision.verdict.parts == (Part.HEADLINE,)
    assert (decision.verdict.state, decision.verdict.removal) == (State.REMOVED, Removal.EMPTIED)
    assert decision.is_alerting


def test_an_emptied_page_whose_article_came_back_is_restored() -> None:
    """Text the emptied page did not show is read again: the article is back."""
    decision, _ = judge(emptied(SHORT_STORY, (*EMPTIED_PAGE, BODY[0])))
    assert decision.verdict.kind is Kind.RESTORED
    assert decision.verdict.state is State.OK
    assert decision.is_alerting


def test_an_emptied_page_with_an_article_rewritten_in_its_place_is_restored() -> None:
    """Twenty words or more that the emptied page did not show: an article is back,
    though none of its old text is."""
    rewritten = replace(SHORT_STORY, paragraphs=(BODY[1] + " " + BODY[2], CREDITS))
    decision, _ = judge(emptied(rewritten, (*EMPTIED_PAGE, BODY[1], BODY[2])))
    assert decision.verdict.kind is Kind.RESTORED


def test_an_emptied_page_with_one_short_line_edited_stays_removed() -> None:
    """A short line of the emptied page edited (a word of its credits), read in the
    article's place: no article came back."""
    edited = CREDITS.replace("regional", "national")
    reading = replace(READ_AS_CREDITS, paragraphs=(edited,))
    decision, _ = judge(emptied(reading, (*MENU, "Minister resigns over bridge", edited)))
    assert decision.verdict.state is State.REMOVED
    assert decision.verdict.kind is not Kind.RESTORED


def test_an_emptied_page_that_showed_all_of_its_article_is_restored() -> None:
    """The emptied page still showed the article's text somewhere (a print block, a
    summary): what was read there cannot tell furniture from the article coming back,
    so a reading of the article is a restoration."""
    page = (*EMPTIED_PAGE, BODY[0])
    decision, _ = judge(emptied(SHORT_STORY, page, emptied_page=page))
    assert decision.verdict.kind is Kind.RESTORED


def flip(at: datetime) -> Earlier:
    """The stored history of an A/B test: the version before the latest was ``EDITED``."""
    return Earlier(7, at, "ok", EDITED, Kind.CHANGED.value, (Part.BODY.value,))


def test_flip_back_is_recorded_without_an_alert() -> None:
    """Returning to the version of an hour ago undoes a reported change: no second alert."""
    decision, _ = judge(World(EDITED, second=EDITED, earlier=flip(NOW - timedelta(hours=1))))
    assert decision.verdict.kind is Kind.CHANGED
    assert decision.repeat_of == 7
    assert not decision.is_alerting
    assert decision.routes == ()
    assert "already reported" in decision.verdict.summary


def test_revert_after_the_flip_window_is_news() -> None:
    """An editor undoing an edit days later is reported."""
    decision, _ = judge(World(EDITED, second=EDITED, earlier=flip(NOW - timedelta(days=3))))
    assert decision.routes == ("desk",)
    assert decision.is_alerting
    assert decision.repeat_of is None


# -- properties ------------------------------------------------------------------------------

words = st.sampled_from(["bridge", "tender", "minister", "contract", "river", "vote", "桥梁"])
paragraphs = st.lists(words, min_size=12, max_size=30).map(" ".join)
articles = st.builds(
    Article,
    title=st.sampled_from(["Minister resigns", "Bridge contract", "桥梁合同"]),
    byline=st.sampled_from(["Jane Doe", "", "王伟"]),
    published=st.sampled_from(["2026-11-29", "2026-11-30", ""]),
    paragraphs=st.lists(paragraphs, min_size=1, max_size=4).map(tuple),
)
statuses = st.sampled_from([200, 200, 200, 404, 410, 451, 500, 503])
worlds = st.builds(
    World,
    first=st.none() | articles,
    status=statuses,
    second=st.none() | articles | st.just(FAILED),
    second_status=statuses,
    stored=st.sampled_from([OK, None, Stored(State.REMOVED, Removal.GONE, None)]),
    baseline=st.none() | articles,
    quick=st.booleans(),
    confirm=st.booleans(),
    is_unmodified=st.booleans(),
)


@settings(max_examples=50, deadline=None)
@given(worlds)
def test_judge_decides_without_asking_twice(world: World) -> None:
    """Every check ends in a decision, and no piece of evidence is asked for twice."""
    _, asked = judge(world)
    assert len(asked) == len(set(asked))


@settings(max_examples=50, deadline=None)
@given(worlds)
def test_only_confirmed_events_alert(world: World) -> None:
    """An alert needs an alerting kind and, with confirm on, a second load that answered."""
    decision, asked = judge(world)
    if decision.is_alerting:
        assert decision.verdict.kind.is_alerting
        assert decision.stores_version
        if world.confirm:
            assert Evidence.SECOND_FETCH in evidence(asked)
            assert world.second != FAILED


@settings(max_examples=50, deadline=None)
@given(worlds)
def test_errors_never_store_or_alert(world: World) -> None:
    """A server error (not read as before) is an error: no version, no alert, locator kept."""
    decision, _ = judge(replace(world, status=503, is_unmodified=False, quick=False))
    assert decision.verdict.kind is Kind.ERROR
    assert not decision.stores_version
    assert decision.locator is KEEP


@settings(max_examples=50, deadline=None)
@given(worlds)
def test_a_page_as_stored_is_never_an_event(world: World) -> None:
    """The stored article read again, twice, is never an event: noise never alerts."""
    world = replace(world, first=world.baseline, second=world.baseline, status=200)
    world = replace(world, stored=OK if world.baseline is not None else None)
    decision, _ = judge(world)
    if world.baseline is not None:
        assert not decision.verdict.is_event
