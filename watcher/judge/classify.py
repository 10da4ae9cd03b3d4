"""Decide what happened to a page between two observations (pure: no I/O).

An error (no response, 5xx, 429, 403) is never a removal: a flaky server must not
cry wolf. A removal is a 404/410, a 451, a redirect away from the article, or a page
that still answers 200 but whose article is gone: a "not found" page, a removal notice,
or nothing of the article left. Phrase lists come in as ``DetectionRules``; this module
never reads them from disk.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from functools import lru_cache
from itertools import pairwise
from urllib.parse import urlsplit

from watcher.read.diff import Edit, count_words, diff_texts, summarize_edits
from watcher.read.extract import Article

logger = logging.getLogger(__name__)


class Kind(StrEnum):
    UNCHANGED = "unchanged"
    NEW = "new"
    CHANGED = "changed"
    REMOVED = "removed"
    RESTORED = "restored"
    ERROR = "error"

    @property
    def is_alerting(self) -> bool:
        """Worth telling someone, so a second fetch must confirm it first; a "new" page is
        only a first version and has nothing to be mistaken against."""
        return self in (Kind.CHANGED, Kind.REMOVED, Kind.RESTORED)


class Removal(StrEnum):
    GONE = "gone"  # 404 / 410
    LEGAL = "legal"  # 451 Unavailable For Legal Reasons
    REDIRECTED = "redirected"  # to the home page, a section front or another site
    EMPTIED = "emptied"  # the page loads but the article text vanished
    SOFT_404 = "soft_404"  # 200, but the page is the site's "not found" page
    NOTICE = "notice"  # the article replaced by a removal notice ("this content was removed")


class Part(StrEnum):
    HEADLINE = "headline"
    BYLINE = "byline"
    DATE = "date"
    BODY = "body"
    CAPTION = "caption"  # picture captions in the article block
    NOTES = "notes"  # lines of the article block the extractor leaves out of the body


class State(StrEnum):
    OK = "ok"
    REMOVED = "removed"


@dataclass(frozen=True, slots=True)
class Observation:
    """One look at a page: what came back and what was read from it."""

    url: str  # as requested
    status: int | None  # None when no response arrived
    final_url: str = ""
    article: Article | None = None  # normalised, ignore rules applied
    error: str | None = None
    # what the same host answers with 200 for a URL that cannot exist, read the same way
    # as ``article``; None when unknown or when the host answers such URLs with a 404
    not_found: Article | None = None
    # the visible text of the whole page, one line per block (extraction's "page" mode):
    # a short removal notice is often dropped by the article extractor as boilerplate
    page_lines: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Baseline:
    """What the store knows of a page: its latest version and its last good one."""

    state: State
    removal: Removal | None
    article: Article  # latest stored version (ignore rules applied)
    last_good: Article | None  # latest version whose state was OK


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of one check; ``edits`` is the body diff for display and alerts."""

    kind: Kind
    state: State = State.OK
    parts: tuple[Part, ...] = ()
    removal: Removal | None = None
    words_added: int = 0
    words_removed: int = 0
    summary: str = ""
    edits: tuple[Edit, ...] = ()
    headline_edits: tuple[Edit, ...] = ()

    @property
    def is_event(self) -> bool:
        """True when a new version must be stored: anything but unchanged or error."""
        return self.kind not in (Kind.UNCHANGED, Kind.ERROR)


def error_verdict(reason: str) -> Verdict:
    """The one way an error is reported: no response, an unreadable page, a crash.

    An error is never a removal and never alerts as a change; the page keeps its state.
    """
    return Verdict(Kind.ERROR, summary=f"error: {reason}")


@dataclass(frozen=True, slots=True)
class DetectionRules:
    """Phrases that mark a page as a removal notice or a "not found" page.

    Matched case-insensitively on normalised text; a phrase that starts or ends with a
    letter or digit must stand as a word there ("404" does not match "14045").
    """

    notice_phrases: tuple[str, ...]
    not_found_phrases: tuple[str, ...]


# A page whose body text was this long is a real article: if it vanishes, that is a removal,
# and this much new text on an emptied page is an article back, however rewritten.
ARTICLE_WORDS = 20
# Share of the previous article's word pairs still present below which the article is gone
# (a notice or "not found" page), or, far lower still, vanished with no notice at all.
_GONE_BELOW = 0.5
_EMPTIED_BELOW = 0.15
_REMNANT_BELOW = 0.25

