"""Classification rules, one fixture per kind of event, plus properties over article text."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

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
    is_redirected_away,
    resemblance,
    surviving_share,
)
from watcher.judge.phrases import shipped_phrases
from watcher.read.extract import Article

URL = "https://news.example.com/world/2026/11/29/minister-resigns"


def classify(
    previous: Baseline | None, current: Observation, *, rules: DetectionRules | None = None
) -> Verdict:
    """classify_change with the shipped phrase list unless the test brings its own."""
    return classify_change(previous, current, rules=rules or shipped_phrases())


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
    verdict = classify(None, seen(ARTICLE))
    assert verdict.kind is Kind.NEW
    assert verdict.is_event
    assert "Minister resigns" in verdict.summary


def test_identical_is_unchanged() -> None:
    """The same article is unchanged and stores nothing."""
    verdict = classify(ok(ARTICLE), seen(ARTICLE))
    assert verdict.kind is Kind.UNCHANGED
    assert not verdict.is_event


def test_one_word_edit() -> None:
    """One changed word in the body is a body change of one word each way."""
    edited = with_paragraph(ARTICLE, 2, "The ministry refused to comment on the report.")
    verdict = classify(ok(ARTICLE), seen(edited))
    assert verdict.kind is Kind.CHANGED
    assert verdict.parts == (Part.BODY,)
    assert (verdict.words_added, verdict.words_removed) == (1, 1)


def test_number_edit() -> None:
    """A changed figure is caught."""
    edited = with_paragraph(ARTICLE, 1, ARTICLE.paragraphs[1].replace("14", "4"))
    verdict = classify(ok(ARTICLE), seen(edited))
    assert verdict.kind is Kind.CHANGED
    assert verdict.parts == (Part.BODY,)


def test_headline_edit() -> None:
    """A headline-only edit is flagged as a headline change, body untouched."""
    edited = Article("Minister steps down", ARTICLE.byline, ARTICLE.published, ARTICLE.paragraphs)
    verdict = classify(ok(ARTICLE), seen(edited))
    assert verdict.kind is Kind.CHANGED
    assert verdict.parts == (Part.HEADLINE,)
    assert "headline changed" in verdict.summary
    assert verdict.headline_edits


def test_byline_swap_and_date_change() -> None:
    """Byline and date changes are named as such."""
    edited = Article("" + ARTICLE.title, "By John Roe", "2026-11-30", ARTICLE.paragraphs)
    verdict = classify(ok(ARTICLE), seen(edited))
    assert verdict.parts == (Part.BYLINE, Part.DATE)


def test_cjk_one_char() -> None:
    """One changed Han character (十二 -> 十三) is a change of one character each way."""
    edited = with_paragraph(CJK_ARTICLE, 0, CJK_ARTICLE.paragraphs[0].replace("十二人", "十三人"))
    verdict = classify(ok(CJK_ARTICLE), seen(edited))
    assert verdict.kind is Kind.CHANGED
    assert (verdict.words_added, verdict.words_removed) == (1, 1)


@pytest.mark.parametrize(
    ("status", "removal"), [(404, Removal.GONE), (410, Removal.GONE), (451, Removal.LEGAL)]
)
def test_gone_and_legal(status: int, removal: Removal) -> None:
    """404/410 are gone, 451 is a legal removal."""
    verdict = classify(ok(ARTICLE), seen(None, status))
    assert verdict.kind is Kind.REMOVED
    assert verdict.removal is removal
    assert verdict.state is State.REMOVED
    assert str(status) in verdict.summary


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429, 403, 401])
def test_server_errors_are_never_removals(status: int) -> None:
    """5xx, 429 and auth errors are errors: a flaky server must not raise a removal."""
    verdict = classify(ok(ARTICLE), seen(None, status))
    assert verdict.kind is Kind.ERROR
    assert not verdict.is_event


def test_no_response_is_an_error() -> None:
    """A failed fetch is an error carrying its reason."""
    observation = Observation(url=URL, status=None, error="connection refused")
    verdict = classify(ok(ARTICLE), observation)
    assert verdict.kind is Kind.ERROR
    assert "connection refused" in verdict.summary


def test_redirect_home() -> None:
    """A redirect to the home page is a removal naming where it went."""
    verdict = classify(ok(ARTICLE), seen(ARTICLE, final_url="https://news.example.com/"))
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
    verdict = classify(ok(long_article), seen(empty))
    assert verdict.kind is Kind.REMOVED
    assert verdict.removal is Removal.EMPTIED


def test_still_removed_is_unchanged() -> None:
    """A page that stays 404 raises one removal, not one per check."""
    removed = Baseline(State.REMOVED, Removal.GONE, Article("", "", "", ()), ARTICLE)
    verdict = classify(removed, seen(None, 404))
    assert verdict.kind is Kind.UNCHANGED
    assert verdict.state is State.REMOVED


@pytest.mark.parametrize(
    ("before", "status", "now"),
    [
        (Removal.EMPTIED, 404, Removal.GONE),
        (Removal.NOTICE, 410, Removal.GONE),
        (Removal.SOFT_404, 451, Removal.LEGAL),
        (Removal.GONE, 451, Removal.LEGAL),
    ],
)
def test_a_removal_the_server_now_states_is_its_own_event(
    before: Removal, status: int, now: Removal
) -> None:
    """An emptied page that now answers 404, or a 404 that turns into 451: the server
    says it now, and a 451 says why; each is reported once, with what it was before."""
    removed = Baseline(State.REMOVED, before, Article("", "", "", ()), ARTICLE)
    verdict = classify(removed, seen(None, status))
    assert (verdict.kind, verdict.removal) == (Kind.REMOVED, now)
    assert "before" in verdict.summary
    again = Baseline(State.REMOVED, now, Article("", "", "", ()), ARTICLE)
    assert classify(again, seen(None, status)).kind is Kind.UNCHANGED


def test_a_headline_rewritten_on_a_page_that_stays_emptied_is_a_change() -> None:
    """An emptied page that still shows the article's headline: the headline rewritten is
    reported and the page stays removed, and so is its date line rewritten; the same page
    is not."""
    shell = page(*NAV)
    emptied = Baseline(State.REMOVED, Removal.EMPTIED, shell, ARTICLE)
    assert classify(emptied, seen(page(*NAV))).kind is Kind.UNCHANGED
    retitled = classify(emptied, seen(page(*NAV, title="Minister cleared over contract")))
    assert (retitled.kind, retitled.state, retitled.removal) == (
        Kind.CHANGED,
        State.REMOVED,
        Removal.EMPTIED,
    )
    assert retitled.parts == (Part.HEADLINE,)
    assert retitled.summary.endswith("(the page is still emptied)")
    dated = replace(shell, datelines=("November 30, 2026",))
    moved = replace(shell, datelines=("December 1, 2026",))
    redated = classify(replace(emptied, article=dated), seen(moved))
    assert (redated.kind, redated.state, redated.parts) == (
        Kind.CHANGED,
        State.REMOVED,
        (Part.DATE,),
    )
    assert classify(replace(emptied, article=dated), seen(dated)).kind is Kind.UNCHANGED
    gone = Baseline(State.REMOVED, Removal.GONE, shell, ARTICLE)  # a 404's title is its own
    assert classify(gone, seen(page(*NAV, title="Page not found"), 404)).kind is Kind.UNCHANGED


def test_a_removal_moving_between_kinds_of_the_same_source_stays_one() -> None:
    """404 then 410, or an empty page then a notice: still the one removal."""
    gone = Baseline(State.REMOVED, Removal.GONE, Article("", "", "", ()), ARTICLE)
    assert classify(gone, seen(None, 410)).kind is Kind.UNCHANGED
    notice = page(*NAV, "This content has been removed.")
    emptied = Baseline(State.REMOVED, Removal.EMPTIED, Article("", "", "", ()), ARTICLE)
    verdict = classify(emptied, seen(notice))
    assert (verdict.kind, verdict.removal) == (Kind.UNCHANGED, Removal.EMPTIED)


def test_an_emptied_page_that_reads_as_it_did_when_emptied_stays_removed() -> None:
    """What was left when the article was emptied (a teaser list the old reading held
    too) may amount to a fair share of the old text; read exactly so again, nothing
    came back: still removed, not restored."""
    teasers = (
        "Most read: Storm closes the airport for a second day. Football club sold to a "
        "group of investors. Lottery winner found after six months."
    )
    old = replace(ARTICLE, paragraphs=(*ARTICLE.paragraphs, teasers))
    left = replace(ARTICLE, paragraphs=(teasers,))
    assert surviving_share(old.text, left.text) > 0.25  # more than the emptied rule allows
    emptied = Baseline(State.REMOVED, Removal.EMPTIED, left, old)
    verdict = classify(emptied, seen(left))
    assert (verdict.kind, verdict.state) == (Kind.UNCHANGED, State.REMOVED)
    assert verdict.removal is Removal.EMPTIED
    assert classify(emptied, seen(old)).kind is Kind.RESTORED


def test_restored_diffs_against_last_good_version() -> None:
    """A removed page that comes back is restored, with a diff against its last good text."""
    removed = Baseline(State.REMOVED, Removal.GONE, Article("", "", "", ()), ARTICLE)
    same = classify(removed, seen(ARTICLE))
    assert same.kind is Kind.RESTORED
    assert same.parts == ()
    edited = with_paragraph(ARTICLE, 2, "The ministry refused to comment on the report.")
    changed = classify(removed, seen(edited))
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
    verdict = classify(ok(base), seen(edited))
    assert verdict.kind is Kind.CHANGED
    assert Part.BODY in verdict.parts


@given(paragraphs=st.lists(body_text, min_size=1, max_size=4))
def test_same_text_is_always_unchanged(paragraphs: list[str]) -> None:
    """Identical articles are always unchanged."""
    base = Article("Headline", "by", "2026", tuple(paragraphs))
    copy = Article("Headline", "by", "2026", tuple(paragraphs[:]))
    assert classify(ok(base), seen(copy)).kind is Kind.UNCHANGED


# -- removals on a 200 page: notice, soft-404, emptied ----------------------------------------

NAV = ("Home", "World", "Business", "Sport", "Contact us", "© 2026 Example News")


def page(*paragraphs: str, title: str = ARTICLE.title, page_title: str = "") -> Article:
    return Article(title, "", "", paragraphs, page_title=page_title)


@given(headline=body_text, data=st.data())
def test_any_one_char_change_of_an_emptied_pages_headline_is_reported(
    headline: str, data: st.DataObject
) -> None:
    """A page that stays emptied while it still shows the headline: any one character of
    that headline changed (CJK included) is a change and the page stays removed; the
    same page again is not."""
    shell = page(*NAV, title=headline)
    emptied = Baseline(State.REMOVED, Removal.EMPTIED, shell, ARTICLE)
    position = data.draw(st.integers(0, len(headline) - 1))
    replacement = data.draw(
        st.sampled_from(list("xyz三四五!7")).filter(lambda c: c != headline[position])
    )
    edited = headline[:position] + replacement + headline[position + 1 :]
    verdict = classify(emptied, seen(page(*NAV, title=edited)))
    assert (verdict.kind, verdict.state) == (Kind.CHANGED, State.REMOVED)
    assert classify(emptied, seen(page(*NAV, title=headline))).kind is Kind.UNCHANGED


def test_removal_notice() -> None:
    """removal-notice: the body replaced by a short notice is removed (notice)."""
    verdict = classify(ok(ARTICLE), seen(page(*NAV, "This content has been removed.")))
    assert (verdict.kind, verdict.removal) == (Kind.REMOVED, Removal.NOTICE)
    assert "This content has been removed." in verdict.summary


def test_removal_notice_zh() -> None:
    """removal-notice-zh: 根据相关法律法规和政策，该内容无法显示。"""
    notice = page(
        "首页", "新闻", "根据相关法律法规和政策，该内容无法显示。", title=CJK_ARTICLE.title
    )
    verdict = classify(ok(CJK_ARTICLE), seen(notice))
    assert verdict.removal is Removal.NOTICE


def test_quoted_notice_in_a_kept_article_is_an_edit() -> None:
    """An article that quotes a removal notice but is otherwise intact is edited, not removed."""
    quoting = Article(
        ARTICLE.title, "", "", (*ARTICLE.paragraphs, "This content has been removed.")
    )
    verdict = classify(ok(ARTICLE), seen(quoting))
    assert verdict.kind is Kind.CHANGED


def test_soft_404_by_title() -> None:
    """soft-404: a 200 whose document title says the page was not found."""
    gone = page(*NAV, "Sorry.", title="Example News", page_title="Page Not Found | Example News")
    verdict = classify(ok(ARTICLE), seen(gone))
    assert (verdict.kind, verdict.removal) == (Kind.REMOVED, Removal.SOFT_404)


# What an extractor returns when it reads a short article's page furniture as the article.
FURNITURE = tuple(f"{section} news and analysis" for section in ("World", "Business", "Sport"))
FURNITURE += tuple(f"Teaser number {n} about the markets today" for n in range(8))


def test_soft_404_furniture_baseline() -> None:
    """soft-404-furniture-baseline: most of the old "article" was furniture that survives,
    but the headline now says the page was not found."""
    old = Article("Minister resigns", "", "", (*FURNITURE, "The minister resigned."))
    gone = Article("404 页面不存在", "", "", (*FURNITURE, "抱歉，您访问的页面不存在。"))
    verdict = classify(ok(old), seen(gone))
    assert (verdict.kind, verdict.removal) == (Kind.REMOVED, Removal.SOFT_404)


def test_notice_headline_furniture_baseline() -> None:
    """notice-headline-furniture-baseline: the headline itself became the removal notice."""
    old = Article("Minister resigns", "", "", (*FURNITURE, "The minister resigned."))
    gone = Article("This content has been removed", "", "", FURNITURE)
    verdict = classify(ok(old), seen(gone))
    assert (verdict.kind, verdict.removal) == (Kind.REMOVED, Removal.NOTICE)


def test_headline_edited_to_mention_404_is_an_edit() -> None:
    """headline-mentions-404: the body is intact, so a "404" in the new headline is news."""
    title = "Ministry website shows 404 after resignation"
    edited = replace(ARTICLE, title=title)
    verdict = classify(ok(ARTICLE), seen(edited))
    assert verdict.kind is Kind.CHANGED
    assert verdict.parts == (Part.HEADLINE,)
    reworded = with_paragraph(edited, 2, "The ministry refused to comment on the report.")
    verdict = classify(ok(ARTICLE), seen(replace(reworded, title=title)))
    assert verdict.kind is Kind.CHANGED
    assert set(verdict.parts) == {Part.HEADLINE, Part.BODY}


def test_soft_404_compared_with_the_hosts_not_found_page() -> None:
    """The host's own answer for a random URL, read the same way, identifies its soft-404s."""
    odd = page(*NAV, "Oops, nothing here.", title="Example News")
    probe = page(*NAV, "Oops, nothing here.", title="Example News")
    observation = Observation(URL, 200, URL, odd, not_found=probe)
    assert classify(ok(ARTICLE), observation).removal is Removal.SOFT_404


