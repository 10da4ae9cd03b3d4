"""Detection rules end to end through the pure stages: extract, normalise, classify.

Each fixture is named after the change it contains. Pages are small synthetic news pages
(tests/sites.py) with the noise real pages carry; no HTTP is involved.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.sites import CJK_STORY, Story, render
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
)
from watcher.judge.phrases import parse_phrases, shipped_phrases
from watcher.read.extract import Article, extract_article
from watcher.read.normalize import builtin_ignore, normalize_article

URL = "https://news.example.com/world/minister-resigns"


def classify(
    previous: Baseline | None, current: Observation, *, rules: DetectionRules | None = None
) -> Verdict:
    """classify_change with the shipped phrase list unless the test brings its own."""
    return classify_change(previous, current, rules=rules or shipped_phrases())


STORY = Story()


def read(html: str) -> Article:
    """What the pipeline compares: the extracted article with the built-in rules applied."""
    return normalize_article(extract_article(html, url=URL), builtin_ignore()).article


def check(
    before: str,
    after: str,
    *,
    status: int = 200,
    final_url: str = URL,
    not_found: str | None = None,
    rules: DetectionRules | None = None,
) -> Verdict:
    old = read(before)
    observation = Observation(
        url=URL,
        status=status,
        final_url=final_url,
        article=read(after) if status == 200 else None,
        not_found=read(not_found) if not_found is not None else None,
    )
    return classify_change(
        Baseline(State.OK, None, old, old), observation, rules=rules or shipped_phrases()
    )


def with_body(story: Story, *paragraphs: str, title: str | None = None) -> str:
    """The same site around a different article body (a notice, a not-found message)."""
    return render(replace(story, paragraphs=paragraphs, title=title or story.title), seed=9)


def with_lines(story: Story, index: int, *lines: str) -> Story:
    """``story`` with ``lines`` inserted as paragraphs before paragraph ``index``."""
    paragraphs = list(story.paragraphs)
    paragraphs[index:index] = lines
    return replace(story, paragraphs=tuple(paragraphs))


# -- edits: always an alert ------------------------------------------------------------------

EDITS = {
    "headline-edit": (STORY, replace(STORY, title="Minister quits over bridge contract")),
    "one-word-edit": (STORY, STORY.edit(4, "declined", "refused")),
    "number-edit": (STORY, STORY.edit(1, "14 officials", "41 officials")),
    "sentence-deleted": (
        STORY,
        replace(STORY, paragraphs=STORY.paragraphs[:2] + STORY.paragraphs[3:]),
    ),
    "byline-swap": (STORY, replace(STORY, byline="John Roe")),
    "date-backdated": (STORY, replace(STORY, published="2026-11-20")),
    "cjk-one-char": (CJK_STORY, CJK_STORY.edit(0, "十二人死亡", "十三人死亡")),
    "cjk-headline-one-char": (
        CJK_STORY,
        replace(CJK_STORY, title=CJK_STORY.title.replace("十二", "十一")),
    ),
    "notice-quoted-in-article": (
        STORY,
        STORY.edit(
            4,
            "The ministry declined",
            'A banner reading "This content has been removed" appeared. The ministry declined',
        ),
    ),
}


@pytest.mark.parametrize(("before", "after"), EDITS.values(), ids=EDITS.keys())
def test_edits_alert_as_changes(before: Story, after: Story) -> None:
    """A real edit, even with every kind of page noise around it, is a change."""
    verdict = check(render(before, seed=1), render(after, seed=2, comments=99))
    assert verdict.kind is Kind.CHANGED, verdict.summary


def test_headline_edit_names_the_headline() -> None:
    """headline-edit: only the headline part is reported."""
    before, after = EDITS["headline-edit"]
    verdict = check(render(before, seed=1), render(after, seed=2))
    assert verdict.parts == (Part.HEADLINE,)


# -- noise: never an alert -------------------------------------------------------------------

NOISE = {
    "ad-rotation-noise": (STORY, STORY, {"seed": 2}),
    "counter-noise": (STORY, STORY, {"seed": 1, "comments": 12345}),
    "updated-ago-noise": (
        with_lines(STORY, 0, "Updated 3 minutes ago"),
        with_lines(STORY, 0, "Updated 14 hours ago"),
        {"seed": 1},
    ),
    "views-counter-noise": (
        with_lines(STORY, 0, "1,204 views · 3 comments"),
        with_lines(STORY, 0, "9,871 views · 15 comments"),
        {"seed": 1},
    ),
    "cjk-read-count-noise": (
        with_lines(CJK_STORY, 0, "阅读 1.2万 · 评论(12)"),
        with_lines(CJK_STORY, 0, "阅读 3.4万 · 评论(57)"),
        {"seed": 1},
    ),
    "cjk-updated-noise": (
        with_lines(CJK_STORY, 0, "更新于 3分钟前"),
        with_lines(CJK_STORY, 0, "更新于 2小时前"),
        {"seed": 1},
    ),
}


@pytest.mark.parametrize(("before", "after", "noise"), NOISE.values(), ids=NOISE.keys())
def test_noise_never_alerts(before: Story, after: Story, noise: dict[str, int]) -> None:
    """Ads, clocks, counters and relative times changing is not a change of the article."""
    verdict = check(render(before, seed=0), render(after, **noise))
    assert verdict.kind is Kind.UNCHANGED, verdict.summary


def test_same_day_time_change_is_not_a_date_edit() -> None:
    """clock-noise: a date read with a time of day that moved within the day is not an edit."""
    old = Article("T", "", "2026-11-29T08:00:00", ("Body text of the article.",))
    new = Article("T", "", "2026-11-29T09:13:00", ("Body text of the article.",))
    verdict = classify(Baseline(State.OK, None, old, old), Observation(URL, 200, URL, new))
    assert verdict.kind is Kind.UNCHANGED


# -- removals --------------------------------------------------------------------------------

NOTICES_ZH = ("该内容已被删除", "根据相关法律法规和政策，该内容无法显示。", "此文章已被作者删除")


@pytest.mark.parametrize(
    ("story", "notice"),
    [
        (STORY, "This content has been removed."),
        (STORY, "This article is no longer available."),
        *((CJK_STORY, notice) for notice in NOTICES_ZH),
        (STORY, "This article has been withdrawn."),
        (STORY, "This content was removed by the publisher."),
        (replace(STORY, lang="tr"), "Bu haber yayından kaldırılmıştır."),
        (CJK_STORY, "该内容涉嫌违反相关法律法规，已被屏蔽。"),
        (CJK_STORY, "この記事は公開を終了しました。"),
    ],
    ids=[
        "removal-notice-en",
        "removal-notice-en-2",
        "removal-notice-zh",
        "removal-notice-zh-legal",
        "removal-notice-zh-author",
        "removal-notice-withdrawn",
        "removal-notice-was-removed",
        "removal-notice-tr",
        "removal-notice-zh-blocked",
        "removal-notice-ja-ended",
    ],
)
def test_removal_notice(story: Story, notice: str) -> None:
    """removal-notice: the body replaced by a notice while the page chrome remains."""
    verdict = check(render(story, seed=1), with_body(story, notice))
    assert (verdict.kind, verdict.removal) == (Kind.REMOVED, Removal.NOTICE), verdict.summary


@pytest.mark.parametrize(
    ("story", "title", "message"),
    [
        (STORY, "Page not found", "Sorry, the page you are looking for does not exist."),
        (CJK_STORY, "404 页面不存在", "抱歉，您访问的页面不存在。"),
        (replace(STORY, lang="de"), "Seite nicht gefunden", "Bitte versuchen Sie es erneut."),
        (STORY, "Error 404", "We couldn't find that page."),
        (replace(STORY, lang="ko"), "오류", "요청하신 페이지가 존재하지 않습니다."),
        (replace(STORY, lang="tr"), "Hata", "Aradığınız sayfa bulunamadı."),
    ],
    ids=["soft-404", "soft-404-zh", "soft-404-de", "soft-404-en-2", "soft-404-ko", "soft-404-tr"],
)
def test_soft_404(story: Story, title: str, message: str) -> None:
    """soft-404: a 200 answer that is the site's "not found" page."""
    verdict = check(render(story, seed=1), with_body(story, message, title=title))
    assert (verdict.kind, verdict.removal) == (Kind.REMOVED, Removal.SOFT_404), verdict.summary