# A notice or "not found" line stands on its own: a short paragraph, not a long sentence
# that happens to quote one. "Not found" is common in prose, so its lines must be shorter.
_MAX_NOTICE_WORDS = 40
_MAX_NOT_FOUND_WORDS = 15
# How alike the page must be to the host's own "not found" page to be one.
_SAME_AS_NOT_FOUND = 0.8


def classify_change(
    previous: Baseline | None,
    current: Observation,
    *,
    rules: DetectionRules,
) -> Verdict:
    """Compare the current observation with the stored baseline and name the event."""
    if current.article is None and previous is not None and _answered_ok(current):
        # A 200 with nothing to read where an article stood is the article gone (emptied),
        # not an error: an error would repeat on every check while the page stays empty.
        current = replace(current, article=_NOTHING)
    removed = _removal_of(current)
    if isinstance(removed, Verdict):
        return removed
    article = current.article
    if removed is None and previous is not None:
        assert article is not None  # _removal_of returns an error verdict otherwise
        removed = _content_removal(previous, current, article, rules)
    if removed is not None:
        removal, why = removed
        if previous is not None and previous.state is State.REMOVED:
            if not _escalated(previous.removal, removal):
                return still_removed(previous, article)
            was = _KIND_NAMES[previous.removal] if previous.removal else "removed"
            why = f"{why}; it was {was} before"
        return Verdict(Kind.REMOVED, state=State.REMOVED, removal=removal, summary=why)

    assert article is not None  # _removal_of returns an error verdict otherwise
    if previous is None:
        return Verdict(Kind.NEW, summary=f"first version: {_headline(article)}")
    if _still_as_removed(previous, article):
        return still_removed(previous, article)
    if previous.state is State.REMOVED:
        baseline = previous.last_good
        if baseline is None:
            return Verdict(Kind.RESTORED, summary="restored: the page is back")
        verdict = _compare(baseline, article)
        detail = f" ({verdict.summary})" if verdict.kind is Kind.CHANGED else " unchanged"
        return Verdict(
            Kind.RESTORED,
            parts=verdict.parts,
            words_added=verdict.words_added,
            words_removed=verdict.words_removed,
            summary=f"restored: the page is back,{detail}",
            edits=verdict.edits,
            headline_edits=verdict.headline_edits,
        )
    return _compare(previous.article, article)


def _still_as_removed(previous: Baseline, article: Article) -> bool:
    """Whether a page found emptied, or showing a notice or a "not found" page, still
    reads exactly as it did then: nothing came back, whatever share of the old article
    its leftovers (a teaser list the old reading held too) amount to today."""
    return (
        previous.state is State.REMOVED
        and previous.removal in _SHOWN_REMOVALS
        and _without_spaces(previous.article.text) == _without_spaces(article.text)
    )


def still_removed(previous: Baseline, article: Article | None) -> Verdict:
    """A page that stays removed: unchanged, unless it still shows the article's own
    headline, byline or date line (emptied, or a notice in place of the body) and those
    were rewritten meanwhile. That is an edit of what a reader sees, and what was done to
    a removed article is news too; what else such a page shows (the menus read in the
    article's place) is left alone, as with any removal."""
    unchanged = Verdict(Kind.UNCHANGED, state=State.REMOVED, removal=previous.removal)
    if article is None or previous.removal not in _HEADED_REMOVALS:
        return unchanged
    old = previous.article
    shown = replace(article, paragraphs=old.paragraphs, captions=old.captions, notes=old.notes)
    verdict = _compare(old, shown)
    # rewritten, not one that appeared on a page that showed none (a notice's own title)
    rewritten = {
        part
        for part, before, after in (
            (Part.HEADLINE, old.title, article.title),
            (Part.BYLINE, old.byline or old.bylines, article.byline or article.bylines),
            (Part.DATE, old.datelines, article.datelines),
        )
        if part in verdict.parts and before and after
    }
    if not rewritten:
        return unchanged
    was = _KIND_NAMES[previous.removal]
    return replace(
        verdict,
        state=State.REMOVED,
        removal=previous.removal,
        summary=f"{verdict.summary} (the page is still {was})",
    )


# Removals whose page may still show the article's headline and byline.
_HEADED_REMOVALS = frozenset({Removal.EMPTIED, Removal.NOTICE})


