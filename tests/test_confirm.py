"""Confirmation: what differs between two loads is noise; what both loads share is real."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import assume, given
from hypothesis import strategies as st

from watcher.judge.confirm import (
    as_shown,
    corroborated,
    is_extraction_shift,
    mask_volatile,
    nothing_came_back,
    only_furniture,
    same_content,
)
from watcher.read.extract import Article

BODY = ("The minister resigned on Friday.", "Investigators questioned 14 officials.", "No comment.")


def article(
    *paragraphs: str,
    title: str = "Minister resigns",
    byline: str = "Jane Doe",
    published: str = "2026-11-27",
) -> Article:
    return Article(title, byline, published, tuple(paragraphs))


def test_clock_paragraph_is_masked_on_both_sides() -> None:
    """A clock that changes on every load drops out of baseline and current alike."""
    base = article("Updated 10:00:01", *BODY)
    first = article("Updated 10:05:07", *BODY)
    second = article("Updated 10:05:09", *BODY)
    masked = mask_volatile(base, first, second)
    assert masked.baseline.paragraphs == BODY
    assert masked.current.paragraphs == BODY
    assert masked.volatile == ("Updated 10:05:09",)


def test_real_edit_seen_in_both_loads_survives_masking() -> None:
    """An edit present in both loads stays, even next to a volatile paragraph."""
    base = article("Ad: shoes", *BODY)
    edited = (BODY[0], "Investigators questioned 4 officials.", BODY[2])
    masked = mask_volatile(base, article("Ad: flights", *edited), article("Ad: piano", *edited))
    assert masked.baseline.paragraphs == BODY
    assert masked.current.paragraphs == edited


def test_a_deletion_beside_a_slot_the_loads_read_differently_stays_a_deletion() -> None:
    """Both loads deleted a paragraph; next to it, an embedded post the second load split
    into two lines. The split is volatile; the deletion is still a deletion."""
    tweet = "— A. Minister (@minister) March 14, 2020"
    base = article(BODY[0], BODY[1], tweet, BODY[2])
    first = article(BODY[0], tweet, BODY[2])
    second = article(BODY[0], "— A. Minister (@minister)", "March 14, 2020", BODY[2])
    masked = mask_volatile(base, first, second)
    assert BODY[1] in masked.baseline.paragraphs
    assert BODY[1] not in masked.current.paragraphs
    assert masked.baseline.paragraphs != masked.current.paragraphs


def test_a_ticker_that_moved_on_in_both_loads_is_masked() -> None:
    """A live line that read otherwise on each load, and otherwise than stored: noise."""
    base = article(BODY[0], "Live: 12:01 the minister speaks", BODY[2])
    first = article(BODY[0], "Live: 12:05 questions from the press", BODY[2])
    second = article(BODY[0], "Live: 12:07 the session ends", BODY[2])
    masked = mask_volatile(base, first, second)
    assert masked.baseline.paragraphs == masked.current.paragraphs


def test_deleted_paragraph_stays_a_deletion() -> None:
    """A paragraph gone from both loads is still reported as gone."""
    base = article(*BODY)
    shorter = article(BODY[0], BODY[2])
    masked = mask_volatile(base, shorter, shorter)
    assert masked.baseline.paragraphs == BODY
    assert masked.current.paragraphs == (BODY[0], BODY[2])


def test_volatile_headline_is_masked() -> None:
    """A headline that differs between two loads (an A/B/C test) is not compared."""
    base = article(*BODY, title="A")
    masked = mask_volatile(base, article(*BODY, title="B"), article(*BODY, title="C"))
    assert masked.baseline.title == masked.current.title == ""
    assert "<title>" in masked.volatile


def test_same_content_compares_every_field() -> None:
    """Two reads agree only when headline, byline, date and paragraphs all agree."""
    assert same_content(article(*BODY), article(*BODY))
    assert not same_content(article(*BODY), article(*BODY, title="Other"))
    assert same_content(None, None)
    assert not same_content(article(*BODY), None)


paragraph = st.text(alphabet="abc 十二", min_size=1, max_size=12)


@given(base=st.lists(paragraph, max_size=6), current=st.lists(paragraph, max_size=6))
def test_identical_loads_mask_nothing(base: list[str], current: list[str]) -> None:
    """When both loads agree, masking changes neither side: every real change remains."""
    masked = mask_volatile(article(*base), article(*current), article(*current))
    assert masked.baseline.paragraphs == tuple(base)
    assert masked.current.paragraphs == tuple(current)
    assert masked.volatile == ()


@given(
    body=st.lists(paragraph, min_size=1, max_size=5, unique=True),
    noise=st.lists(
        st.text(alphabet="0123456789:", min_size=1, max_size=8), min_size=3, max_size=3, unique=True
    ),
    position=st.integers(0, 5),
)
def test_noise_only_in_a_volatile_slot_always_masks_to_equal(
    body: list[str], noise: list[str], position: int
) -> None:
    """Noise confined to one slot that differs on every load leaves equal sides."""
    at = min(position, len(body))

    def with_noise(value: str) -> Article:
        return article(*body[:at], value, *body[at:])

    masked = mask_volatile(with_noise(noise[0]), with_noise(noise[1]), with_noise(noise[2]))
    assert same_content(masked.baseline, masked.current)


PAGE = ("Home", "World", *BODY, "Related: Storm closes airport", "© Example News")


def test_paragraph_dropped_by_the_extractor_is_a_shift() -> None:
    """A paragraph the extractor stopped reading, still on the page, is not a deletion."""
    old, new = article(*BODY), article(BODY[0], BODY[1])
    assert is_extraction_shift(old, new, PAGE, PAGE)


def test_furniture_pulled_into_the_article_is_a_shift() -> None:
    """A related link the extractor now reads as text, already on the old page, is not news."""
    old, new = article(*BODY), article(*BODY, "Related: Storm closes airport")
    assert is_extraction_shift(old, new, PAGE, PAGE)


def test_real_deletion_is_not_a_shift() -> None:
    """A paragraph gone from the page itself is a deletion."""
    new_page = tuple(p for p in PAGE if p != BODY[2])
    assert not is_extraction_shift(article(*BODY), article(BODY[0], BODY[1]), PAGE, new_page)


def test_one_word_edit_is_not_a_shift() -> None:
    """An edited paragraph is not on the new page in its old form: a change."""
    edited = (BODY[0], "Investigators questioned 4 officials.", BODY[2])
    new_page = ("Home", "World", *edited, "Related: Storm closes airport", "© Example News")
    assert not is_extraction_shift(article(*BODY), article(*edited), PAGE, new_page)


def test_inserted_paragraph_is_not_a_shift() -> None:
    """A paragraph that was nowhere on the old page is an insertion."""
    added = "The minister's deputy will take over until an election."
    new_page = (*PAGE, added)
    assert not is_extraction_shift(article(*BODY), article(*BODY, added), PAGE, new_page)


def test_headline_changes_are_never_a_shift() -> None:
    """Only body changes can be explained by extraction; a headline edit never is."""
    assert not is_extraction_shift(article(*BODY), article(*BODY[:2], title="Other"), PAGE, PAGE)


def test_list_markers_do_not_hide_a_shift() -> None:
    """The extractor's "- " before list items does not stop the text being found."""
    old, new = article(*BODY), article(*BODY, "- Related: Storm closes airport")
    assert is_extraction_shift(old, new, PAGE, PAGE)