def test_soft_404_by_the_hosts_own_not_found_page() -> None:
    """soft-404-probe: no phrase matches, but the page is what the host serves for any bad URL."""
    odd = with_body(STORY, "Oops. Try the search box.", title="Oops")
    verdict = check(
        render(STORY, seed=1),
        odd,
        not_found=with_body(STORY, "Oops. Try the search box.", title="Oops"),
    )
    assert (verdict.kind, verdict.removal) == (Kind.REMOVED, Removal.SOFT_404)
    without = check(render(STORY, seed=1), odd)
    assert without.removal is not Removal.SOFT_404


def test_emptied() -> None:
    """emptied: the article text vanished while the page still loads."""
    verdict = check(render(STORY, seed=1), with_body(STORY))
    assert (verdict.kind, verdict.removal) == (Kind.REMOVED, Removal.EMPTIED), verdict.summary


_LOGIN = ("登录超时，稍后再试", "免注册 快速登录", "消息", "通知")
_DISCLAIMER = (
    "【免责声明】本文仅代表作者本人观点，与本网站无关。本网站对文中陈述、观点判断保持中立，"
    "不对所包含内容的准确性、可靠性或完整性提供任何明示或暗示的保证。请读者仅作参考。"
)
_STORY_ZH = (
    "据报道，今日从交通运输部新闻发布会获悉，目前京津冀交通一体化建设各项工作取得积极成效，"
    "下一步将着力打造三地立体交通网络，实现区域内快速铁路覆盖所有地级及以上城市。"
)