def _escalated(before: Removal | None, now: Removal) -> bool:
    """Whether a page already removed is now removed in a way worth its own alert: the
    server itself says so where the page had only been emptied, replaced by a notice or
    by a "not found" page (now a 404, a 451, a redirect away), or any removal turned into
    451 (unavailable for legal reasons: the reason is news). A page moving between 404
    and a redirect, or between an empty page and a notice, stays one removal."""
    if now is before:
        return False
    if now is Removal.LEGAL:
        return True
    return before in _SHOWN_REMOVALS and now not in _SHOWN_REMOVALS


# Removals read from what the page shows, rather than from how the server answers.
_SHOWN_REMOVALS = frozenset({Removal.EMPTIED, Removal.SOFT_404, Removal.NOTICE})
_KIND_NAMES = {
    Removal.GONE: "gone (404/410)",
    Removal.LEGAL: "unavailable for legal reasons (451)",
    Removal.REDIRECTED: "redirected away",
    Removal.EMPTIED: "emptied",
    Removal.SOFT_404: "a 'not found' page",
    Removal.NOTICE: "a removal notice",
}


def _removal_of(current: Observation) -> Verdict | tuple[Removal, str] | None:
    """An error verdict, a removal with its reason, or None for a readable page."""
    status = current.status
    if status is None or current.error:
        return error_verdict(current.error or "no response")
    if status in (404, 410):
        return Removal.GONE, f"removed: the server answers {status} {_reason(status)}"
    if status == 451:
        return Removal.LEGAL, "removed: unavailable for legal reasons (451)"
    if status >= 400:
        return error_verdict(f"the server answers {status}")
    if status >= 300:
        # A redirect the fetcher did not follow (loop cut short, no Location).
        return error_verdict(f"unresolved redirect ({status})")
    if current.final_url and is_redirected_away(current.url, current.final_url):
        return Removal.REDIRECTED, f"removed: redirected to {current.final_url}"
    if current.article is None:
        return error_verdict("nothing could be read from the page")
    return None


_NOTHING = Article(title="", byline="", published="", paragraphs=())


def _answered_ok(current: Observation) -> bool:
    return current.error is None and current.status is not None and 200 <= current.status < 300


def _reason(status: int) -> str:
    return {404: "Not Found", 410: "Gone"}.get(status, "")


def _content_removal(
    previous: Baseline, current: Observation, article: Article, rules: DetectionRules
) -> tuple[Removal, str] | None:
    """A 200 page whose article is gone: a "not found" page, a removal notice, or nothing.

    Every rule needs the previous version to have been a real article and most of it to
    be gone now, so an article that quotes "this content has been removed" or mentions a
    404 is still an article.
    """
    reference = previous.last_good if previous.state is State.REMOVED else previous.article
    # the same text first: it is every noisy check's answer, and the cheapest
    if reference is None or article.text == reference.text:
        return None
    if count_words(reference.text) < ARTICLE_WORDS:
        return None
    if count_words(article.text) == 0:
        return Removal.EMPTIED, "removed: the article text vanished while the page still loads"
    kept = surviving_share(_story(reference), _story(article))
    if kept < 1.0 and (found := _headline_removal(reference, article, rules)):
        return found
    if kept >= _GONE_BELOW:
        return None
    not_found = current.not_found
    if not_found is not None and resemblance(article, not_found) >= _SAME_AS_NOT_FOUND:
        return Removal.SOFT_404, "removed: the page is the site's own 'not found' page"
    if phrase := _found_phrase(reference, article, rules.not_found_phrases, _MAX_NOT_FOUND_WORDS):
        return Removal.SOFT_404, f"removed: the page now says {phrase!r} (a 'not found' page)"
    if phrase := _found_phrase(reference, article, rules.notice_phrases, _MAX_NOTICE_WORDS):
        return Removal.NOTICE, f"removed: the article was replaced by a notice: {phrase!r}"
    page = Article("", "", "", current.page_lines)
    if phrase := _found_phrase(reference, page, rules.notice_phrases, _MAX_NOTICE_WORDS):
        return Removal.NOTICE, f"removed: the article was replaced by a notice: {phrase!r}"
    if phrase := _found_phrase(reference, page, rules.not_found_phrases, _MAX_NOT_FOUND_WORDS):
        return Removal.SOFT_404, f"removed: the page now says {phrase!r} (a 'not found' page)"
    if kept < _EMPTIED_BELOW or (kept < _REMNANT_BELOW and _adds_nothing(reference, article)):
        # Almost nothing of the article is left: whatever the page shows now (furniture,
        # or another story under the same URL), the article that was watched is gone.
        # Somewhat more may be left when nothing at all came in its place: the remnant is
        # what the old reading held beside the story (a teaser list, a tag line).
        return (
            Removal.EMPTIED,
            f"removed: the article text vanished ({100 * kept:.0f}% of it is left)",
        )
    if article.is_fallback and not reference.is_fallback:
        # No article is found on the page any more, and what it shows instead (its menu,
        # its teasers, a footer) is mostly not the article: reduced to furniture.
        return (
            Removal.EMPTIED,
            f"removed: only the page's furniture is left ({100 * kept:.0f}% of the article)",
        )
    return None