@given(
    body=st.lists(
        st.text(alphabet="abcdef ", min_size=3, max_size=20), min_size=2, max_size=5, unique=True
    ),
    data=st.data(),
)
def test_a_paragraph_changed_on_the_page_is_never_a_shift(
    body: list[str], data: st.DataObject
) -> None:
    """Whatever the page, a paragraph whose text changed on the page itself stays a change."""
    body = [" ".join(p.split()) for p in body]
    if len(set(body)) != len(body) or not all(body):
        return
    index = data.draw(st.integers(0, len(body) - 1))
    changed = body[index] + " xyz"
    new_body = [*body[:index], changed, *body[index + 1 :]]
    old_page, new_page = ("nav", *body), ("nav", *new_body)
    assert not is_extraction_shift(article(*body), article(*new_body), old_page, new_page)


def test_paragraph_that_gained_a_sentence_is_not_a_shift() -> None:
    """Dropped by the extractor and extended on the page at once: still a change."""
    extended = BODY[2] + " The minister was not available."
    new_page = ("Home", "World", BODY[0], BODY[1], extended, "© Example News")
    assert not is_extraction_shift(article(*BODY), article(BODY[0], BODY[1]), PAGE, new_page)


def test_paragraph_spanning_several_page_lines_is_a_shift() -> None:
    """Text the extractor joins into one paragraph (split by empty <div>s) is still there."""
    joined = " ".join(BODY)
    old, new = article(*BODY), article(joined)
    assert is_extraction_shift(old, new, PAGE, PAGE)


