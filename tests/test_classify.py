"""Classification rules, one fixture per kind of event, plus properties over article text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from watcher.classify import (
    Baseline,
    Kind,
    Observation,
    Part,
    Removal,
    State,
    classify_change,
    is_redirected_away,
)
from watcher.extract import Article

URL = "https://news.example.com/world/2026/11/29/minister-resigns"

ARTICLE = Article(
    title="Minister resigns over bridge contract",
    byline="By Jane Doe",
    published="2026-11-29",
    paragraphs=(
        "The transport minister resigned on Friday after documents showed the contract "
        "for the new bridge was awarded without a tender.",
        "Opposition leaders said 14 officials had been questioned by investigators.",
        "The ministry declined to comment on the report.",
    ),
)

CJK_ARTICLE = Article(
    title="化工厂爆炸事故致十二人死亡",
    byline="记者 王伟",
    published="2026-11-29",
    paragraphs=(
        "据当地应急管理部门通报，事故发生在周五凌晨，造成十二人死亡、三十人受伤。",
        "调查组已进驻现场，事故原因正在调查中。",
    ),
)


def ok(article: Article) -> Baseline:
    return Baseline(State.OK, None, article, article)


def seen(article: Article | None, status: int = 200, final_url: str = URL) -> Observation:
    return Observation(url=URL, status=status, final_url=final_url, article=article)


def with_paragraph(article: Article, index: int, text: str) -> Article:
    paragraphs = list(article.paragraphs)
    paragraphs[index] = text
    return Article(article.title, article.byline, article.published, tuple(paragraphs))


def test_first_observation_is_new() -> None:
    """With nothing stored, a readable page is a new baseline, not a change."""
    verdict = classify_change(None, seen(ARTICLE))
    assert verdict.kind is Kind.NEW
    assert verdict.is_event
    assert "Minister resigns" in verdict.summary


def test_identical_is_unchanged() -> None:
    """The same article is unchanged and stores nothing."""
    verdict = classify_change(ok(ARTICLE), seen(ARTICLE))
    assert verdict.kind is Kind.UNCHANGED
    assert not verdict.is_event


def test_one_word_edit() -> None:
    """One changed word in the body is a body change of one word each way."""
    edited = with_paragraph(ARTICLE, 2, "The ministry refused to comment on the report.")
    verdict = classify_change(ok(ARTICLE), seen(edited))
    assert verdict.kind is Kind.CHANGED
    assert verdict.parts == (Part.BODY,)
    assert (verdict.words_added, verdict.words_removed) == (1, 1)


def test_number_edit() -> None:
    """A changed figure is caught."""
    edited = with_paragraph(ARTICLE, 1, ARTICLE.paragraphs[1].replace("14", "4"))
    verdict = classify_change(ok(ARTICLE), seen(edited))
    assert verdict.kind is Kind.CHANGED
    assert verdict.parts == (Part.BODY,)


def test_headline_edit() -> None:
    """A headline-only edit is flagged as a headline change, body untouched."""
    edited = Article("Minister steps down", ARTICLE.byline, ARTICLE.published, ARTICLE.paragraphs)
    verdict = classify_change(ok(ARTICLE), seen(edited))
    assert verdict.kind is Kind.CHANGED
    assert verdict.parts == (Part.HEADLINE,)
    assert "headline changed" in verdict.summary
    assert verdict.headline_edits


def test_byline_swap_and_date_change() -> None:
    """Byline and date changes are named as such."""
    edited = Article("" + ARTICLE.title, "By John Roe", "2026-11-30", ARTICLE.paragraphs)
    verdict = classify_change(ok(ARTICLE), seen(edited))
    assert verdict.parts == (Part.BYLINE, Part.DATE)


def test_cjk_one_char() -> None:
    """One changed Han character (十二 -> 十三) is a change of one character each way."""
    edited = with_paragraph(CJK_ARTICLE, 0, CJK_ARTICLE.paragraphs[0].replace("十二人", "十三人"))
    verdict = classify_change(ok(CJK_ARTICLE), seen(edited))
    assert verdict.kind is Kind.CHANGED
    assert (verdict.words_added, verdict.words_removed) == (1, 1)


@pytest.mark.parametrize(
    ("status", "removal"), [(404, Removal.GONE), (410, Removal.GONE), (451, Removal.LEGAL)]
)
def test_gone_and_legal(status: int, removal: Removal) -> None:
    """404/410 are gone, 451 is a legal removal."""
    verdict = classify_change(ok(ARTICLE), seen(None, status))
    assert verdict.kind is Kind.REMOVED
    assert verdict.removal is removal
    assert verdict.state is State.REMOVED
    assert str(status) in verdict.summary


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429, 403, 401])
def test_server_errors_are_never_removals(status: int) -> None:
    """5xx, 429 and auth errors are errors: a flaky server must not raise a removal."""
    verdict = classify_change(ok(ARTICLE), seen(None, status))
    assert verdict.kind is Kind.ERROR
    assert not verdict.is_event


def test_no_response_is_an_error() -> None:
    """A failed fetch is an error carrying its reason."""
    observation = Observation(url=URL, status=None, error="connection refused")
    verdict = classify_change(ok(ARTICLE), observation)
    assert verdict.kind is Kind.ERROR
    assert "connection refused" in verdict.summary


def test_redirect_home() -> None:
    """A redirect to the home page is a removal naming where it went."""
    verdict = classify_change(ok(ARTICLE), seen(ARTICLE, final_url="https://news.example.com/"))
    assert verdict.kind is Kind.REMOVED
    assert verdict.removal is Removal.REDIRECTED
    assert "https://news.example.com/" in verdict.summary


@pytest.mark.parametrize(
    "final",
    [
        "https://news.example.com/",
        "https://www.news.example.com",
        "https://news.example.com/world/",
        "https://news.example.com/world/2026",
        "https://other-site.example.org/world/2026/11/29/minister-resigns",
        "https://news.example.com/errors/404.html",
    ],
)
def test_redirected_away(final: str) -> None:
    """Home page, section fronts, other sites and error pages are away."""
    assert is_redirected_away(URL, final)


@pytest.mark.parametrize(
    "final",
    [
        URL,
        URL + "/",
        URL.replace("https://", "http://"),
        URL.replace("news.example.com", "www.news.example.com"),
        URL.replace("news.example.com", "m.news.example.com"),
        URL + "?utm_source=feed",
        "https://news.example.com/world/2026/11/29/minister-resigns-after-report",
    ],
)
def test_same_article_redirects_are_not_removals(final: str) -> None:
    """HTTPS, www, mobile hosts, trailing slashes, tracking and new slugs stay the article."""
    assert not is_redirected_away(URL, final)


def test_country_code_second_level_domains() -> None:
    """bbc.co.uk and example.co.uk are different sites; news.bbc.co.uk is bbc.co.uk."""
    assert is_redirected_away("https://www.bbc.co.uk/news/1", "https://example.co.uk/news/1")
    assert not is_redirected_away("https://www.bbc.co.uk/news/1", "https://news.bbc.co.uk/news/1")


def test_emptied() -> None:
    """An article whose text vanished while the page still loads is removed (emptied)."""
    long_article = Article(ARTICLE.title, "", "", (" ".join(["word"] * 40),))
    empty = Article(ARTICLE.title, "", "", ())
    verdict = classify_change(ok(long_article), seen(empty))
    assert verdict.kind is Kind.REMOVED
    assert verdict.removal is Removal.EMPTIED


def test_still_removed_is_unchanged() -> None:
    """A page that stays 404 raises one removal, not one per check."""
    removed = Baseline(State.REMOVED, Removal.GONE, Article("", "", "", ()), ARTICLE)
    verdict = classify_change(removed, seen(None, 404))
    assert verdict.kind is Kind.UNCHANGED
    assert verdict.state is State.REMOVED


def test_restored_diffs_against_last_good_version() -> None:
    """A removed page that comes back is restored, with a diff against its last good text."""
    removed = Baseline(State.REMOVED, Removal.GONE, Article("", "", "", ()), ARTICLE)
    same = classify_change(removed, seen(ARTICLE))
    assert same.kind is Kind.RESTORED
    assert same.parts == ()
    edited = with_paragraph(ARTICLE, 2, "The ministry refused to comment on the report.")
    changed = classify_change(removed, seen(edited))
    assert changed.kind is Kind.RESTORED
    assert changed.parts == (Part.BODY,)
    assert "restored" in changed.summary


body_text = st.text(
    alphabet=st.sampled_from(list("abcdefghij 十二人死亡调查,.0123456789")), min_size=1, max_size=80
)


@given(paragraphs=st.lists(body_text, min_size=1, max_size=4), data=st.data())
def test_any_one_char_change_is_never_unchanged(paragraphs: list[str], data: st.DataObject) -> None:
    """Changing any single character of article text (CJK included) is never unchanged."""
    base = Article("Headline", "", "", tuple(paragraphs))
    index = data.draw(st.integers(0, len(paragraphs) - 1))
    text = paragraphs[index]
    position = data.draw(st.integers(0, len(text) - 1))
    replacement = data.draw(
        st.sampled_from(list("xyz三四五!7")).filter(lambda c: c != text[position])
    )
    edited = with_paragraph(base, index, text[:position] + replacement + text[position + 1 :])
    verdict = classify_change(ok(base), seen(edited))
    assert verdict.kind is Kind.CHANGED
    assert Part.BODY in verdict.parts


@given(paragraphs=st.lists(body_text, min_size=1, max_size=4))
def test_same_text_is_always_unchanged(paragraphs: list[str]) -> None:
    """Identical articles are always unchanged."""
    base = Article("Headline", "by", "2026", tuple(paragraphs))
    copy = Article("Headline", "by", "2026", tuple(paragraphs[:]))
    assert classify_change(ok(base), seen(copy)).kind is Kind.UNCHANGED