def _story(article: Article) -> str:
    """The article's text without the site's legal lines (a disclaimer, a copyright or
    reprint notice) that the extractor takes in with it: they stay when the story goes,
    and must not count as what is left of it."""
    kept = [p for p in article.paragraphs if not _LEGAL_LINE.match(p)]
    return "\n\n".join(kept) if kept else article.text


# A paragraph that opens as a site's legal line does, in the languages our users read.
_LEGAL_LINE = re.compile(
    r"\W{0,3}(?:免责声明|免責聲明|版权声明|版權聲明|版权所有|版權所有|转载声明|特别声明|风险提示"
    r"|disclaimer|copyright\b|©|\(c\)\s*\d{4}|all rights reserved|haftungsausschluss"
    r"|avertissement|aviso legal|descargo de responsabilidad|免責事項|著作権)",
    re.IGNORECASE,
)


def _adds_nothing(reference: Article, article: Article) -> bool:
    """Whether every paragraph read now was a paragraph of ``reference`` (or holds no word,
    like a list's bullet left behind): nothing was written in place of what went."""
    before = set(reference.paragraphs)
    return all(p in before or _WORDLESS.match(p) for p in article.paragraphs)


_WORDLESS = re.compile(r"\W*\Z")


def _headline_removal(
    reference: Article, article: Article, rules: DetectionRules
) -> tuple[Removal, str] | None:
    """A headline or document title that now *is* a "not found" or removal line, while
    some paragraph of the old article vanished without a trace.

    When the extractor read a short article's page furniture as the article, the
    furniture outlives a removal and most of the old text survives; the headline and
    the lost paragraph still tell. The phrase must be most of the headline (or of one
    of its " | "-separated parts), so "Missing hiker not found after three days" over
    a rewritten body stays an edit.
    """
    found: tuple[Removal, str] | None = None
    if line := _headline_saying(reference, article, rules.not_found_phrases):
        found = Removal.SOFT_404, f"removed: the page now says {line!r} (a 'not found' page)"
    elif line := _headline_saying(reference, article, rules.notice_phrases):
        found = Removal.NOTICE, f"removed: the headline became a notice: {line!r}"
    if found is None:
        return None
    lost = any(
        count_words(p) >= 3 and surviving_share(p, article.text) == 0.0
        for p in reference.paragraphs
    )
    return found if lost else None


def _headline_saying(reference: Article, article: Article, phrases: tuple[str, ...]) -> str:
    pattern = _phrase_pattern(phrases)
    if pattern is None:
        return ""
    return _title_saying(
        {reference.title.casefold(), reference.page_title.casefold()}, article, pattern
    )


def _found_phrase(
    old: Article, new: Article, phrases: tuple[str, ...], max_words: int
) -> str | None:
    """The first line of ``new`` that carries one of ``phrases`` and ``old`` did not have.

    A notice stands on its own: a paragraph counts when it has at most ``max_words``
    words, the headline or document title when the phrase is most of it (or of one of
    its parts around a " | "), not when a headline merely contains the words.
    """
    pattern = _phrase_pattern(phrases)
    if pattern is None:
        return None
    before = {line.casefold() for line in (old.title, old.page_title, *old.paragraphs)}
    if line := _title_saying(before, new, pattern):
        return line
    for line in new.paragraphs:
        if not line or count_words(line) > max_words:
            continue
        folded = line.casefold()
        if folded not in before and pattern.search(folded):
            return line
    return None


# Separators between a headline and the site's name ("Page not found | Example News").
_TITLE_PARTS = re.compile(r"\s+[|\-–—·:]\s+|[_|]")