def test_page_line_split_by_the_extractor_is_a_shift() -> None:
    """One long page line the extractor reads as two paragraphs is not an edit."""
    long_line = "Opposition leaders said at least four officials had been questioned. " * 2
    first, second = long_line[:70], long_line[70:]
    page = ("Home", long_line, "© Example News")
    assert is_extraction_shift(article(long_line), article(first, second), page, page)


def test_short_paragraph_deleted_is_not_a_shift_even_if_its_words_stay() -> None:
    """A deleted short line ("Update:") is not explained by the same word inside another."""
    page = ("Home", "Update:", "Update: the minister resigned on Friday.", "© Example News")
    new_page = ("Home", "Update: the minister resigned on Friday.", "© Example News")
    old, new = article("Update:", page[2]), article(page[2])
    assert not is_extraction_shift(old, new, page, new_page)


def test_byline_taken_from_another_line_is_a_shift() -> None:
    """The extractor crediting a nearby line ("Tom Smith" vs "Tom Smith News reporter")."""
    page = ("Home", "Tom Smith", "News reporter", *BODY, "© Example News")
    old, new = article(*BODY, byline="Tom Smith News reporter"), article(*BODY, byline="Tom Smith")
    assert is_extraction_shift(old, new, page, page)


def test_byline_changed_on_the_page_is_not_a_shift() -> None:
    """A name that was nowhere on the old page is a new byline."""
    page = ("Home", "Tom Smith", *BODY, "© Example News")
    new_page = ("Home", "Tim Smith", *BODY, "© Example News")
    old, new = article(*BODY, byline="Tom Smith"), article(*BODY, byline="Tim Smith")
    assert not is_extraction_shift(old, new, page, new_page)


def test_byline_renamed_to_a_name_shown_elsewhere_is_not_a_shift() -> None:
    """Both names stand on both pages (a photo credit, a copyright line), but the byline
    line itself was edited: one fewer of the old name, one more of the new."""
    page = ("Home", "Reuters", *BODY, "Photo: Mike Blake/Ruterse", "© Thomson Reuters")
    new_page = ("Home", "Ruterse", *BODY, "Photo: Mike Blake/Ruterse", "© Thomson Reuters")
    old, new = article(*BODY, byline="Reuters"), article(*BODY, byline="Ruterse")
    assert not is_extraction_shift(old, new, page, new_page)


def test_sidebar_heading_moved_to_the_other_edge_is_a_shift() -> None:
    """A sidebar's heading and bullet that ended the extractor's reading now open it."""
    edge = ("-", "最新闻 Hot快讯")
    page = ("Home", *edge, *BODY, "© Example News")
    old, new = article(*BODY, *edge), article(*edge, *BODY)
    assert is_extraction_shift(old, new, page, page)
    assert is_extraction_shift(new, old, page, page)


