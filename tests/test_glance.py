"""The glance: the page's HTML hashed without what changes on every load, before any parse."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.sites import PARAGRAPHS, boxed_page
from watcher.check.reading import (
    GLANCE_TRIES,
    compare_rules,
    locate_article,
    quick_read,
    read_article,
    reads_as_before,
)
from watcher.config import Watch
from watcher.read import glance as glance_module
from watcher.read.glance import glance
from watcher.read.locate import Locator
from watcher.read.normalize import builtin_ignore

RULES = builtin_ignore()


def digest(html: str, dated_text: bool = False) -> str:
    return glance(html, RULES, "salt", dated_text=dated_text)


def reloaded(n: int, body: str = "<p>The minister resigned on Friday.</p>") -> str:
    """A page as served on load ``n``: every stamp a server puts on a response differs."""
    return (
        f'<html><head><script nonce="{n:x}a9">var t = {n};</script>'
        f'<style nonce="{n}">.x{{}}</style>'
        f'<script type="application/ld+json">{{"headline": "Minister resigns"}}</script></head>'
        f'<body data-nonce="z{n}"><div class="clock">12:{n % 60:02d}</div>'
        f"<h1>Minister resigns</h1><p class=meta>{1000 + n:,} views · {n % 7} comments</p>"
        f"<div>{n % 50 + 2} minutes ago</div>{body}<!-- rendered in {n} ms --></body></html>"
    )


def test_what_every_load_stamps_is_left_out() -> None:
    """nonces, a render comment, a clock, "N minutes ago" and a counter line: same glance."""
    assert len({digest(reloaded(n)) for n in range(1, 6)}) == 1


def test_a_changed_word_number_or_tag_is_seen() -> None:
    base = digest(reloaded(1))
    assert digest(reloaded(1, "<p>The minister resigned on Monday.</p>")) != base
    assert digest(reloaded(1, "<p>The minister resigned on Friday 13.</p>")) != base
    assert digest(reloaded(1, "<p hidden>The minister resigned on Friday.</p>")) != base
    assert digest(reloaded(1, "<span>The minister resigned on Friday.</span>")) != base
    # structured data states the headline: it is read, so it is hashed
    edited = reloaded(1).replace('"headline": "Minister resigns"', '"headline": "Minister stays"')
    assert digest(edited) != base


def test_a_number_inside_a_sentence_is_never_taken_for_a_counter() -> None:
    """counter-shaped text that is not a line of its own is prose: 3 -> 4 is an edit."""
    before = reloaded(1, "<p>She wrote <b>3 comments</b> on the bill.</p>")
    after = reloaded(1, "<p>She wrote <b>4 comments</b> on the bill.</p>")
    assert digest(before) != digest(after)
    line = reloaded(1, "<p>Chapter 3</p>")  # a short line no ignore rule changes
    assert digest(line) != digest(line.replace("Chapter 3", "Chapter 4"))


def test_nonce_shaped_text_outside_a_tag_is_text() -> None:
    before = reloaded(1, "<p>Set nonce=abc in the header.</p>")
    assert digest(before) != digest(before.replace("nonce=abc", "nonce=xyz"))


def test_a_comment_with_markup_inside_is_kept() -> None:
    """Conditional comments hold markup; only plain comments are stamps."""
    before = reloaded(1, "<!--[if IE]><p>Old browser</p><![endif]--><p>Text.</p>")
    assert digest(before) != digest(before.replace("Old browser", "Other"))


def test_where_the_date_is_searched_for_nothing_date_like_is_left_out() -> None:
    """A page whose metadata states no date has its date searched for in all its text,
    comments, scripts and attributes included: those holding a date are kept as they
    are; a render stamp or a nonce with none is still left out."""
    stamped = reloaded(1, "<!-- built 2026-11-27 --><p>Text.</p>")
    restamped = stamped.replace("2026-11-27", "2026-11-20")
    assert digest(stamped, dated_text=True) != digest(restamped, dated_text=True)
    assert digest(stamped) == digest(restamped)  # the metadata states the date: unread
    short = reloaded(1, "<script>var d = '27.11.26';</script><p>Text.</p>")
    assert digest(short, dated_text=True) != digest(
        short.replace("27.11", "20.11"), dated_text=True
    )
    assert len({digest(reloaded(n), dated_text=True) for n in range(1, 6)}) == 1
    assert digest(reloaded(1), dated_text=True) != digest(reloaded(1))


def test_the_settings_are_part_of_it() -> None:
    html = reloaded(1)
    assert glance(html, RULES, "one watch", dated_text=False) != glance(
        html, RULES, "another", dated_text=False
    )


@settings(max_examples=80, deadline=None)
@given(
    text=st.text(alphabet="abcdefghij klmnop", min_size=1, max_size=200),
    data=st.data(),
)
def test_any_one_character_change_of_text_is_seen(text: str, data: st.DataObject) -> None:
    """Whatever a block says, changing one character of it changes the glance."""
    at = data.draw(st.integers(0, len(text) - 1))
    new = "q" if text[at] != "q" else "r"
    edited = text[:at] + new + text[at + 1 :]
    assert digest(reloaded(1, f"<p>{text}</p>")) != digest(reloaded(2, f"<p>{edited}</p>"))


URL = "http://127.0.0.1:9/story"
# Enough text to be an article, not an app shell waiting for its scripts.
STORY = (
    *PARAGRAPHS,
    "The bridge, which was to open next spring, has cost twice its budget so far, and "
    "the auditors who found the missing tender were asked to look at two other contracts.",
)


def page(seed: int) -> str:
    return boxed_page(STORY, seed=seed)


def test_a_date_only_a_script_states_still_counts() -> None:
    """Scripts are left out of the glance, but a page whose metadata states no date is
    given the one htmldate finds, wherever that is: a date changed there is still seen."""
    watch = Watch(url=URL)
    ignore = compare_rules(watch)

    def dated(day: str, seed: int) -> str:
        html = re.sub(r'<meta property="article:published_time"[^>]*>', "", page(seed=seed))
        stamp = f'<script>var story = {{"published": "{day}T08:00:00"}};</script>'
        return html.replace("</head>", f"{stamp}</head>")

    first = dated("2026-11-27", 1)
    article = read_article(first, watch, URL)
    assert article.published == "2026-11-27"
    where = locate_article(first, watch, article, ignore, URL)
    stored = Locator.loads(where)
    assert stored is not None
    assert stored.glance
    assert stored.searched
    assert reads_as_before(dated("2026-11-27", 1), watch, where, ignore, URL)
    assert not reads_as_before(dated("2026-11-20", 1), watch, where, ignore, URL)


def test_a_page_with_almost_no_text_gets_no_glance() -> None:
    """An app shell's article is in its scripts, which the glance leaves out."""
    watch = Watch(url=URL)
    ignore = compare_rules(watch)
    shell = "<html><body><div id=root><p>Loading the story…</p></div></body></html>"
    where = locate_article(shell, watch, read_article(shell, watch, URL), ignore, URL)
    assert where is not None
    assert '"glance": ""' in where
    story = page(seed=1)
    where = locate_article(story, watch, read_article(story, watch, URL), ignore, URL)
    assert where is not None
    assert '"glance": ""' not in where


