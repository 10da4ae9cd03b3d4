"""Tests for watcher.read.normalize: canonical text that only ever loses invisible noise."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from watcher.read.extract import Article
from watcher.read.normalize import (
    _GUARDS,
    BUILTIN_IGNORE,
    Normalized,
    builtin_ignore,
    compile_ignore,
    normalize_article,
    normalize_text,
    settle_menus,
)
from watcher.read.volatile import RELATIVE_TIME


def article(*paragraphs: str, title: str = "T", byline: str = "", page_title: str = "") -> Article:
    return Article(
        title=title,
        byline=byline,
        published="2026-11-01",
        paragraphs=paragraphs,
        page_title=page_title,
    )


# --- normalize_text examples -------------------------------------------------------------


def test_composes_to_nfc() -> None:
    """A decomposed accent compares equal to the precomposed one."""
    assert normalize_text("Cafe\u0301") == "Café"


@pytest.mark.parametrize(
    "invisible",
    ["\u200b", "\u00ad", "\ufeff", "\u2060", "\u200e", "\u200f", "\u202a", "\u2066", "\x00"],
)
def test_drops_invisible_characters(invisible: str) -> None:
    """Zero-width spaces, soft hyphens, BOMs, word joiners, bidi marks and controls go."""
    assert normalize_text(f"pre{invisible}sident") == "president"


def test_invisible_removal_lets_marks_compose() -> None:
    """A zero-width space between a letter and its accent disappears before NFC."""
    assert normalize_text("e\u200b\u0301") == "é"


def test_keeps_zero_width_joiners() -> None:
    """ZWNJ and ZWJ change Persian spelling and emoji, so they are content."""
    persian = "می\u200cخواهم"
    family = "👨\u200d👩\u200d👧"
    assert normalize_text(persian) == persian
    assert normalize_text(family) == family


def test_maps_unicode_spaces_to_one_space() -> None:
    """NBSP, ideographic space, tabs and runs of spaces become a single ASCII space."""
    assert normalize_text("a\u00a0b\u3000c\t\td   e\u2009f") == "a b c d e f"


def test_strips_lines_and_collapses_blank_lines() -> None:
    """Only paragraph structure survives: stripped lines, at most one blank line between."""
    text = "\n\n  first line  \r\n\tsecond line\n\n\n\n third \n \n"
    assert normalize_text(text) == "first line\nsecond line\n\nthird"


def test_other_line_breaks_become_newlines() -> None:
    """U+2028, U+2029 and NEL are line breaks like any other."""
    assert normalize_text("a\u2028b\u2029c\x85d") == "a\nb\nc\nd"


def test_keeps_full_width_and_cjk_text() -> None:
    """No NFKC: full-width digits and CJK punctuation are what the page says."""
    text = "２０２６年１１月，北京「晴」。ｶﾀｶﾅ"
    assert normalize_text(text) == text


def test_empty_and_blank_text() -> None:
    """Whitespace-only text normalises to the empty string."""
    assert normalize_text("") == ""
    assert normalize_text(" \n\u3000\n\t") == ""


# --- normalize_text properties ------------------------------------------------------------

# Text without the characters normalize_text removes, plus every kind of line break.
visible_text = st.text(
    alphabet=st.one_of(
        st.characters(exclude_categories=("Cc", "Cf", "Cs")),
        st.sampled_from(["\n", "\r", "\t", "\x0b", "\x0c", "\x85", "\u200c", "\u200d"]),
    )
)
cjk_text = st.text(
    alphabet=st.one_of(
        st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),
        st.characters(min_codepoint=0x3040, max_codepoint=0x30FF),
        st.sampled_from(list("，。「」、１２ \u3000\n\u00a0")),
    )
)


@given(st.text())
def test_normalize_is_idempotent(text: str) -> None:
    """Normalising twice gives the same text as normalising once."""
    once = normalize_text(text)
    assert normalize_text(once) == once


@given(st.one_of(visible_text, cjk_text))
def test_only_whitespace_changes(text: str) -> None:
    """Apart from NFC, no visible character is dropped, changed or reordered."""
    composed = unicodedata.normalize("NFC", text)
    assert "".join(normalize_text(text).split()) == "".join(composed.split())


@given(st.one_of(visible_text, cjk_text))
def test_letters_digits_and_cjk_are_kept(text: str) -> None:
    """The multiset of letters, digits and CJK characters is unchanged."""
    composed = unicodedata.normalize("NFC", text)
    before = Counter(c for c in composed if c.isalnum())
    after = Counter(c for c in normalize_text(text) if c.isalnum())
    assert after == before


@given(st.text())
def test_output_has_canonical_shape(text: str) -> None:
    """No edge whitespace, no double spaces, no more than one blank line in a row."""
    out = normalize_text(text)
    assert out == out.strip()
    assert "  " not in out
    assert "\n\n\n" not in out
    assert all(line == line.strip() for line in out.split("\n"))


# --- normalize_article ---------------------------------------------------------------------


def test_normalizes_every_field_and_drops_empty_paragraphs() -> None:
    """Every field is normalised; paragraphs that were only whitespace disappear."""
    raw = Article(
        title=" Headline\u00a0here ",
        byline="By\u200b Jane",
        published=" 2026-11-01 ",
        paragraphs=("  First\tparagraph ", "\u200b \u3000", "Second"),
        page_title="Site\u00a0| Headline",
    )
    result = normalize_article(raw)
    assert result == Normalized(
        article=Article(
            title="Headline here",
            byline="By Jane",
            published="2026-11-01",
            paragraphs=("First paragraph", "Second"),
            page_title="Site | Headline",
        ),
        fired=(),
    )


def test_ignore_rules_remove_matches_and_report() -> None:
    """Matches are removed from title, byline and paragraphs, and the rule is reported."""
    rules = compile_ignore([r"Updated \d+ minutes ago", r"never-there"])
    raw = article(
        "Ministers met today. Updated 5 minutes ago",
        "Updated 12 minutes ago",
        title="Talks Updated 3 minutes ago  collapse",
        byline="Staff",
        page_title="Updated 1 minutes ago",
    )
    result = normalize_article(raw, rules)
    assert result.fired == (r"Updated \d+ minutes ago",)
    assert result.article.title == "Talks collapse"
    assert result.article.paragraphs == ("Ministers met today.",)
    assert result.article.page_title == "Updated 1 minutes ago"  # rules skip the <title>


def test_ignore_rules_see_normalized_text() -> None:
    """A rule written with plain spaces matches text that had NBSPs and zero-width spaces."""
    rules = compile_ignore([r"Advertisement \d"])
    result = normalize_article(article("Text. Advertise\u200bment\u00a07 More."), rules)
    assert result.article.paragraphs == ("Text. More.",)
    assert result.fired == (r"Advertisement \d",)


def test_fired_keeps_input_order_and_is_unique() -> None:
    """Fired patterns come back once each, in the order they were given."""
    rules = compile_ignore(["b+", "a+", "b+"])
    result = normalize_article(article("a b a b"), rules)
    assert result.fired == ("b+", "a+")
    assert result.article.paragraphs == ()


def test_compile_ignore_names_the_bad_pattern() -> None:
    """An invalid regex raises ValueError that names the pattern and the regex error."""
    with pytest.raises(ValueError, match=r"'\(unclosed'.*missing \)"):
        compile_ignore(["fine", "(unclosed"])


def test_compile_ignore_rejects_empty_matches() -> None:
    """A rule that can match nothing (``x*``) is rejected as a likely typo."""
    with pytest.raises(ValueError, match="matches the empty string"):
        compile_ignore(["Sponsored*", "x*"])


def test_compile_ignore_compiles() -> None:
    """Valid rules compile in order."""
    assert [p.pattern for p in compile_ignore([r"\d+ comments", "(?i)share"])] == [
        r"\d+ comments",
        "(?i)share",
    ]


words = st.lists(
    st.one_of(st.from_regex(r"[a-z]{1,6}", fullmatch=True), st.just("[ad]")), max_size=12
).map(" ".join)


@given(st.lists(words, max_size=5), words, words)
def test_ignore_rules_fire_as_reported(paragraphs: list[str], title: str, page_title: str) -> None:
    """A rule fires exactly when it matched, and leaves no match and no dangling space."""
    rules = compile_ignore([r"\[ad\]", r"\[never\]"])
    raw = article(*paragraphs, title=title, page_title=page_title)
    result = normalize_article(raw, rules)
    had_match = any("[ad]" in text for text in (*paragraphs, title))
    assert result.fired == ((r"\[ad\]",) if had_match else ())
    out = result.article
    assert not any("[ad]" in text for text in (*out.paragraphs, out.title))
    assert out.page_title == normalize_text(page_title)
    for text in (*out.paragraphs, out.title):
        assert normalize_text(text) == text
    assert all(out.paragraphs)


@given(st.lists(st.text(), max_size=4), st.text())
def test_normalize_article_is_idempotent(paragraphs: list[str], title: str) -> None:
    """Normalising an already normalised article changes nothing."""
    rules = compile_ignore([re.escape("ad")])
    once = normalize_article(article(*paragraphs, title=title), rules).article
    again = normalize_article(once).article
    assert again == once


# --- built-in volatile-text rules ---------------------------------------------------------

VOLATILE = [
    "Updated 14 hours ago",
    "Last updated: 3 minutes ago",
    "Posted an hour ago",
    "3 minutes ago",
    "just now",
    "更新于 3分钟前",
    "发布于 刚刚",
    "2小时前",
    "阅读 1.2万",
    "1.2万阅读",
    "评论(12)",
    "评论（1,024）",
    "阅读 5.1万 · 评论(12)",
    "1,234 views",
    "1,234 views · 56 comments",
    # two bars that the extractor glued into one line
    "15,175 views · 344 comments14,765 views · 891 comments",
    "Comments (12)",
    "14:32",
    "2:05 PM EST",
    # other languages: alone, after a label, or set off beside a name
    "vor 5 Minuten",
    "Aktualisiert vor 12 Min.",
    "Mis à jour il y a 3 heures",
    "hace 2 horas",
    "Atualizado há 4 dias",
    "Aggiornato 5 minuti fa",
    "Bijgewerkt 3 minuten geleden",
    "Обновлено 5 минут назад",
    "2 години тому",
    "Zaktualizowano 5 minut temu",
    "3 dakika önce",
    "更新：5分前",
    "3時間前",
    "5分鐘前",
    "5분 전",
    "منذ 5 دقائق",
    "5 دقیقه پیش",
    "לפני 5 דקות",
    "5 मिनट पहले",
    "πριν από 5 λεπτά",
    "5 menit yang lalu",
    "5 phút trước",
    "för 5 minuter sedan",
    "for 5 minutter siden",
    "5 minuuttia sitten",
    # counters in other languages: a bar of them, a line of them, labelled or counted
    "1.234 Aufrufe · 5 Kommentare",
    "12 345 vues · 7 commentaires",
    "1.234 visitas | 12 comentarios",
    "25503 visualizzazioni · 235 commenti",
    "13419 просмотров · 424 комментариев",
    "5 komentarzy",
    "閲覧数 1,234・コメント 12件",
    "조회수 12 | 댓글 3",
    "Kommentare (5)",
    "1.520 مشاهدة · 12 تعليق",
]
REAL = [
    "The blast lasted 3 minutes.",
    "He left the country 3 days ago, police said.",
    "The video had 1,234 views in its first hour.",
    "他阅读3本书。",
    "他在3天前被捕。",
    "共有21阅读室开放。",
    "The meeting ended at 14:32 on Tuesday.",
    "Updated figures show 14 hours of delays.",
    "12 comments were removed by moderators.",
    "调查组已于3小时内抵达现场。",
    "Der Minister trat vor 3 Tagen zurück, sagte die Polizei.",
    "Il est parti il y a 3 jours pour Paris.",
    "Министр ушел в отставку 3 дня назад, сообщила полиция.",
    "大臣は3日前に辞任したと警察が発表した。",
    "장관은 3일 전 사임했다고 경찰이 밝혔다.",
    "Der Minister sagte, 5 Kommentare seien eingegangen.",
    "Il y avait 12 commentaires sur ce sujet.",
    "Он получил 1000 просмотров за день.",
    "Ce matin, 1 234 vues · la ville",
]


@pytest.mark.parametrize("text", VOLATILE)
def test_builtin_rules_drop_volatile_lines(text: str) -> None:
    """A paragraph that is only a relative time, a counter or a clock is dropped."""
    assert normalize_article(article(text), builtin_ignore()).article.paragraphs == ()


@pytest.mark.parametrize("text", REAL)
def test_builtin_rules_keep_real_sentences(text: str) -> None:
    """Sentences that merely contain numbers, times or counter words stay whole."""
    assert normalize_article(article(text), builtin_ignore()).article.paragraphs == (text,)


def test_builtin_rules_are_not_applied_by_default() -> None:
    """Stored text keeps everything: the rules only apply when passed in."""
    assert normalize_article(article("Updated 3 minutes ago")).article.paragraphs == (
        "Updated 3 minutes ago",
    )


def test_builtin_rule_sources_compile_as_user_rules() -> None:
    """The sources carry their own flags, so they work as ``ignore`` strings of a watch."""
    assert [p.pattern for p in compile_ignore(BUILTIN_IGNORE)] == list(BUILTIN_IGNORE)
    assert builtin_ignore() == compile_ignore(BUILTIN_IGNORE)


def test_builtin_counter_after_a_clock_keeps_the_clock() -> None:
    """A clock run straight into a counter ("15:14:21阅读 5.1万") loses only the counter."""
    text = "最后更新: 2019-09-07 15:14:21阅读 5.1万 · 评论(12) 9月3日，在大会上"
    kept = normalize_article(article(text), builtin_ignore()).article.paragraphs
    assert kept == ("最后更新: 2019-09-07 15:14:21 9月3日，在大会上",)


@given(
    sentence=st.sampled_from(REAL),
    noise=st.sampled_from(VOLATILE),
    n=st.integers(0, 99999),
    where=st.sampled_from(["before", "after", "inline"]),
)
def test_noise_in_volatile_forms_is_removed(sentence: str, noise: str, n: int, where: str) -> None:
    """Volatile forms with any number, next to or apart from real text, leave only the text."""
    volatile = re.sub(r"\d+", str(n % 60 or 1), noise, count=1)
    paragraphs = {
        "before": (volatile, sentence),
        "after": (sentence, volatile),
        "inline": (f"{sentence} · {volatile}",) if "views" in volatile else (sentence, volatile),
    }[where]
    assert normalize_article(article(*paragraphs), builtin_ignore()).article.paragraphs == (
        sentence,
    )


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("Hans Müller | 5 Kommentare", "Hans Müller"),
        ("Par Marie Dupont · 1 234 vues · 7 commentaires", "Par Marie Dupont"),
        ("19. November 2019 · 1.234 Aufrufe", "19. November 2019"),
    ],
)
def test_a_counter_in_another_language_set_off_in_a_line_is_dropped_from_it(
    text: str, kept: str
) -> None:
    """A counter beside a byline or dateline, set off by a separator, goes; the rest stays."""
    assert normalize_article(article(text), builtin_ignore()).article.paragraphs == (kept,)


def test_updated_label_before_text_is_removed() -> None:
    """An "Updated 3 minutes ago · " label goes from the start of a dateline; the rest stays."""
    text = "Updated 3 minutes ago · By Jane Doe"
    assert normalize_article(article(text), builtin_ignore()).article.paragraphs == ("By Jane Doe",)


@given(
    template=st.sampled_from(
        [
            "The blast lasted {n} minutes.",
            "Police said {n} people were arrested {n} days ago.",
            "The clip drew {n} views before it was taken down.",
            "共有{n}人受伤，{n}小时内送医。",
            "他阅读了{n}本书。",
        ]
    ),
    n=st.integers(0, 10**6),
)
def test_real_sentences_with_numbers_survive(template: str, n: int) -> None:
    """Real sentences with numbers next to time and counter words are never touched."""
    text = template.format(n=n)
    assert normalize_article(article(text), builtin_ignore()).article.paragraphs == (text,)


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("Hans Müller · vor 5 Minuten", "Hans Müller"),
        ("Par Marie Dupont | il y a 3 heures | Politique", "Par Marie Dupont | Politique"),
        ("5분 전 · 김민수 기자", "김민수 기자"),
    ],
)
def test_a_relative_time_set_off_in_a_line_is_dropped_from_it(text: str, kept: str) -> None:
    """A relative time in any language beside a byline, set off by a separator, goes; the
    byline stays."""
    assert normalize_article(article(text), builtin_ignore()).article.paragraphs == (kept,)


@pytest.mark.parametrize("index", range(len(BUILTIN_IGNORE)))
@given(data=st.data())
def test_a_builtin_rule_is_never_skipped_where_it_matches(index: int, data: st.DataObject) -> None:
    """Each built-in rule is tried only where its guard finds something: whatever the rule
    matches, its guard finds in it, so a guard can save time and never change a text."""
    pattern = builtin_ignore()[index]
    guard = _GUARDS[pattern]
    text = data.draw(st.from_regex(pattern))
    match = pattern.search(text)
    if match is not None and match.group():
        assert guard.search(match.group()) is not None, (pattern.pattern, match.group())


volatile_bits = st.sampled_from(
    ["3 minutes ago", "just now", "刚刚", "2小时前", "阅读 1.2万", "评论(12)", "12 views", " · ",
     "14:32", "Updated 5 hours ago", "a", "go", "刚", "\n", "(1307人参与)", "56 comments"]
)  # fmt: skip


@given(st.lists(st.one_of(volatile_bits, st.text(max_size=8)), max_size=8).map("".join))
def test_guards_change_nothing(text: str) -> None:
    """The built-in rules give the same text and report the same rules with their guards
    as applied one by one to every paragraph."""
    rules = builtin_ignore()
    guarded = normalize_article(article(text), rules)
    unguarded, fired = normalize_text(text), []
    for pattern in rules:
        stripped = pattern.sub("", unguarded)
        if stripped != unguarded:
            fired.append(pattern.pattern)
            unguarded = stripped
    expected = normalize_text(unguarded)
    assert guarded.article.paragraphs == ((expected,) if expected else ())
    assert guarded.fired == tuple(fired)


menu_items = st.lists(
    st.text(alphabet="abcdefgh推荐娱乐财经", min_size=1, max_size=6).map(lambda t: f"- {t}"),
    min_size=3,
    max_size=8,
)
prose = st.sampled_from(
    ["The minister resigned on Friday after the report was published.", "他在周五辞职。"]
)


@given(prose, menu_items, st.randoms())
def test_a_menus_order_is_not_compared(intro: str, items: list[str], rng: object) -> None:
    """A run of three or more short list items reads the same in any order, and settling
    twice changes nothing more."""
    shuffled = list(items)
    rng.shuffle(shuffled)  # type: ignore[attr-defined]
    one = settle_menus((intro, *items, intro))
    assert one == settle_menus((intro, *shuffled, intro))
    assert settle_menus(one) == one
    assert sorted(one) == sorted((intro, *items, intro))  # nothing dropped or added


@given(prose, menu_items, st.integers(min_value=0))
def test_a_menu_item_renamed_or_gone_still_shows(intro: str, items: list[str], at: int) -> None:
    """Only the order is settled: an item reworded or removed still reads differently."""
    index = at % len(items)
    renamed = [*items[:index], items[index] + "x", *items[index + 1 :]]
    assert settle_menus((intro, *items)) != settle_menus((intro, *renamed))
    fewer = items[:index] + items[index + 1 :]
    assert settle_menus((intro, *items)) != settle_menus((intro, *fewer))


def test_only_menus_are_settled() -> None:
    """Two list items, long items and paragraphs keep their order; the stored text (no
    rules) keeps every order."""
    paragraphs = ("- b", "- a", "- One long list item that is a sentence", "- z", "- y", "Text.")
    assert settle_menus(paragraphs) == paragraphs
    menu = ("- World", "- Sport", "- Business")
    assert settle_menus(menu) == ("- Business", "- Sport", "- World")
    assert normalize_article(article(*menu)).article.paragraphs == menu
    assert normalize_article(article(*menu), builtin_ignore()).article.paragraphs == (
        "- Business",
        "- Sport",
        "- World",
    )


def test_a_relative_time_is_never_the_end_of_a_longer_word() -> None:
    """'há 5 dias' ends 'Olhá 5 dias' only in letters: no relative time there; Han, kana
    and hangul run on without spaces, so '更新5分前' holds one."""
    pattern = re.compile(RELATIVE_TIME, re.IGNORECASE)
    assert pattern.search("Olhá 5 dias") is None
    assert pattern.search("Sponsorvor 5 Minuten") is None
    found = pattern.search("更新5分前")
    assert found is not None
    assert found.group() == "5分前"