def _title_saying(before: set[str], new: Article, pattern: re.Pattern[str]) -> str:
    """The headline or document title of ``new`` if one of its parts is mostly phrases."""
    for line in (new.title, new.page_title):
        if not line or line.casefold() in before:
            continue
        for part in _TITLE_PARTS.split(line.casefold()):
            size = len("".join(part.split()))
            said = sum(len("".join(m.group().split())) for m in pattern.finditer(part))
            if size and said >= size / 2:
                return line
    return ""


@lru_cache(maxsize=8)
def _phrase_pattern(phrases: tuple[str, ...]) -> re.Pattern[str] | None:
    alternatives = []
    for phrase in phrases:
        text = " ".join(phrase.casefold().split())
        if not text:
            continue
        start = r"(?<!\w)" if text[0].isalnum() and text[0].isascii() else ""
        end = r"(?!\w)" if text[-1].isalnum() and text[-1].isascii() else ""
        alternatives.append(start + re.escape(text).replace(r"\ ", r"\s+") + end)
    return re.compile("|".join(alternatives)) if alternatives else None


# Han, kana and Hangul syllables count one token each; other scripts by word.
_CJK = "\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff"
_TOKENS = re.compile(rf"[{_CJK}]|[^\W_{_CJK}]+")


def _pairs(text: str) -> Counter[tuple[str, str]]:
    tokens = _TOKENS.findall(text.casefold())
    return Counter(pairwise(tokens))


def surviving_share(old: str, new: str) -> float:
    """Share of ``old``'s adjacent word pairs (Han characters: character pairs) in ``new``.

    Pairs rather than words: a page's navigation shares common words with any article
    but few pairs, while an edited article keeps almost all of them even if every
    paragraph was touched (curly quotes, a renamed person).
    """
    if old == new:
        return 1.0  # every check of an unchanged page asks; counting its pairs is not cheap
    before = _pairs(old)
    total = sum(before.values())
    if not total:
        return 1.0
    return sum((before & _pairs(new)).values()) / total


def resemblance(a: Article, b: Article) -> float:
    """How alike two pages read (Dice coefficient of word pairs of title and text)."""
    first = _pairs(f"{a.title}\n{a.text}")
    second = _pairs(f"{b.title}\n{b.text}")
    total = sum(first.values()) + sum(second.values())
    if not total:
        return 1.0
    return 2 * sum((first & second).values()) / total


def _compare(old: Article, new: Article) -> Verdict:
    parts: list[Part] = []
    where: dict[Part, str] = {}
    headline_edits: tuple[Edit, ...] = ()
    for part, shown, stated in (
        (Part.HEADLINE, _shown_headline(old, new), _stated(old, new, "headline")),
        (Part.BYLINE, _shown_bylines(old, new), _stated_byline(old, new)),
        (Part.DATE, _shown_dates(old, new), _stated_date(old, new)),
    ):
        if shown or stated:
            parts.append(part)
            where[part] = _where(shown=shown, stated=stated)
    if Part.HEADLINE in parts:
        before, after = _headline_texts(old, new)
        headline_edits = diff_texts(before, after) if before != after else ()
    edits: tuple[Edit, ...] = ()
    added = removed = 0
    if old.text != new.text and _without_spaces(old.text) != _without_spaces(new.text):
        parts.append(Part.BODY)
        edits = diff_texts(old.text, new.text)
        added, removed = summarize_edits(edits)
    if _lines_changed(old.captions, new.captions, old, new):
        parts.append(Part.CAPTION)
    if _lines_changed(old.notes, new.notes, old, new):
        parts.append(Part.NOTES)
    if not parts:
        return Verdict(Kind.UNCHANGED)
    return Verdict(
        Kind.CHANGED,
        parts=tuple(parts),
        words_added=added,
        words_removed=removed,
        summary=_change_summary(parts, where, old, new, added, removed),
        edits=edits,
        headline_edits=headline_edits,
    )


def _stated(old: Article, new: Article, key: str) -> bool:
    """Whether the metadata states ``key`` otherwise: a value it did not state before, in
    place of a statement it made (one tag rewritten while another keeps the old value
    counts). One of several statements dropped (a template that stops repeating the date
    in its microdata) is not a new value, nor is a statement added beside the others (a
    block of structured data that comes and goes). White space is layout, here too."""
    before = [_without_spaces(v) for v in _statements(old, key)]
    after = [_without_spaces(v) for v in _statements(new, key)]
    new_values = set(after) - set(before)
    return bool(new_values) and (bool(set(before) - set(after)) or len(after) <= len(before))


