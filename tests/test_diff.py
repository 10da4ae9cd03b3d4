"""Tests for watcher.read.diff: readable edits that always reproduce both texts exactly."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from watcher.read import diff
from watcher.read.diff import (
    Edit,
    Op,
    count_words,
    diff_texts,
    fewer_words_than,
    new_text,
    old_text,
    summarize_edits,
)

EQ, DEL, INS = Op.EQUAL, Op.DELETE, Op.INSERT


def ops(edits: tuple[Edit, ...]) -> list[tuple[str, str]]:
    return [(e.op.value, e.text) for e in edits]


def changes(edits: tuple[Edit, ...]) -> list[tuple[str, str]]:
    return [(e.op.value, e.text) for e in edits if e.op is not Op.EQUAL]


def assert_canonical(edits: tuple[Edit, ...]) -> None:
    """No empty edits; between equalities at most one delete, then at most one insert."""
    assert all(e.text for e in edits)
    run: list[Op] = []
    for edit in (*edits, Edit(EQ, "end")):
        if edit.op is EQ:
            assert run in ([], [DEL], [INS], [DEL, INS])
            run = []
        else:
            run.append(edit.op)
    assert not any(a.op is EQ and b.op is EQ for a, b in itertools.pairwise(edits))


# --- examples -------------------------------------------------------------------------------


def test_word_change_shows_words_not_letters() -> None:
    """Replacing one verb with two words shows exactly those words."""
    edits = diff_texts("the minister resigned", "the minister was dismissed")
    assert ops(edits) == [("=", "the minister "), ("-", "resigned"), ("+", "was dismissed")]


def test_one_word_in_a_long_article() -> None:
    """A one-word edit deep in many paragraphs is exactly that word."""
    paragraphs = [f"Paragraph {n} says the talks went well for everyone." for n in range(200)]
    edited = list(paragraphs)
    edited[120] = edited[120].replace("well", "badly")
    edits = diff_texts("\n\n".join(paragraphs), "\n\n".join(edited))
    assert changes(edits) == [("-", "well"), ("+", "badly")]


def test_one_chinese_character() -> None:
    """A one-character edit in Chinese shows that character, not the clause."""
    edits = diff_texts(
        "外交部发言人今天表示，谈判取得进展。", "外交部发言人昨天表示，谈判取得进展。"
    )
    assert ops(edits) == [
        ("=", "外交部发言人"),
        ("-", "今"),
        ("+", "昨"),
        ("=", "天表示，谈判取得进展。"),
    ]


def test_one_kana() -> None:
    """Japanese kana are one token each, like Han characters."""
    edits = diff_texts("首相はそれを認めた。", "首相はそれを認めない。")
    assert changes(edits) == [("-", "た"), ("+", "ない")]


def test_korean_words_stay_words() -> None:
    """Hangul is written with spaces, so a changed Korean word is shown whole."""
    edits = diff_texts("장관이 사임했다 오늘", "장관이 해임됐다 오늘")
    assert changes(edits) == [("-", "사임했다"), ("+", "해임됐다")]


def test_identical_texts() -> None:
    """Identical texts give one EQUAL edit, and two empty texts give none."""
    assert diff_texts("same\n\ntext", "same\n\ntext") == (Edit(EQ, "same\n\ntext"),)
    assert diff_texts("", "") == ()


def test_from_and_to_empty() -> None:
    """Everything inserted or everything deleted is one edit."""
    assert diff_texts("", "new text") == (Edit(INS, "new text"),)
    assert diff_texts("old text", "") == (Edit(DEL, "old text"),)


def test_added_paragraph_is_one_insert() -> None:
    """A paragraph added between others is a single insertion."""
    first = "The council met on Monday to discuss the budget for next year."
    last = "A vote is expected before the end of the month, officials said."
    added = "Several members objected to the proposed cuts to public libraries."
    edits = diff_texts(f"{first}\n\n{last}", f"{first}\n\n{added}\n\n{last}")
    assert changes(edits) == [("+", f"{added}\n\n")]


def test_rewrite_is_one_replacement() -> None:
    """A long region rewritten from scratch is one delete and one insert, not word soup."""
    rng = random.Random(7)
    vocabulary = [f"w{n}" for n in range(500)] + ["the", "of", "and", "a", "in"]
    old = " ".join(rng.choice(vocabulary) for _ in range(400))
    new = " ".join(rng.choice(vocabulary) for _ in range(400))
    edits = diff_texts(f"Intro.\n\n{old}\n\nOutro.", f"Intro.\n\n{new}\n\nOutro.")
    assert [e.op for e in edits] == [EQ, DEL, INS, EQ]
    assert (edits[1].text.strip(), edits[2].text.strip()) == (old, new)


def test_emoji_and_astral_characters() -> None:
    """Characters outside the BMP (emoji, rare Han) diff like any other character."""
    old, new = "Fans 🎉 celebrated 𠀋 tonight", "Fans 😢 celebrated 𠀋 tonight"
    edits = diff_texts(old, new)
    assert changes(edits) == [("-", "🎉"), ("+", "😢")]


def test_rejects_unbounded_timeout() -> None:
    """A zero or negative time limit would mean no limit, so it is refused."""
    with pytest.raises(ValueError, match="positive"):
        diff_texts("a", "b", timeout_seconds=0)


def test_too_many_distinct_tokens_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the encodable number of distinct tokens, the diff is still exact."""
    monkeypatch.setattr(diff, "_MAX_UNITS", 3)
    old, new = "alpha beta gamma delta", "alpha beta gamma epsilon"
    edits = diff_texts(old, new)
    assert (old_text(edits), new_text(edits)) == (old, new)
    assert_canonical(edits)