def test_a_404_word_inside_a_number_is_not_a_phrase() -> None:
    """ "404" must stand as a word: a figure like 14045 does not make a not-found page."""
    rules = DetectionRules(notice_phrases=(), not_found_phrases=("404",))
    other = page("Officials counted 14045 ballots in the recount of the district.", *NAV)
    verdict = classify(ok(ARTICLE), seen(other), rules=rules)
    assert verdict.removal is not Removal.SOFT_404


def test_emptied_when_nothing_of_the_article_is_left() -> None:
    """emptied: the page still loads, extraction finds only page furniture."""
    verdict = classify(ok(ARTICLE), seen(page(*NAV)))
    assert (verdict.kind, verdict.removal) == (Kind.REMOVED, Removal.EMPTIED)


def test_short_previous_pages_are_never_content_removals() -> None:
    """A page that never had a real article (under 20 words) cannot be emptied or noticed."""
    short = page("Live scores.")
    verdict = classify(ok(short), seen(page("This content has been removed.")))
    assert verdict.kind is Kind.CHANGED


def test_still_showing_a_notice_is_unchanged() -> None:
    """A page that keeps showing its notice raises one removal, not one per check."""
    notice = page(*NAV, "This content has been removed.")
    removed = Baseline(State.REMOVED, Removal.NOTICE, notice, ARTICLE)
    verdict = classify(removed, seen(notice))
    assert (verdict.kind, verdict.state) == (Kind.UNCHANGED, State.REMOVED)