def test_sentence_moved_from_the_end_to_the_top_is_not_a_shift() -> None:
    """Moving the story's last line to its top is an editor's change, short or not."""
    old, new = article(*BODY), article(BODY[-1], *BODY[:-1])
    assert not is_extraction_shift(old, new, PAGE, PAGE)  # "No comment." is a sentence
    long_moved = article(*BODY[1:], BODY[0])
    assert not is_extraction_shift(old, long_moved, PAGE, PAGE)


def test_short_line_moved_into_the_middle_is_not_a_shift() -> None:
    """Only a move between the two edges is the extractor's: a heading moved within the
    story is a change of its structure."""
    lines = ("Background", *BODY)
    moved = (BODY[0], "Background", *BODY[1:])
    assert not is_extraction_shift(article(*lines), article(*moved), PAGE, PAGE)


def test_date_changes_are_never_a_shift() -> None:
    """A date that moved is reported even when both dates are on both pages."""
    page = (*PAGE, "2026-11-01", "2026-11-20")
    old, new = article(*BODY, published="2026-11-20"), article(*BODY, published="2026-11-01")
    assert not is_extraction_shift(old, new, page, page)


@given(
    body=st.lists(
        st.text(alphabet="abcdef .", min_size=1, max_size=80), min_size=1, max_size=5, unique=True
    ),
    data=st.data(),
)
def test_a_new_character_in_the_article_is_never_a_shift(
    body: list[str], data: st.DataObject
) -> None:
    """One character replaced by one the old page never had: always a change, whatever
    the lengths of the paragraphs and however they split into lines."""
    body = [" ".join(p.split()) for p in body]
    if not all(body) or len(set(body)) != len(body):
        return
    index = data.draw(st.integers(0, len(body) - 1))
    at = data.draw(st.integers(0, len(body[index]) - 1))
    changed = body[index][:at] + "Z" + body[index][at + 1 :]
    new_body = [*body[:index], changed, *body[index + 1 :]]
    old_page, new_page = ("nav", *body, "footer"), ("nav", *new_body, "footer")
    assert not is_extraction_shift(article(*body), article(*new_body), old_page, new_page)


def test_a_date_one_load_could_not_read_does_not_keep_a_shift_from_being_one() -> None:
    """The body moved and this load's only date source read "3 minutes ago": the date
    is not another date (the classifier does not count it), the body only moved."""
    old, new = article(*BODY), article(BODY[0], BODY[1], published="")
    assert is_extraction_shift(old, new, PAGE, PAGE)


def test_a_date_that_names_another_day_still_stops_a_shift() -> None:
    old, new = article(*BODY), article(BODY[0], BODY[1], published="2026-11-20")
    assert not is_extraction_shift(old, new, PAGE, PAGE)


def test_lines_moved_from_the_body_to_the_notes_are_a_shift() -> None:
    """The extractor left two paragraphs out; the block's reading keeps them as notes."""
    old = article(*BODY)
    new = replace(article(BODY[0]), notes=BODY[1:])
    assert is_extraction_shift(old, new, PAGE, PAGE)


def test_paragraphs_put_in_another_order_are_not_a_shift() -> None:
    """The same lines in another order are an editorial change, notes or not."""
    reordered = (BODY[1], BODY[0], BODY[2])
    assert not is_extraction_shift(article(*BODY), article(*reordered), PAGE, PAGE)
    old = replace(article(BODY[0]), notes=(BODY[1], BODY[2]))
    new = replace(article(BODY[0]), notes=(BODY[2], BODY[1]))
    assert not is_extraction_shift(old, new, PAGE, PAGE)


@given(cut=st.integers(0, 3), data=st.data())
def test_a_changed_line_is_never_a_shift_wherever_the_extractor_cut(
    cut: int, data: st.DataObject
) -> None:
    """However the lines split between body and notes on either load, one character
    changed in one of them (or a day that moved) is never explained away."""
    lines = (*BODY, "More information: Example Journal, 2026.")
    index = data.draw(st.integers(0, len(lines) - 1))
    at = data.draw(st.integers(0, len(lines[index]) - 1))
    changed = lines[index][:at] + "Z" + lines[index][at + 1 :]
    edited = (*lines[:index], changed, *lines[index + 1 :])
    new_cut = data.draw(st.integers(0, len(lines)))
    old = replace(article(*lines[:cut]), notes=lines[cut:])
    new = replace(article(*edited[:new_cut]), notes=edited[new_cut:])
    page = ("nav", *lines, "footer")
    new_page = ("nav", *edited, "footer")
    assert not is_extraction_shift(old, new, page, new_page)