def _statements(article: Article, key: str) -> tuple[str, ...]:
    prefix = f"{key}: "
    return tuple(line[len(prefix) :] for line in article.stated if line.startswith(prefix))


def _stated_byline(old: Article, new: Article) -> bool:
    return old.byline != new.byline or _stated(old, new, "author")


def _stated_date(old: Article, new: Article) -> bool:
    """The stated publication day, or the stated moment with its time of day."""
    if old.published and new.published and _day(old.published) != _day(new.published):
        return True
    return _stated(old, new, "published")


def _shown_headline(old: Article, new: Article) -> bool:
    """The headline read otherwise: the extracted one, or the heading a reader takes for
    it, rewritten while the metadata and the document's title still state the old one.
    A heading that vanished or appeared (a template's A/B) is not a new headline."""
    return old.title != new.title or _replaced(old.headlines, new.headlines)


def _headline_texts(old: Article, new: Article) -> tuple[str, str]:
    """The two headlines to show: the extracted ones, or the headings when only those
    changed."""
    if old.title != new.title or not _shown_headline(old, new):
        return old.title, new.title
    return " | ".join(old.headlines), " | ".join(new.headlines)


def _shown_bylines(old: Article, new: Article) -> bool:
    return _lines_differ(old.bylines, new.bylines)


def _shown_dates(old: Article, new: Article) -> bool:
    """A dateline shown that reads otherwise: one line gone and another in its place. A
    dateline that vanished (it turned into "3 minutes ago", dropped as volatile) or one
    that appeared where a relative time stood is not a new date."""
    return _replaced(old.datelines, new.datelines)


def _replaced(old: tuple[str, ...], new: tuple[str, ...]) -> bool:
    """One line gone and another in its place (spacing aside): not one that only vanished
    or only appeared. Counted, not as sets: a page that shows its date twice (under the
    headline and at the foot) and changes one of them shows a new date."""
    before = Counter(_without_spaces(t) for t in old)
    after = Counter(_without_spaces(t) for t in new)
    return bool(before - after) and bool(after - before)


def _lines_differ(old: tuple[str, ...], new: tuple[str, ...]) -> bool:
    """Lines differ in what a reader reads, not in how the layout spaces or orders them
    (a list of author links reshuffled is the same credits)."""
    return old != new and sorted(_without_spaces(t) for t in old) != sorted(
        _without_spaces(t) for t in new
    )


def _lines_changed(
    before: tuple[str, ...], after: tuple[str, ...], old: Article, new: Article
) -> bool:
    """Lines of a part (captions, notes) that differ, leaving out a line that only moved
    between the part and the body: the extractor drew the body's edge elsewhere, and the
    body's own change (if any) is reported as the body's."""
    if not _lines_differ(before, after):
        return False
    old_lines = {_without_spaces(t) for t in before}
    new_lines = {_without_spaces(t) for t in after}
    old_body, new_body = _without_spaces(old.text), _without_spaces(new.text)
    added = [t for t in new_lines - old_lines if t not in old_body]
    removed = [t for t in old_lines - new_lines if t not in new_body]
    return bool(added or removed)


def _where(*, shown: bool, stated: bool) -> str:
    if shown and stated:
        return "shown on the page and stated in metadata"
    if shown:
        return "shown on the page; metadata unchanged"
    return "stated in metadata; shown on the page unchanged"


def _change_summary(
    parts: list[Part],
    where: dict[Part, str],
    old: Article,
    new: Article,
    added: int,
    removed: int,
) -> str:
    pieces = []
    if Part.HEADLINE in parts:
        before, after = _headline_texts(old, new)
        if old.title != new.title:
            pieces.append(f"headline changed: {before!r} -> {after!r}")
        elif before != after:
            pieces.append(f"headline changed ({where[Part.HEADLINE]}): {before!r} -> {after!r}")
        else:
            pieces.append(f"headline changed ({where[Part.HEADLINE]})")
    if Part.BYLINE in parts:
        before, after = _shown_or_stated(old.bylines, old.byline, new.bylines, new.byline)
        pieces.append(f"byline changed ({where[Part.BYLINE]}): {before!r} -> {after!r}")
    if Part.DATE in parts:
        before, after = _shown_or_stated(old.datelines, old.published, new.datelines, new.published)
        pieces.append(f"date changed ({where[Part.DATE]}): {before!r} -> {after!r}")
    if Part.BODY in parts:
        pieces.append(f"body edited: +{added} -{removed} words")
    if Part.CAPTION in parts:
        pieces.append(f"caption changed: {_first_new(old.captions, new.captions)!r}")
    if Part.NOTES in parts:
        pieces.append(f"notes changed: {_first_new(old.notes, new.notes)!r}")
    return "; ".join(pieces)