def test_paragraph_resplit_is_not_an_edit() -> None:
    """The same words split into paragraphs differently (markup reflow) are unchanged."""
    joined = Article(
        ARTICLE.title, ARTICLE.byline, ARTICLE.published, (" ".join(ARTICLE.paragraphs),)
    )
    assert classify(ok(ARTICLE), seen(joined)).kind is Kind.UNCHANGED


@pytest.mark.parametrize(
    ("old", "new", "kind"),
    [
        ("2026-11-29", "2026-11-29T10:15:00", Kind.UNCHANGED),
        ("2026-11-29T08:00", "2026-11-29T23:59", Kind.UNCHANGED),
        ("2026-11-29", "", Kind.UNCHANGED),
        ("", "2026-11-29", Kind.UNCHANGED),
        ("2026-11-29", "2026-11-28", Kind.CHANGED),
    ],
)
def test_dates_compare_by_day_when_both_are_known(old: str, new: str, kind: Kind) -> None:
    """A time of day or an unreadable date is not a date edit; another day is."""
    before = Article(ARTICLE.title, ARTICLE.byline, old, ARTICLE.paragraphs)
    after = Article(ARTICLE.title, ARTICLE.byline, new, ARTICLE.paragraphs)
    assert classify(ok(before), seen(after)).kind is kind