def test_a_bullet_left_behind_is_not_new_text() -> None:
    """Reduced to furniture: a lone list bullet the emptied story left is no new text, and
    everything else read now stood on the old page; a real new line is."""
    old = article("The minister resigned on Friday after the report.", "He denies it.")
    page = ["Home", "World", "Ferry prices rise again", old.paragraphs[0], old.paragraphs[1]]
    assert only_furniture(old, article("-", "Ferry prices rise again"), page)
    assert not only_furniture(old, article("-", "Ferry prices rise again", "He resigned."), page)


def test_a_menu_read_link_by_link_and_a_hidden_one_are_furniture() -> None:
    """The extractor read the menu a link a line, where the page shows it as one line; it
    also read a hidden drop-down no reader sees. Neither is new text."""
    old = article("The minister resigned on Friday after the report.", "He denies it.")
    page = ["新闻 行情 要闻 快讯", "Ferry prices rise again", *old.paragraphs]
    now = article("新闻", "行情", "净值", "Ferry prices rise again")
    assert only_furniture(old, now, page, ["新闻 行情 要闻 快讯", "Ferry prices rise again"])
    shown = ["新闻 行情 要闻 快讯 净值", "Ferry prices rise again"]
    assert not only_furniture(old, now, page, shown)


# -- a confirming load its extractor read another way: what its page shows decides ----------

LONG = (
    "The transport minister resigned on Friday after the bridge contract was leaked.",
    "Investigators questioned fourteen officials of the ministry this week in the capital.",
    "The ministry declined to comment on the report when it was reached by telephone.",
)
MENU = ("Home", "World", "Most read: a cat elected mayor of a small town")


def _edited(*paragraphs: str, title: str = "Minister resigns") -> Article:
    return article(*paragraphs, title=title)


def test_an_edit_the_second_page_shows_is_borne_out_whatever_its_extractor_read() -> None:
    """The second load read as almost nothing (its extractor drew other edges); its page
    still shows the edit and no longer the old wording, so the edit stands."""
    edited = (LONG[0], LONG[1].replace("fourteen", "four"), LONG[2])
    collapsed = article("Updated 3 minutes ago")
    masked = corroborated(article(*LONG), _edited(*edited), collapsed, (*MENU, *edited))
    assert masked.current.paragraphs == edited
    assert masked.volatile == ()


def test_an_edit_the_second_page_does_not_show_is_put_back() -> None:
    """The second load served the old version (an A/B test): the edit is not borne out."""
    edited = (LONG[0], LONG[1].replace("fourteen", "four"), LONG[2])
    masked = corroborated(article(*LONG), _edited(*edited), article(*LONG), (*MENU, *LONG))
    assert masked.current.paragraphs == LONG
    assert masked.volatile == (edited[1],)


def test_a_sentence_added_to_a_paragraph_is_borne_out() -> None:
    """The old wording stands inside the new paragraph: that is the edit, not the old page."""
    longer = (LONG[0] + " It was his second resignation this year.", *LONG[1:])
    masked = corroborated(article(*LONG), _edited(*longer), None, longer)
    assert masked.current.paragraphs == longer


def test_a_sentence_cut_while_the_second_page_still_has_it_is_put_back() -> None:
    """The first load lacks a sentence the second page still shows whole: not borne out."""
    shorter = (LONG[0].split(" after ")[0] + ".", *LONG[1:])
    masked = corroborated(article(*LONG), _edited(*shorter), None, (*MENU, *LONG))
    assert masked.current.paragraphs == LONG