def _shown_or_stated(
    old_shown: tuple[str, ...], old_stated: str, new_shown: tuple[str, ...], new_stated: str
) -> tuple[str, str]:
    if old_shown != new_shown:
        return " | ".join(old_shown), " | ".join(new_shown)
    return old_stated, new_stated


def _first_new(old: tuple[str, ...], new: tuple[str, ...]) -> str:
    """The first line of ``new`` that ``old`` lacks (or the first line ``new`` lost)."""
    before, after = set(old), set(new)
    for line in new:
        if line not in before:
            return line[:120]
    for line in old:
        if line not in after:
            return f"removed: {line[:110]}"
    return ""


def _without_spaces(text: str) -> str:
    """The text with layout-only white space removed, paragraph breaks included.

    Extraction re-splits paragraphs and spaces text differently when the markup around
    it changes (an inline tag added, a block boundary moved); a reader sees the same
    words. Spaces between two letters or digits stay: "now here" and "nowhere" differ.
    """
    return _LAYOUT_SPACE.sub("", " ".join(text.split()))


# A space with a CJK character or punctuation on either side carries no meaning.
_LAYOUT_SPACE = re.compile(rf"(?<=[^\w\s]) | (?=[^\w\s])|(?<=[{_CJK}]) | (?=[{_CJK}])")


def _day(published: str) -> str:
    """The calendar day a date names; the time of day is not an edit of the article.

    Dates are compared only when both versions state one: extraction leaves the date out
    when the page gives no trustworthy source (see ``extract._stable_date``), and a date
    that could not be read is not a date that changed. Moving the article to another day
    is an edit; a clock or "last updated" time moving within the day is not.
    """
    text = published.strip()
    try:
        return date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        return text


def _headline(article: Article) -> str:
    return article.title or article.page_title or "(untitled)"


def is_redirected_away(requested: str, final: str) -> bool:
    """True when a redirect leaves the article: home page, a section front, another site.

    Moving to HTTPS, dropping or adding ``www.``, a trailing slash, tracking parameters
    or a new slug for the same story is not a removal.
    """
    old, new = urlsplit(requested), urlsplit(final)
    old_host, new_host = _bare_host(old.hostname or ""), _bare_host(new.hostname or "")
    if _site(old_host) != _site(new_host):
        return True
    old_path, new_path = old.path.rstrip("/"), new.path.rstrip("/")
    if old_path == new_path:
        # The same path losing its identifying query (?id=123 -> bare index) is away.
        return bool(old.query) and not new.query and not old_path
    if not new_path:
        return True  # the home page
    if old_path.startswith(new_path + "/"):
        return True  # a section front above the article
    last = new_path.rsplit("/", 1)[-1].lower()
    return last in _ERROR_PAGE_NAMES or last.split(".")[0] in _ERROR_PAGE_NAMES


_ERROR_PAGE_NAMES = frozenset(
    {"404", "410", "error", "errors", "notfound", "not-found", "not_found", "page-not-found"}
)

# Second-level labels under which registrable names take three labels (bbc.co.uk).
_SECOND_LEVEL = frozenset({"co", "com", "net", "org", "gov", "edu", "ac", "or", "ne", "go"})


def _bare_host(host: str) -> str:
    host = host.lower().rstrip(".")
    for prefix in ("www.", "m.", "amp.", "mobile."):
        if host.startswith(prefix):
            return host[len(prefix) :]
    return host


def _site(host: str) -> str:
    labels = host.split(".")
    if len(labels) >= 3 and labels[-2] in _SECOND_LEVEL and len(labels[-1]) == 2:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


__all__ = [
    "Baseline",
    "DetectionRules",
    "Kind",
    "Observation",
    "Part",
    "Removal",
    "State",
    "Verdict",
    "classify_change",
    "error_verdict",
    "is_redirected_away",
    "resemblance",
    "surviving_share",
]