def test_surviving_share_and_resemblance() -> None:
    """Word pairs measure how much of a text is left, and how alike two pages are."""
    assert surviving_share(ARTICLE.text, ARTICLE.text) == 1.0
    assert surviving_share(ARTICLE.text, "Home World Sport") == 0.0
    assert surviving_share("", "anything") == 1.0
    edited = ARTICLE.text.replace("declined", "refused")
    assert 0.9 < surviving_share(ARTICLE.text, edited) < 1.0
    assert resemblance(ARTICLE, ARTICLE) == 1.0
    assert resemblance(ARTICLE, page(*NAV)) < 0.2  # the shared headline only


@given(paragraphs=st.lists(body_text, min_size=1, max_size=4))
def test_surviving_share_is_a_share(paragraphs: list[str]) -> None:
    """The share is between 0 and 1, and 1 for the text itself."""
    text = "\n\n".join(paragraphs)
    assert surviving_share(text, text) == 1.0
    assert 0.0 <= surviving_share(text, text[: len(text) // 2]) <= 1.0


def test_not_found_in_a_sentence_of_a_rewrite_is_not_a_soft_404() -> None:
    """A "not found" inside a sentence (over 15 words) of a rewrite is prose, not a 404."""
    rewrite = page(
        "Investigators searched the riverbank all night with dogs and divers, but the weapon "
        "was not found by dawn.",
        "A second team of divers will join them on Monday morning, the police said.",
        *NAV,
    )
    verdict = classify(ok(ARTICLE), seen(rewrite))
    assert verdict.removal is not Removal.SOFT_404


def test_another_story_under_the_same_url_is_the_article_gone() -> None:
    """A URL reused for an unrelated story: the watched article is gone (emptied)."""
    rewrite = page(
        "Parliament approved the new budget on Tuesday after a long night of debate "
        "that ended with a narrow vote.",
        "Teachers and nurses will receive higher salaries from January next year, "
        "the finance office said.",
        "Critics said the plan does little for farmers.",
    )
    verdict = classify(ok(ARTICLE), seen(rewrite))
    assert (verdict.kind, verdict.removal) == (Kind.REMOVED, Removal.EMPTIED)
    assert "% of it is left" in verdict.summary


def test_joined_words_are_an_edit() -> None:
    """Removing the space between two words changes the text ("now here" -> "nowhere")."""
    before = page("The minister said help was now here for the families of the victims today.")
    after = page("The minister said help was nowhere for the families of the victims today.")
    assert classify(ok(before), seen(after)).kind is Kind.CHANGED


def test_headline_mentioning_not_found_over_a_rewritten_body_is_an_edit() -> None:
    """A developing story's new headline may say "not found": still an edit, not a removal."""
    old = Article("Hiker missing in the Alps", "", "", ARTICLE.paragraphs)
    new = Article(
        "Missing hiker not found after three days",
        "",
        "",
        ("Rescue teams searched the valley again on Sunday.", *ARTICLE.paragraphs[1:]),
    )
    verdict = classify(ok(old), seen(new))
    assert verdict.kind is Kind.CHANGED
    assert Part.HEADLINE in verdict.parts


LONG_ARTICLE = Article(
    title="Minister resigns over bridge contract",
    byline="By Jane Doe",
    published="2026-11-29",
    paragraphs=(
        *(
            f"Paragraph {n} of the report says the contract for section {n} of the bridge "
            f"was awarded without a tender and paid in {n + 3} instalments."
            for n in range(8)
        ),
        "Related: Ferry prices rise again · Port strike ends · Weather warning for Friday",
    ),
)


def test_emptied_when_only_what_the_reading_held_beside_the_story_is_left() -> None:
    """The story's block emptied, the teaser line the old reading took in with it left:
    about a fifth of the text survives and nothing came in its place, so the article is
    gone (emptied), not edited."""
    remnant = Article(
        LONG_ARTICLE.title, "", "", (LONG_ARTICLE.paragraphs[-1], LONG_ARTICLE.paragraphs[0])
    )
    kept = surviving_share(LONG_ARTICLE.text, remnant.text)
    assert 0.15 <= kept < 0.25
    verdict = classify(ok(LONG_ARTICLE), seen(remnant))
    assert (verdict.kind, verdict.removal) == (Kind.REMOVED, Removal.EMPTIED)
    # With a bullet the emptied list left behind, too.
    bulleted = replace(remnant, paragraphs=("-", *remnant.paragraphs))
    assert classify(ok(LONG_ARTICLE), seen(bulleted)).removal is Removal.EMPTIED


def test_a_story_cut_to_a_fifth_with_new_words_is_an_edit() -> None:
    """As much left, but with a sentence that was never there: a rewrite, reported as an
    edit with its words."""
    cut = Article(
        LONG_ARTICLE.title,
        "",
        "",
        (LONG_ARTICLE.paragraphs[-1], LONG_ARTICLE.paragraphs[0], "The minister denies it."),
    )
    verdict = classify(ok(LONG_ARTICLE), seen(cut))
    assert verdict.kind is Kind.CHANGED
    assert Part.BODY in verdict.parts


TWO_TAGS = replace(
    ARTICLE,
    stated=("published: 2026-11-29T09:00:00+00:00", "published: 2026-11-29T09:00:00+00:00"),
)


@pytest.mark.parametrize(
    ("stated", "kind"),
    [
        # one of two tags rewritten, the other left: a new time where an old one stood
        (
            ("published: 2026-11-29T10:00:00+00:00", "published: 2026-11-29T09:00:00+00:00"),
            Kind.CHANGED,
        ),
        # both rewritten
        (("published: 2026-11-29T10:00:00+00:00",) * 2, Kind.CHANGED),
        # a block of structured data that comes and goes adds a statement beside the others
        ((*TWO_TAGS.stated, "published: 2026-11-28T08:00:00+00:00"), Kind.UNCHANGED),
        # a template that stops repeating the date
        (TWO_TAGS.stated[:1], Kind.UNCHANGED),
        # white space inside a statement is layout
        (("published: 2026-11-29T09:00:00 +00:00", TWO_TAGS.stated[1]), Kind.UNCHANGED),
    ],
)
def test_a_stated_time_is_read_statement_by_statement(stated: tuple[str, ...], kind: Kind) -> None:
    """The metadata states a new time when a value replaces one it stated, even while
    another tag keeps the old value; a statement added or dropped beside the others is
    not a new time."""
    verdict = classify(ok(TWO_TAGS), seen(replace(TWO_TAGS, stated=stated)))
    assert verdict.kind is kind, verdict.summary
    if kind is Kind.CHANGED:
        assert "date changed (stated in metadata; shown on the page unchanged)" in verdict.summary


def test_a_date_shown_twice_with_one_copy_rewritten_is_a_new_date() -> None:
    """A page that shows its date under the headline and again at its foot: one copy
    rewritten is a new date, though the old date is still shown; a copy that only
    vanished is not."""
    twice = replace(ARTICLE, datelines=("23.05.2011", "23.05.2011"))
    verdict = classify(ok(twice), seen(replace(twice, datelines=("23.05.2011", "24.05.2011"))))
    assert (verdict.kind, verdict.parts) == (Kind.CHANGED, (Part.DATE,))
    once = replace(twice, datelines=("23.05.2011",))
    assert classify(ok(twice), seen(once)).kind is Kind.UNCHANGED