def test_a_headline_counts_when_the_second_load_read_it_too() -> None:
    base = article(*LONG)
    first = _edited(*LONG, title="Minister quits")
    same = corroborated(base, first, article("x", title="Minister quits"), LONG)
    assert same.current.title == "Minister quits"
    other = corroborated(base, first, article("x"), LONG)
    assert other.current.title == base.title
    assert "<title>" in other.volatile


sentences = st.lists(
    st.text(alphabet="abcdefgh ", min_size=45, max_size=60).filter(lambda t: t.strip()),
    min_size=2,
    max_size=8,
    unique_by=lambda t: "".join(t.split()),
)


@given(sentences, st.data())
def test_the_page_that_shows_a_version_bears_out_that_version(
    lines: list[str], data: st.DataObject
) -> None:
    """Any deletions and insertions: a second page showing the first load's text bears it
    all out; a second page showing the old text bears none of it out."""
    cut = data.draw(st.integers(min_value=1, max_value=len(lines) - 1))
    old, added = tuple(lines[:cut]), lines[cut:]
    kept = [p for p in old if data.draw(st.booleans())]
    for line in added:
        kept.insert(data.draw(st.integers(min_value=0, max_value=len(kept))), line)
    new = tuple(kept)
    compact = ["".join(line.split()) for line in lines]
    assume(all(a not in b for a in compact for b in compact if a != b))
    assert corroborated(article(*old), article(*new), None, new).current.paragraphs == new
    assert corroborated(article(*old), article(*new), None, old).current.paragraphs == old


STORY = (
    "The transport minister resigned on Friday after documents showed the contract was "
    "awarded without a tender.",
    "Opposition leaders said 14 officials had been questioned by investigators this week.",
    "The ministry declined to comment on the report when reached by telephone.",
)
MENU = ("Home", "World", "Most read: Storm closes the airport for a second day")


@given(
    index=st.integers(0, len(STORY) - 1),
    at=st.integers(0, 60),
    char=st.characters(categories=["L", "N"]),
)
def test_the_article_as_its_page_shows_it(index: int, at: int, char: str) -> None:
    """Read from the page's lines: a page showing the story gives the story; one character
    of one paragraph changed gives that paragraph as changed; one gone from the page is
    left out."""
    assert as_shown(STORY, (*MENU, *STORY, "© Example News")) == STORY
    paragraph = STORY[index]
    edited = paragraph[:at] + char + paragraph[at + 1 :]
    assume(edited != paragraph)
    page = (*MENU, *STORY[:index], edited, *STORY[index + 1 :], "© Example News")
    assert as_shown(STORY, page) == (*STORY[:index], edited, *STORY[index + 1 :])
    gone = (*MENU, *STORY[:index], *STORY[index + 1 :])
    assert as_shown(STORY, gone) == (*STORY[:index], *STORY[index + 1 :])


_furniture_line = st.lists(
    st.sampled_from(["Home", "World", "Sport", "Share", "Contact", "Edited by", "the desk"]),
    min_size=1,
    max_size=4,
).map(" ".join)


@given(
    page=st.lists(_furniture_line, min_size=1, max_size=8, unique=True),
    then=st.data(),
)
def test_an_emptied_page_read_as_any_of_its_furniture_has_nothing_back(
    page: list[str], then: st.DataObject
) -> None:
    """Whatever furniture of the emptied page a load reads in the article's place, no
    article came back; reading the paragraph the page lost always brings it back."""
    lost = "Investigators questioned fourteen officials about the bridge contract."
    last_good = Article("Bridge", "", "", (lost, page[0]))
    stored = Article("Bridge", "", "", tuple(then.draw(st.lists(st.sampled_from(page)))))
    read = tuple(then.draw(st.lists(st.sampled_from(page), min_size=1)))
    now = Article("Bridge", "", "", read)
    assert nothing_came_back(stored, now, last_good, page, page)
    back = Article("Bridge", "", "", (*read, lost))
    assert not nothing_came_back(stored, back, last_good, page, (*page, lost))