@pytest.mark.parametrize(
    "legal",
    [_DISCLAIMER, "Copyright © 2026 Example Media. All rights reserved. " * 4],
    ids=["disclaimer-zh", "copyright-en"],
)
def test_emptied_leaving_the_sites_legal_lines(legal: str) -> None:
    """emptied: the story gone, only a login widget and the site's disclaimer (read with
    the article, and as long as the story was) are left; the legal line is no story."""
    old = Article("交通运输部：打造京津冀立体交通网络", "", "", (*_LOGIN, _STORY_ZH, legal))
    new = replace(old, paragraphs=(*_LOGIN, legal))
    verdict = classify(Baseline(State.OK, None, old, old), Observation(URL, 200, URL, new))
    assert (verdict.kind, verdict.removal) == (Kind.REMOVED, Removal.EMPTIED), verdict.summary


def test_a_story_cut_short_beside_a_disclaimer_is_an_edit() -> None:
    """Half the story deleted beside the same disclaimer is an edit of the story."""
    halves = tuple(_STORY_ZH.split("，下一步"))
    old = Article("交通运输部：打造京津冀立体交通网络", "", "", (*halves, _DISCLAIMER))
    new = replace(old, paragraphs=(halves[0], _DISCLAIMER))
    verdict = classify(Baseline(State.OK, None, old, old), Observation(URL, 200, URL, new))
    assert verdict.kind is Kind.CHANGED, verdict.summary


def test_redirect_home() -> None:
    """redirect-home: the article now lands on the home page."""
    verdict = check(render(STORY, seed=1), render(STORY), final_url="https://news.example.com/")
    assert (verdict.kind, verdict.removal) == (Kind.REMOVED, Removal.REDIRECTED)


@pytest.mark.parametrize("status", [500, 502, 503, 429, 403])
def test_errors_are_never_removals(status: int) -> None:
    """server-error: an error answer is an error, whatever the page says."""
    verdict = check(render(STORY, seed=1), with_body(STORY, "Page not found"), status=status)
    assert verdict.kind is Kind.ERROR


def test_restored_after_a_notice() -> None:
    """restored: a page that showed a removal notice and shows the article again."""
    good = read(render(STORY, seed=1))
    notice = read(with_body(STORY, "This content has been removed."))
    removed = Baseline(State.REMOVED, Removal.NOTICE, notice, good)
    still = classify(
        removed,
        Observation(URL, 200, URL, read(with_body(STORY, "This content has been removed."))),
    )
    assert (still.kind, still.state) == (Kind.UNCHANGED, State.REMOVED)
    back = classify(removed, Observation(URL, 200, URL, read(render(STORY, seed=5))))
    assert back.kind is Kind.RESTORED


def test_custom_rules_are_used() -> None:
    """A site-specific phrase passed in as rules marks its notice page."""
    page = with_body(STORY, "Artikel ditarik oleh redaksi.")
    assert check(render(STORY, seed=1), page).removal is not Removal.NOTICE
    rules = DetectionRules(("ditarik oleh redaksi",), ())
    assert check(render(STORY, seed=1), page, rules=rules).removal is Removal.NOTICE


# -- properties ------------------------------------------------------------------------------

BASE = render(STORY, seed=0)
BASE_ARTICLE = read(BASE)
CJK_BASE = render(CJK_STORY, seed=0)
CJK_BASE_ARTICLE = read(CJK_BASE)
FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(seed=st.integers(1, 10**6), comments=st.integers(0, 10**5), cjk=st.booleans())
def test_noise_in_boilerplate_never_alerts(seed: int, comments: int, cjk: bool) -> None:
    """Nonces, ads, clocks, related links and counters outside the article never alert."""
    story, base = (CJK_STORY, CJK_BASE_ARTICLE) if cjk else (STORY, BASE_ARTICLE)
    new = read(render(story, seed=seed, comments=comments))
    verdict = classify(Baseline(State.OK, None, base, base), Observation(URL, 200, URL, new))
    assert verdict.kind is Kind.UNCHANGED, verdict.summary