def test_repetitive_text_within_limit() -> None:
    """Highly repetitive text (quadratic for a naive half-match) still diffs exactly."""
    old, new = "a b " * 20_000, "b a " * 20_000
    edits = diff_texts(old, new, timeout_seconds=0.05)
    assert (old_text(edits), new_text(edits)) == (old, new)


def test_large_random_input_with_tiny_timeout() -> None:
    """When the time limit hits, the edits are coarser but still exact."""
    rng = random.Random(3)
    words = ["lorem", "ipsum", "dolor", "sit", "amet", "北", "京", ",", "\n\n"]
    old = " ".join(rng.choice(words) for _ in range(60_000))
    new = " ".join(rng.choice(words) for _ in range(60_000))
    edits = diff_texts(old, new, timeout_seconds=0.01)
    assert (old_text(edits), new_text(edits)) == (old, new)
    assert_canonical(edits)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("  ,.;!  \n\n", 0),
        ("The minister resigned.", 3),
        ("I don't know", 3),
        ("外交部发言人", 6),
        ("東京タワー", 5),
        ("장관이 사임했다", 2),
        ("हिन्दी भाषा", 2),
        ("2026年11月", 4),
        ("Café, naïve 😀", 2),
    ],
)
def test_count_words(text: str, expected: int) -> None:
    """Words count once, CJK characters once each, punctuation and spaces not at all."""
    assert count_words(text) == expected


@given(
    st.text(alphabet=st.sampled_from(list("ab 外交,.\n1é")), max_size=80),
    st.integers(min_value=0, max_value=30),
)
def test_fewer_words_than_agrees_with_count_words(text: str, limit: int) -> None:
    """The early-stopping test answers exactly what counting every word would."""
    assert fewer_words_than(text, limit) == (count_words(text) < limit)


def test_summarize_edits() -> None:
    """Words added and removed are counted from inserts and deletes only."""
    edits = diff_texts("the minister resigned today", "the minister was dismissed today")
    assert summarize_edits(edits) == (2, 1)
    assert summarize_edits(diff_texts("北京很冷", "南京很热")) == (2, 2)


# --- properties -----------------------------------------------------------------------------

# Small alphabets make shared runs likely, so the diff has real structure to find.
mixed = st.text(alphabet=st.sampled_from(list("ab c,.\n\t北京東ア한글😀𠀋é\u0301")), max_size=80)
any_text = st.one_of(st.text(max_size=60), mixed)


@given(any_text, any_text)
def test_edits_reproduce_both_texts(old: str, new: str) -> None:
    """Applying the edits to the old text gives the new text, for any two strings."""
    edits = diff_texts(old, new)
    assert old_text(edits) == old
    assert new_text(edits) == new
    assert_canonical(edits)


@given(mixed, st.lists(st.tuples(st.integers(0, 80), mixed), max_size=4))
def test_edits_of_edited_text(old: str, patches: list[tuple[int, str]]) -> None:
    """Texts derived from one another by a few splices round-trip exactly."""
    new = old
    for at, piece in patches:
        new = new[:at] + piece + new[at + len(piece) // 2 :]
    edits = diff_texts(old, new)
    assert (old_text(edits), new_text(edits)) == (old, new)
    assert_canonical(edits)


@given(any_text)
def test_identical_texts_have_no_changes(text: str) -> None:
    """Identical texts never produce an insert or a delete."""
    assert all(e.op is EQ for e in diff_texts(text, text))


han = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
chinese = st.lists(
    st.one_of(han, han, han, st.sampled_from(list("，。「」、\n 1２"))), min_size=1, max_size=300
)


@given(chinese, st.data())
def test_one_han_character_change(chars: list[str], data: st.DataObject) -> None:
    """Changing one Han character deletes exactly it and inserts exactly its replacement."""
    positions = [i for i, c in enumerate(chars) if "\u4e00" <= c <= "\u9fff"]
    assume(positions)
    at = data.draw(st.sampled_from(positions))
    replacement = data.draw(han.filter(lambda c: c != chars[at]))
    old = "".join(chars)
    new = "".join([*chars[:at], replacement, *chars[at + 1 :]])
    assert changes(diff_texts(old, new)) == [("-", chars[at]), ("+", replacement)]


english_word = st.from_regex(r"[a-z]{1,8}", fullmatch=True)


@given(
    st.lists(st.tuples(english_word, st.sampled_from([" ", " ", ", ", ".\n\n"])), min_size=1),
    st.data(),
)
def test_one_word_change(words: list[tuple[str, str]], data: st.DataObject) -> None:
    """Replacing one English word shows exactly that word and its replacement."""
    at = data.draw(st.integers(0, len(words) - 1))
    replacement = data.draw(english_word.filter(lambda w: w != words[at][0]))
    old = "".join(w + sep for w, sep in words)
    new = "".join((replacement if i == at else w) + sep for i, (w, sep) in enumerate(words))
    assert changes(diff_texts(old, new)) == [("-", words[at][0]), ("+", replacement)]


@settings(deadline=None, max_examples=10)
@given(st.integers(0, 2**32), st.integers(5_000, 20_000))
def test_time_limit_keeps_edits_exact(seed: int, size: int) -> None:
    """With a tiny time limit on large inputs, the edits still reproduce both texts."""
    rng = random.Random(seed)
    vocabulary = ["the", "of", "minister", "北", "京", "。", " ", " ", "\n\n", "😀"]
    old = "".join(rng.choice(vocabulary) for _ in range(size))
    new = "".join(rng.choice(vocabulary) for _ in range(size))
    edits = diff_texts(old, new, timeout_seconds=0.001)
    assert (old_text(edits), new_text(edits)) == (old, new)
    assert_canonical(edits)
