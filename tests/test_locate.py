"""The quick re-read: where the article was found last time, and whether it reads the same."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.sites import PARAGRAPHS
from tests.sites import boxed_page as page
from watcher.read.extract import Article, extract_article, prepare_page
from watcher.read.locate import Locator, find_locator, reads_the_same
from watcher.read.normalize import builtin_ignore, normalize_article

RULES = builtin_ignore()
SALT = "test"


def read(html: str) -> Article:
    return normalize_article(extract_article(html)).article


def locate(html: str) -> Locator:
    root = prepare_page(html)
    assert root is not None
    found = find_locator(root, read(html), RULES, SALT)
    assert found is not None
    return found


def same(locator: Locator, html: str) -> bool:
    root = prepare_page(html)
    assert root is not None
    return reads_the_same(root, locator, RULES, SALT)


def test_noise_outside_the_article_reads_the_same() -> None:
    """ad-rotation-noise, clock, nonce and related links around the article: same reading."""
    locator = locate(page(seed=1))
    for seed in range(2, 6):
        assert same(locator, page(seed=seed))


def test_banner_inserted_above_the_article_still_reads_the_same() -> None:
    """The block is found again when a new element shifts the positions above it."""
    locator = locate(page(seed=1))
    assert same(locator, page(seed=2, banner=True))


def test_counter_inside_the_article_block_reads_the_same() -> None:
    """Volatile text inside the block is read through the built-in ignore rules."""
    locator = locate(page(seed=1, inside="<div class='stats'>1,234 views</div>"))
    assert same(locator, page(seed=2, inside="<div class='stats'>5,678 views</div>"))


@pytest.mark.parametrize(
    ("name", "changed"),
    [
        ("one-word-edit", page((*PARAGRAPHS[:2], PARAGRAPHS[2].replace("declined", "refused")))),
        ("paragraph-deleted", page(PARAGRAPHS[:2])),
        ("paragraph-added-beside", page(beside="<p>Update: the minister has been arrested.</p>")),
        ("headline-edit", page(title="Minister quits")),
        ("byline-swap", page(author="John Roe")),
        ("date-backdated", page(published="2026-11-20")),
    ],
)
def test_any_change_to_the_article_reads_differently(name: str, changed: str) -> None:
    """Every kind of edit makes the quick read differ, so the check extracts in full."""
    locator = locate(page(seed=1))
    assert not same(locator, changed), name


def test_article_text_in_fragments_too_short_to_place_is_read_at_the_body() -> None:
    """An article whose text cannot be placed in a block is re-read at the page's body:
    every visible line is covered, so a change anywhere still reads differently."""
    html = page(seed=1)
    root = prepare_page(html)
    assert root is not None
    article = read(html)
    unplaced = Article(article.title, "", "", (*article.paragraphs, "Nowhere on this page."))
    locator = find_locator(root, unplaced, RULES, SALT)
    assert locator is not None
    assert [step[0] for step in locator.steps] == ["body"]
    # the furniture's clock is volatile even there; its related links are not
    same_links = page(seed=1).replace("Buy shoes", "Learn piano").replace("Cheap flights", "x")
    assert same(locator, same_links)
    assert not same(locator, page(seed=1).replace("Story 2", "Story Two"))
    assert not same(locator, page(PARAGRAPHS[:2], seed=1))


def test_a_missing_block_does_not_read_the_same() -> None:
    """A redesign that removes the block: no match, so full extraction decides."""
    locator = locate(page(seed=1))
    assert not same(locator, "<html><body><p>Something else entirely.</p></body></html>")


def test_other_reading_settings_do_not_read_the_same() -> None:
    """A locator holds only for the same watch settings (mode, exclude, ignore)."""
    html = page(seed=1)
    locator = locate(html)
    root = prepare_page(html)
    assert root is not None
    assert not reads_the_same(root, locator, RULES, "other settings")


def test_locator_round_trips_and_garbage_reads_as_none() -> None:
    locator = locate(page())
    assert Locator.loads(locator.dumps()) == locator
    for junk in (None, "", "{", "[]", '{"anchor": 1}', '{"anchor": "", "steps": [[1]]}'):
        assert Locator.loads(junk) is None


WORDS = st.text(alphabet="abcdefghij ", min_size=20, max_size=60).map(lambda s: " ".join(s.split()))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    paragraphs=st.lists(WORDS, min_size=2, max_size=4, unique=True),
    data=st.data(),
)
def test_any_one_character_change_to_the_article_reads_differently(
    paragraphs: list[str], data: st.DataObject
) -> None:
    """Whatever the article, changing one character of its text changes the reading."""
    assume(all(len(p) >= 20 for p in paragraphs))
    html = page(tuple(paragraphs))
    root = prepare_page(html)
    assert root is not None
    locator = find_locator(root, read(html), RULES, SALT)
    assert locator is not None  # every page with a body is placed, at worst at the body
    index = data.draw(st.integers(0, len(paragraphs) - 1))
    at = data.draw(st.integers(0, len(paragraphs[index]) - 1))
    new = "X" if paragraphs[index][at] != "X" else "Y"
    edited = list(paragraphs)
    edited[index] = paragraphs[index][:at] + new + paragraphs[index][at + 1 :]
    assert not same(locator, page(tuple(edited), seed=7))


def test_date_read_from_the_text_is_covered_wherever_it_stands() -> None:
    """dateline-shown-only on a page whose metadata states no date: the extractor takes the
    date from the text, and the quick re-read finds it the same way, so the page is placed
    and a date changed anywhere on it (here far from the article's block) reads
    differently."""

    def dated(day: str, seed: int) -> str:
        html = page(seed=seed).replace('<meta property="article:published_time"', '<meta name="x"')
        return html.replace("<footer>", f"<footer><p>Published {day}</p>")

    html = dated("2026-11-27", 1)
    root = prepare_page(html)
    assert root is not None
    article = read(html)
    assert article.published == "2026-11-27"
    locator = find_locator(root, article, RULES, SALT)
    assert locator is not None
    assert [step[0] for step in locator.steps] != ["body"]
    assert same(locator, dated("2026-11-27", 2))
    assert not same(locator, dated("2026-11-20", 2))


def test_date_stated_by_itemprop_outside_the_block_is_covered() -> None:
    """date-backdated in a <time itemprop="datePublished"> above the article: read again."""

    def dated(day: str, seed: int) -> str:
        html = page(seed=seed).replace('<meta property="article:published_time"', '<meta name="x"')
        stamp = f'<time itemprop="datePublished" datetime="{day}T08:00:00Z">{day}</time>'
        return html.replace("<header>", f"<header>{stamp}")

    locator = locate(dated("2026-11-27", 1))
    assert same(locator, dated("2026-11-27", 2))
    assert not same(locator, dated("2026-11-20", 2))