@FAST
@given(data=st.data(), cjk=st.booleans())
def test_any_one_char_article_change_alerts(data: st.DataObject, cjk: bool) -> None:
    """Any one-character change of the article text, in any paragraph, is a change."""
    story, base = (CJK_STORY, CJK_BASE_ARTICLE) if cjk else (STORY, BASE_ARTICLE)
    index = data.draw(st.integers(0, len(story.paragraphs) - 1))
    text = story.paragraphs[index]
    position = data.draw(st.integers(0, len(text) - 1))
    pool = "的是国人十三" if cjk else "xqzXQ7"
    replacement = data.draw(st.sampled_from(pool).filter(lambda c: c != text[position]))
    paragraphs = list(story.paragraphs)
    paragraphs[index] = text[:position] + replacement + text[position + 1 :]
    edited = read(
        render(replace(story, paragraphs=tuple(paragraphs)), seed=data.draw(st.integers(1, 99)))
    )
    verdict = classify(Baseline(State.OK, None, base, base), Observation(URL, 200, URL, edited))
    assert verdict.kind is Kind.CHANGED, verdict.summary


# -- the phrase list -------------------------------------------------------------------------


def test_shipped_list_has_both_sections() -> None:
    """The one phrase list, shipped as package data, has notices and not-found phrases."""
    shipped = shipped_phrases()
    assert "this content has been removed" in shipped.notice_phrases
    assert "页面不存在" in shipped.not_found_phrases


def test_parse_phrases() -> None:
    """Sections, comments, blank lines and duplicate phrases are handled."""
    rules = parse_phrases("# c\n[notice]\nGone  away\n\ngone away\n[not_found]\n404\n")
    assert rules == DetectionRules(("Gone away",), ("404",))


@pytest.mark.parametrize(
    ("text", "message"),
    [("orphan\n", "before any [section]"), ("[notices]\nx\n", "unknown section [notices]")],
)
def test_parse_phrases_rejects_mistakes(text: str, message: str) -> None:
    """A phrase that would be silently ignored is an error naming the line."""
    with pytest.raises(ValueError, match=r"list\.txt:1: ") as info:
        parse_phrases(text, source="list.txt")
    assert message in str(info.value)


def test_notice_dropped_by_the_extractor_is_found_in_the_page_lines() -> None:
    """removal-notice-boilerplate: the extractor kept only furniture; the page text has it."""
    old = read(render(STORY, seed=1))
    furniture = Article(STORY.title, "", "", ("Home", "World", "Sport", "Related", "Contact"))
    lines = ("Home", "World", "This article is no longer available.", "Contact")
    baseline = Baseline(State.OK, None, old, old)
    bare = classify(baseline, Observation(URL, 200, URL, furniture))
    assert bare.removal is Removal.EMPTIED
    told = classify(baseline, Observation(URL, 200, URL, furniture, page_lines=lines))
    assert told.removal is Removal.NOTICE


SIDEBAR = (
    '<aside class="latest"><ul><li><a href="/n/1">Storm closes airport</a> '
    '<time datetime="{when}">2 hours ago</time></li></ul></aside>'
)


@pytest.mark.parametrize("when", ["2026-11-20T08:00", "2026-11-24T23:10", "2025-01-02T10:00"])
def test_sidebar_time_is_not_the_articles_date(when: str) -> None:
    """date-from-sidebar-noise: a page without date metadata gets no date from a teaser."""
    html = render(STORY, seed=1).replace('<meta property="article:published_time"', "<meta x")
    html = html.replace(f'<time datetime="{STORY.published}">{STORY.published}</time>', "")
    noisy = html.replace("</main>", SIDEBAR.format(when=when) + "</main>")
    assert read(noisy).published == read(html).published
    assert not read(noisy).published.startswith(when[:10])
    assert check(html, noisy).kind is Kind.UNCHANGED


def test_metadata_date_is_kept_beside_a_sidebar() -> None:
    """The article's metadata date wins over any teaser's, so a backdating is still seen."""
    html = render(STORY, seed=1).replace("</main>", SIDEBAR.format(when="2026-11-20") + "</main>")
    assert read(html).published == STORY.published


def test_user_phrase_file_extends_the_shipped_list(tmp_path: Path) -> None:
    """settings.removal_phrases adds a user's phrases to the shipped ones; a bad file is named."""
    from watcher.errors import ConfigError
    from watcher.judge.phrases import detection_rules, shipped_phrases

    extra = tmp_path / "phrases.txt"
    extra.write_text("[notice]\nthis story was withdrawn by the desk\n", encoding="utf-8")
    rules = detection_rules(str(extra))
    assert "this story was withdrawn by the desk" in rules.notice_phrases
    assert set(shipped_phrases().notice_phrases) <= set(rules.notice_phrases)
    extra.write_text("orphan phrase\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="before any"):
        detection_rules(str(extra))
    with pytest.raises(ConfigError, match="cannot read"):
        detection_rules(str(tmp_path / "missing.txt"))