def test_a_page_whose_furniture_changes_on_every_load_stops_being_glanced() -> None:
    """Related links that rotate on every load defeat the glance; after GLANCE_TRIES such
    loads in a row the page is re-read without one (and still quickly), until its article
    is placed again. A glance that matches again starts the count anew."""
    watch = Watch(url=URL)
    ignore = compare_rules(watch)
    where = locate_article(page(0), watch, read_article(page(0), watch, URL), ignore, URL)
    for seed in range(1, GLANCE_TRIES + 1):
        found = quick_read(page(seed), watch, where, ignore, URL)
        assert isinstance(found, str)
        kept = Locator.loads(found)
        assert kept is not None
        assert kept.misses == seed
        where = found
    assert quick_read(page(GLANCE_TRIES + 1), watch, where, ignore, URL) is True
    # an edit is still found without the glance
    edited = page(GLANCE_TRIES + 2).replace("without a public tender", "after a tender")
    assert quick_read(edited, watch, where, ignore, URL) is False

    fresh = locate_article(page(0), watch, read_article(page(0), watch, URL), ignore, URL)
    found = quick_read(page(1), watch, fresh, ignore, URL)
    assert isinstance(found, str)
    stamped = page(1).replace("</body>", "<!-- 2 ms --></body>")
    again = quick_read(stamped, watch, found, ignore, URL)
    assert isinstance(again, str)
    reset = Locator.loads(again)
    assert reset is not None
    assert reset.misses == 0


# What the glance leaves out, as one regular expression says it (too slow to run on every
# check: a lazy match to each end tag), and what is date-like, as its plain reading says it.
_UNREAD_AS_DEFINED = re.compile(
    r"<!--[^<]*?-->"
    r"|<(script|style)\b(?![^>]*application/(?:ld|settings)\+json)[^>]*>.*?</\1\s*>",
    re.IGNORECASE | re.DOTALL,
)
_DATELIKE_AS_DEFINED = re.compile(r"(?<!\d)(?:19|20)\d\d|\d{1,2}[./-]\d{1,2}[./-]\d\d|\d\d\s*年")
_FRAGMENTS = st.sampled_from(
    ["<!--", "-->", "<script>", "<SCRIPT type=application/ld+json>", "<style >", "</script>",
     "</STYLE >", "</script", "<scripts>", "<p>", "<", ">", "-", " ", "a", "2019", "x1",
     "12.3.45", "7 年", "\n"]
)  # fmt: skip


@settings(max_examples=400)
@given(st.lists(_FRAGMENTS, max_size=30).map("".join), st.booleans())
def test_the_scanner_leaves_out_exactly_what_the_definition_names(
    html: str, dated_text: bool
) -> None:
    def kept(m: re.Match[str]) -> str:
        return m.group(0) if dated_text and _DATELIKE_AS_DEFINED.search(m.group(0)) else ""

    assert "".join(glance_module._read(html, dated_text)) == _UNREAD_AS_DEFINED.sub(kept, html)


@given(st.text(alphabet="0123456789129./- 年x", max_size=14))
def test_date_like_is_what_its_plain_reading_says(text: str) -> None:
    found = glance_module._DATELIKE.search(text) is not None
    assert found == (_DATELIKE_AS_DEFINED.search(text) is not None)
