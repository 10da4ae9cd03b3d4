"""Decide what happened to a page between two observations (pure: no I/O).

An error (no response, 5xx, 429, 403) is never a removal: a flaky server must not
cry wolf. A removal is a 404/410, a 451, or a redirect away from the article.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

from watcher.diff import Edit, count_words, diff_texts, summarize_edits
from watcher.extract import Article

logger = logging.getLogger(__name__)


class Kind(StrEnum):
    UNCHANGED = "unchanged"
    NEW = "new"
    CHANGED = "changed"
    REMOVED = "removed"
    RESTORED = "restored"
    ERROR = "error"


class Removal(StrEnum):
    GONE = "gone"  # 404 / 410
    LEGAL = "legal"  # 451 Unavailable For Legal Reasons
    REDIRECTED = "redirected"  # to the home page, a section front or another site
    EMPTIED = "emptied"  # the page loads but the article text vanished


class Part(StrEnum):
    HEADLINE = "headline"
    BYLINE = "byline"
    DATE = "date"
    BODY = "body"


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


# A page whose body text was this long and now has nothing is "emptied", not edited.
_MIN_WORDS_FOR_EMPTIED = 20


def classify_change(previous: Baseline | None, current: Observation) -> Verdict:
    """Compare the current observation with the stored baseline and name the event."""
    removed = _removal_of(current)
    if isinstance(removed, Verdict):
        return removed
    if removed is not None:
        removal, why = removed
        if previous is not None and previous.state is State.REMOVED:
            return Verdict(Kind.UNCHANGED, state=State.REMOVED, removal=previous.removal)
        return Verdict(Kind.REMOVED, state=State.REMOVED, removal=removal, summary=why)

    article = current.article
    assert article is not None  # _removal_of returns an error verdict otherwise
    if previous is not None and _is_emptied(previous, article):
        if previous.state is State.REMOVED:
            return Verdict(Kind.UNCHANGED, state=State.REMOVED, removal=previous.removal)
        return Verdict(
            Kind.REMOVED,
            state=State.REMOVED,
            removal=Removal.EMPTIED,
            summary="removed: the article text vanished while the page still loads",
        )
    if previous is None:
        return Verdict(Kind.NEW, summary=f"first version: {_headline(article)}")
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


def _removal_of(current: Observation) -> Verdict | tuple[Removal, str] | None:
    """An error verdict, a removal with its reason, or None for a readable page."""
    status = current.status
    if status is None or current.error:
        return Verdict(Kind.ERROR, summary=f"error: {current.error or 'no response'}")
    if status in (404, 410):
        return Removal.GONE, f"removed: the server answers {status} {_reason(status)}"
    if status == 451:
        return Removal.LEGAL, "removed: unavailable for legal reasons (451)"
    if status >= 400:
        return Verdict(Kind.ERROR, summary=f"error: the server answers {status}")
    if status >= 300:
        # A redirect the fetcher did not follow (loop cut short, no Location).
        return Verdict(Kind.ERROR, summary=f"error: unresolved redirect ({status})")
    if current.final_url and is_redirected_away(current.url, current.final_url):
        return Removal.REDIRECTED, f"removed: redirected to {current.final_url}"
    if current.article is None:
        return Verdict(Kind.ERROR, summary="error: nothing could be read from the page")
    return None


def _reason(status: int) -> str:
    return {404: "Not Found", 410: "Gone"}.get(status, "")


def _is_emptied(previous: Baseline, article: Article) -> bool:
    reference = previous.last_good if previous.state is State.REMOVED else previous.article
    if reference is None:
        return False
    had = count_words(reference.text)
    return had >= _MIN_WORDS_FOR_EMPTIED and count_words(article.text) == 0


def _compare(old: Article, new: Article) -> Verdict:
    parts: list[Part] = []
    headline_edits: tuple[Edit, ...] = ()
    if old.title != new.title:
        parts.append(Part.HEADLINE)
        headline_edits = diff_texts(old.title, new.title)
    if old.byline != new.byline:
        parts.append(Part.BYLINE)
    if old.published != new.published:
        parts.append(Part.DATE)
    edits: tuple[Edit, ...] = ()
    added = removed = 0
    if old.text != new.text:
        parts.append(Part.BODY)
        edits = diff_texts(old.text, new.text)
        added, removed = summarize_edits(edits)
    if not parts:
        return Verdict(Kind.UNCHANGED)
    return Verdict(
        Kind.CHANGED,
        parts=tuple(parts),
        words_added=added,
        words_removed=removed,
        summary=_change_summary(parts, old, new, added, removed),
        edits=edits,
        headline_edits=headline_edits,
    )


def _change_summary(parts: list[Part], old: Article, new: Article, added: int, removed: int) -> str:
    pieces = []
    if Part.HEADLINE in parts:
        pieces.append(f"headline changed: {old.title!r} -> {new.title!r}")
    if Part.BYLINE in parts:
        pieces.append(f"byline changed: {old.byline!r} -> {new.byline!r}")
    if Part.DATE in parts:
        pieces.append(f"date changed: {old.published!r} -> {new.published!r}")
    if Part.BODY in parts:
        pieces.append(f"body edited: +{added} -{removed} words")
    return "; ".join(pieces)


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
    "Kind",
    "Observation",
    "Part",
    "Removal",
    "State",
    "Verdict",
    "classify_change",
    "is_redirected_away",
]
