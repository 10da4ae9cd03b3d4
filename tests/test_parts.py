"""The parts of an article a reader sees, checked end to end: a real local HTTP server, the
real store, reader processes. Each test is named after the change it contains."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.conftest import shared_readers
from tests.parts_site import (
    NAV,
    PARAGRAPHS,
    STANDFIRST,
    TEASERS,
    Parts,
    article_page,
    furniture_page,
)
from watcher.alerts.message import kind_label
from watcher.check.pipeline import CheckResult, check_page
from watcher.config import Settings, Watch
from watcher.evidence.versions import part_text
from watcher.judge.classify import (
    Baseline,
    Kind,
    Observation,
    Part,
    Removal,
    State,
    classify_change,
)
from watcher.judge.phrases import shipped_phrases
from watcher.read.extract import Article, extract_article, prepare_page, visible_blocks
from watcher.read.normalize import builtin_ignore, normalize_article
from watcher.read.parts import read_parts
from watcher.store.store import Store

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
SETTINGS = Settings(
    timeout=timedelta(seconds=5), deadline=timedelta(seconds=10), allow_private=True
)
SHOWN_ONLY = "shown on the page; metadata unchanged"


class Site:
    """One page whose answer (status and body) the test sets before each check."""

    def __init__(self, server: HTTPServer) -> None:
        self.status, self.body = 200, ""
        self.url = server.url_for("/world/minister-resigns")
        server.expect_request(re.compile(".*")).respond_with_handler(self._handle)

    def _handle(self, request: Request) -> Response:
        if request.path != "/world/minister-resigns":
            return Response("<h1>Not Found</h1>", status=404, content_type="text/html")
        return Response(self.body, status=self.status, content_type="text/html; charset=utf-8")

    def serve(self, body: str, status: int = 200) -> None:
        self.status, self.body = status, body


class Checker:
    """Successive checks of the page, a minute apart."""

    def __init__(self, store: Store, site: Site, session: requests.Session, **watch: object):
        self.store, self.session = store, session
        self.watch = Watch.model_validate({"url": site.url, **watch})
        self.page_id = store.sync_pages([(self.watch.url, self.watch.label)], T0)[self.watch.url]
        self.now = T0

    def __call__(self) -> CheckResult:
        self.now += timedelta(minutes=1)
        return check_page(
            self.store,
            self.session,
            self.watch,
            SETTINGS,
            page_id=self.page_id,
            now=self.now,
            routes=("desk",),
            reader=shared_readers(),
        )


@pytest.fixture
def site(httpserver: HTTPServer) -> Site:
    return Site(httpserver)


@pytest.fixture
def check(db: Store, site: Site) -> Iterator[Checker]:
    """A watch of the page, already checked twice on its first version (so placed)."""
    with requests.Session() as session:
        checker = Checker(db, site, session)
        site.serve(article_page())
        assert checker().verdict.kind is Kind.NEW
        assert checker().verdict.kind is Kind.UNCHANGED
        yield checker


def changed(check: Checker, site: Site, parts: Parts) -> CheckResult:
    site.serve(article_page(parts))
    result = check()
    assert result.verdict.kind is Kind.CHANGED, result.verdict.summary
    return result


def test_byline_shown_only(check: Checker, site: Site) -> None:
    """The byline shown under the headline changes while the author metadata does not."""
    result = changed(check, site, Parts().but(byline="John Roe"))
    assert result.verdict.parts == (Part.BYLINE,)
    assert f"byline changed ({SHOWN_ONLY})" in result.verdict.summary
    assert "John Roe" in result.verdict.summary


def test_headline_shown_only(check: Checker, site: Site) -> None:
    """The headline a reader sees is rewritten while the document's title, og:title and
    the extracted headline still state the old one."""
    old = Parts().headline
    result = changed(check, site, Parts().but(headline=f"{old}, says aide", meta_headline=old))
    assert result.verdict.parts == (Part.HEADLINE,)
    assert f"headline changed ({SHOWN_ONLY})" in result.verdict.summary
    assert "says aide" in result.verdict.summary


def test_dateline_shown_only(check: Checker, site: Site) -> None:
    """The day of the dateline shown under the headline moves; date metadata unchanged."""
    result = changed(check, site, Parts().but(dateline="November 20, 2019 13:43"))
    assert result.verdict.parts == (Part.DATE,)
    assert f"date changed ({SHOWN_ONLY})" in result.verdict.summary


def test_published_time_edit(check: Checker, site: Site) -> None:
    """The stated time of publication moves by an hour, shown and in metadata alike: the
    time of day is compared, not only the day."""
    moved = Parts().but(
        dateline="November 19, 2019 14:43", meta_published="2019-11-19T14:43:00+00:00"
    )
    result = changed(check, site, moved)
    assert result.verdict.parts == (Part.DATE,)
    assert "shown on the page and stated in metadata" in result.verdict.summary


def test_metadata_date_only(check: Checker, site: Site) -> None:
    """Only the metadata's publication time changes (same day); nothing shown moves."""
    result = changed(check, site, Parts().but(meta_published="2019-11-19T09:15:00+00:00"))
    assert result.verdict.parts == (Part.DATE,)
    assert "stated in metadata; shown on the page unchanged" in result.verdict.summary


def test_caption_edit(check: Checker, site: Site) -> None:
    """A name in the picture caption of the article changes."""
    caption = "The river bridge on Tuesday, photographed by John Smyth."
    result = changed(check, site, Parts().but(caption=caption))
    assert result.verdict.parts == (Part.CAPTION,)
    assert "Smyth" in result.verdict.summary


def test_notes_paragraph_edit(check: Checker, site: Site) -> None:
    """A correction line inside the article that the extractor leaves out of the body
    changes: it is compared as the article's notes, not ignored."""
    note = "Correction: an earlier version of this story gave the wrong contract value."
    result = changed(check, site, Parts().but(note=note))
    assert result.verdict.parts == (Part.NOTES,)


def test_boilerplate_edit_is_not_a_change(check: Checker, site: Site) -> None:
    """The footer outside the article changes: nothing a reader reads as the story."""
    site.serve(article_page(Parts().but(footer="© 2027 Example News. All rights reserved.")))
    result = check()
    assert result.verdict.kind is Kind.UNCHANGED, result.verdict.summary


@pytest.mark.parametrize(("status", "removal"), [(404, Removal.GONE), (410, Removal.GONE)])
def test_status_404_same_body(check: Checker, site: Site, status: int, removal: Removal) -> None:
    """A 404 (or 410) that still serves the article's HTML is a removal: the quick re-read
    matching the body must not hide the status."""
    site.serve(article_page(), status=status)
    result = check()
    assert (result.verdict.kind, result.verdict.removal) == (Kind.REMOVED, removal)
    site.serve(article_page())
    assert check().verdict.kind is Kind.RESTORED


def test_status_451_same_body(check: Checker, site: Site) -> None:
    """A 451 serving the same HTML is removed for legal reasons, not unchanged."""
    site.serve(article_page(), status=451)
    result = check()
    assert (result.verdict.kind, result.verdict.removal) == (Kind.REMOVED, Removal.LEGAL)


def test_emptied_to_furniture(check: Checker, site: Site) -> None:
    """The article is gone and only the site's furniture is left (its menu, its most-read
    list with the story's own teaser): removed, emptied."""
    site.serve(furniture_page())
    result = check()
    assert (result.verdict.kind, result.verdict.removal) == (Kind.REMOVED, Removal.EMPTIED)
    assert result.verdict.summary.startswith("removed:")


def test_stays_removed_silent(db: Store, check: Checker, site: Site) -> None:
    """A page answering 200 with nothing to read is removed (emptied), not an error; while
    it stays so, later checks report nothing new and alert nobody again."""
    site.serve("")
    first = check()
    assert (first.verdict.kind, first.verdict.removal) == (Kind.REMOVED, Removal.EMPTIED)
    alerts = len(db.outbox.alerts(check.page_id))
    for body in ("", " ", "<html><body></body></html>"):
        site.serve(body)
        again = check()
        assert again.verdict.kind is Kind.UNCHANGED, again.verdict.summary
        assert again.verdict.summary == ""
    assert len(db.outbox.alerts(check.page_id)) == alerts
    site.serve(article_page())
    assert check().verdict.kind is Kind.RESTORED


def test_headline_rewritten_while_emptied(db: Store, check: Checker, site: Site) -> None:
    """An article emptied of its body that still shows its headline, byline and date
    line: a headline rewritten meanwhile is reported (the page stays removed), once; a
    byline and a date line likewise; the same page checked again is silent."""
    site.serve(article_page())
    check()
    emptied = Parts(body=())
    site.serve(article_page(emptied))
    first = check()
    assert (first.verdict.kind, first.verdict.removal) == (Kind.REMOVED, Removal.EMPTIED)
    retitled = emptied.but(headline="Minister cleared over bridge contract")
    site.serve(article_page(retitled))
    changed = check()
    assert changed.verdict.kind is Kind.CHANGED, changed.verdict.summary
    assert (changed.verdict.state, changed.verdict.removal) == (State.REMOVED, Removal.EMPTIED)
    assert Part.HEADLINE in changed.verdict.parts
    assert "Minister cleared over bridge contract" in changed.verdict.summary
    assert "still emptied" in changed.verdict.summary
    alerts = len(db.outbox.alerts(check.page_id))
    assert check().verdict.kind is Kind.UNCHANGED
    site.serve(article_page(retitled.but(byline="John Roe")))
    byline = check()
    assert byline.verdict.kind is Kind.CHANGED, byline.verdict.summary
    assert byline.verdict.parts == (Part.BYLINE,)
    assert len(db.outbox.alerts(check.page_id)) == alerts + 1
    site.serve(article_page(retitled.but(byline="John Roe", dateline="November 20, 2019")))
    redated = check()
    assert redated.verdict.kind is Kind.CHANGED, redated.verdict.summary
    assert (redated.verdict.parts, redated.verdict.state) == ((Part.DATE,), State.REMOVED)
    assert check().verdict.kind is Kind.UNCHANGED
    site.serve(article_page())
    assert check().verdict.kind is Kind.RESTORED


def test_keeps_failing_the_same_way_is_a_repeat(check: Checker, site: Site) -> None:
    """A page that fails again exactly as at the check before reports nothing new (the
    result says it is a repeat, as ``check --json`` does); another failure is news."""
    site.serve("<h1>Service unavailable</h1>", status=503)
    assert not check().is_repeat
    again = check()
    assert (again.verdict.kind, again.is_repeat) == (Kind.ERROR, True)
    site.serve("<h1>Internal error</h1>", status=500)
    assert not check().is_repeat
    site.serve(article_page())
    assert check().verdict.kind is Kind.UNCHANGED


def test_body_edit_still_reported_as_body(check: Checker, site: Site) -> None:
    """A one-word edit of the body is the body's, and no other part moves with it."""
    body = (PARAGRAPHS[0].replace("Friday", "Thursday"), *PARAGRAPHS[1:])
    result = changed(check, site, Parts().but(body=body))
    assert result.verdict.parts == (Part.BODY,)


# -- the property: what a reader sees of the article is compared, the page's furniture not --

_ALPHABET = st.sampled_from(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789中国人民"
)
_RULES = shipped_phrases()


def _read(html: str) -> Article:
    return normalize_article(extract_article(html), builtin_ignore()).article


def _verdict(before: str, after: str) -> Kind:
    old = _read(before)
    baseline = Baseline(State.OK, None, old, old)
    current = Observation(url="https://news.example/a", status=200, article=_read(after))
    return classify_change(baseline, current, rules=_RULES).kind


def _one_char_changed(text: str, data: st.DataObject) -> str:
    spots = [i for i, c in enumerate(text) if not c.isspace()]
    i = data.draw(st.sampled_from(spots), label="position")
    new = data.draw(_ALPHABET.filter(lambda c: c != text[i]), label="character")
    return text[:i] + new + text[i + 1 :]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    part=st.sampled_from(["headline", "headline shown", "byline", "dateline", "caption", "body"]),
)
def test_any_one_character_a_reader_sees_is_reported(data: st.DataObject, part: str) -> None:
    """One character changed in the headline (everywhere, or only where it is shown),
    byline, dateline, caption or body text a reader sees is never unchanged."""
    parts = Parts()
    if part == "headline shown":
        new = _one_char_changed(parts.headline, data)
        edited = parts.but(headline=new, meta_headline=parts.headline)
    elif part == "body":
        index = data.draw(st.integers(0, len(PARAGRAPHS) - 1), label="paragraph")
        body = list(PARAGRAPHS)
        body[index] = _one_char_changed(body[index], data)
        edited = parts.but(body=tuple(body))
    else:
        edited = parts.but(**{part: _one_char_changed(getattr(parts, part), data)})
    assert _verdict(article_page(parts), article_page(edited)) is Kind.CHANGED


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    dateline=st.sampled_from(
        [
            "الجمعة 8 فيفري 2019",  # Tunisian Arabic
            "الثلاثاء 19 نوفمبر 2019 13:43",
            "Τρίτη 19 Νοεμβρίου 2019",
            "19 ноября 2019, 13:43",
            "mardi 19 novembre 2019",
        ]
    ),
)
def test_a_dateline_in_any_alphabet_is_reported(data: st.DataObject, dateline: str) -> None:
    """A dateline whose month is written in any alphabet is read as one: a day, year or
    time in it changed by one digit is reported."""
    digits = [i for i, c in enumerate(dateline) if c.isdigit()]
    i = data.draw(st.sampled_from(digits), label="position")
    digit = data.draw(st.sampled_from("0123456789").filter(lambda c: c != dateline[i]))
    changed = dateline[:i] + digit + dateline[i + 1 :]
    # shown in a plain <span> in the article's <footer> (Drupal's "submitted" line): only
    # reading it as a date makes it the article's
    before, after = (
        re.sub(
            r"<time [^>]*>(.*?)</time>",
            r'<footer class="submitted"><span>\1</span></footer>',
            article_page(Parts().but(dateline=d)),
        )
        for d in (dateline, changed)
    )
    assert f"<span>{changed}</span>" in after
    assert _verdict(before, after) is Kind.CHANGED


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), where=st.sampled_from(["nav", "teaser", "standfirst", "footer"]))
def test_changes_confined_to_boilerplate_are_not_reported(data: st.DataObject, where: str) -> None:
    """One character changed in the menu, the most-read list or the footer is not an edit
    of the article."""
    page = article_page()
    if where == "footer":
        text = Parts().footer
    elif where == "standfirst":
        text = STANDFIRST
    else:
        text = data.draw(st.sampled_from(NAV if where == "nav" else TEASERS), label="item")
    changed_text = _one_char_changed(text, data)
    assert page.count(f">{text}<") == 1
    edited = page.replace(f">{text}<", f">{changed_text}<")
    assert _verdict(page, edited) is Kind.UNCHANGED


@pytest.mark.parametrize(
    ("parts", "title"),
    [
        (["byline"], "Byline changed"),
        (["date", "caption"], "Date and caption changed"),
        (["byline", "date", "notes"], "Byline, date and notes changed"),
        (["byline", "body"], "Edited"),
        (["headline", "byline"], "Headline changed"),
    ],
)
def test_alert_title_names_the_parts(parts: list[str], title: str) -> None:
    """An alert about a byline or a dateline alone says so in its title."""
    assert kind_label("changed", {"parts": parts}) == title


_LONG_CAPTION = (
    "A man rides a donkey past the village of Kifl Hares on November 19, 2019. The "
    "government hailed the announcement, while the opposition pledged new measures to "
    "oppose it in parliament and in the courts. Photo: Jane Roe / Example Agency"
)


def _lead_picture_page(caption: str) -> str:
    body = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    return (
        "<html><head><title>Minister resigns over bridge contract | Example News</title>"
        "</head><body><nav><a href='/'>Home</a> <a href='/world'>World</a></nav>"
        "<div class='row'><section class='block-image'><h1>Minister resigns over bridge "
        "contract</h1><span>Published November 20, 2019</span><div class='image'>"
        f"<img src='/a.jpg' alt=''><div class='abn-image-caption'>{caption}</div></div>"
        f"</section><section class='block-body'><div class='text'>{body}</div></section>"
        "</div><footer>© Example News</footer></body></html>"
    )


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_caption_edit_of_a_long_lead_caption_outside_the_body_block(data: st.DataObject) -> None:
    """A lead picture's caption under the headline is read as a caption even when it is
    longer than a line of prose and stands outside the body's block: one character of it
    changed is reported."""
    before = _lead_picture_page(_LONG_CAPTION)
    assert _read(before).captions == (_LONG_CAPTION,)
    after = _lead_picture_page(_one_char_changed(_LONG_CAPTION, data))
    assert _verdict(before, after) is Kind.CHANGED


def test_a_rewritten_heading_is_still_taken_for_the_headline() -> None:
    """A heading rewritten by a word while the title states the old headline is still the
    headline: not the site's logo in the first <h1>, nor a teaser that repeats the old
    headline word for word; and it is read as shown."""
    page = (
        "<html><head><title>Minister resigns over bridge contract | Example News</title>"
        "</head><body><h1>Example News</h1>"
        '<aside><h2><a href="/t/1">Minister resigns over bridge contract</a></h2></aside>'
        "<main><article>"
        "<h1>Minister quits over <ruby>bridge<rt>brij</rt></ruby> contract</h1>"
        f"<p>By Jane Doe</p>{''.join(f'<p>{p}</p>' for p in PARAGRAPHS)}"
        "</article></main></body></html>"
    )
    article = extract_article(page)
    assert article.title.startswith("Minister resigns over bridge contract")
    assert article.headlines == (
        "Minister quits over bridge contract",
        "Minister quits over bridge(brij) contract",  # its ruby reading, as seen
    )
    assert article.bylines == ("By Jane Doe",)  # the credits near it are found by it too


@pytest.mark.parametrize(
    "credit",
    [
        "Auteur : Kossivi Tiassou",
        "Autore: Marco Rossi",
        "Författare: Anna Svensson",
        "Yazar: Ayşe Yılmaz",
        "Penulis: Budi Santoso",
        "Édition : Marie Dupont",
        "Redaktion: Jan Müller",
        "Redacción: Ana Gómez",
        "Edited by Jane Roe",
        "بقلم أحمد علي",
    ],
)
def test_a_credit_line_in_any_language_is_a_byline(credit: str) -> None:
    """A writer's or an editor's credit under the headline, in the words of the page's
    language and in no element named like one, is a byline: while the page stays emptied
    it is still compared as one, where a note would not be."""
    page = (
        "<html><head><title>Minister resigns over bridge contract</title></head><body>"
        "<main><h1>Minister resigns over bridge contract</h1>"
        f"<div class='meta'>{credit}</div>{''.join(f'<p>{p}</p>' for p in PARAGRAPHS)}"
        "</main></body></html>"
    )
    assert extract_article(page).bylines == (credit,)


@pytest.mark.parametrize(
    ("line", "later", "renamed"),
    [
        ("Von Hans Müller · vor 5 Minuten", "Von Hans Müller · vor 17 Minuten", "Hans Meier"),
        ("김민수 기자 · 5분 전", "김민수 기자 · 2시간 전", "김민준"),
        ("Обновлено 5 минут назад", "Обновлено 3 часа назад", None),
        ("Mis à jour il y a 3 heures", "Mis à jour il y a 4 heures", None),
    ],
)
def test_a_relative_time_in_any_language_under_the_headline_is_no_change(
    line: str, later: str, renamed: str | None
) -> None:
    """The relative time a page prints under its headline moves on every load, in
    whatever language the page is written: never an edit of the byline or date line. The
    name beside it rewritten still is."""

    def page(meta: str) -> str:
        return (
            "<html><head><title>Minister resigns over bridge contract</title></head><body>"
            "<main><h1>Minister resigns over bridge contract</h1>"
            f"<div class='meta'>{meta}</div>{''.join(f'<p>{p}</p>' for p in PARAGRAPHS)}"
            "</main></body></html>"
        )

    assert _verdict(page(line), page(later)) is Kind.UNCHANGED
    if renamed is not None:
        name = line.split(" · ")[0].removeprefix("Von ").removesuffix(" 기자")
        assert _verdict(page(line), page(later.replace(name, renamed))) is Kind.CHANGED


def _dateline_over_headline(dateline: str) -> str:
    return (
        "<html><head><title>Minister resigns over bridge contract</title><meta property="
        "'article:published_time' content='2019-11-15T00:21:00+00:00'></head><body>"
        "<div class='page'><div class='header'><div class='channel'><a href='/business'>"
        f"Business News</a></div><div class='date'>{dateline}</div>"
        "<h1>Minister resigns over bridge contract</h1></div><div class='lower'><div "
        "class='byline'><a href='/people/jane-doe'>Jane Doe</a></div></div><div class='body'>"
        f"{''.join(f'<p>{p}</p>' for p in PARAGRAPHS)}</div></div></body></html>"
    )


def test_dateline_beside_a_relative_time_is_read() -> None:
    """A dateline that also shows a relative time ("November 15, 2019 / 12:21 AM /
    Updated 14 hours ago", above the headline): the relative time ticks unseen, the day
    and time it states beside it are the article's, though the metadata's stay."""
    shown = "November 15, 2019 / 12:21 AM / Updated {} hours ago"
    first = _dateline_over_headline(shown.format(14))
    assert _verdict(first, _dateline_over_headline(shown.format(15))) is Kind.UNCHANGED
    moved_day = shown.replace("15, 2019", "16, 2019").format(14)
    assert _verdict(first, _dateline_over_headline(moved_day)) is Kind.CHANGED
    moved_time = shown.replace("12:21", "11:21").format(15)
    assert _verdict(first, _dateline_over_headline(moved_time)) is Kind.CHANGED


_FILE_PHOTO = (
    "In this Dec. 12, 2006, file photo, made available by NASA, astronaut Robert Curbeam, "
    "left, and astronaut Christer Fuglesang take part in a space walk during construction "
    "of the International Space Station. (NASA via AP, File)"
)


def _file_photo_page(caption: str, dateline: str, box: str = "image top") -> str:
    return (
        "<html><head><title>Snooze cruise: Study sees future for sleeping astronauts</title>"
        "</head><body><main><h1>Snooze cruise: Study sees future for sleeping astronauts</h1>"
        f"<div class='{box}'><img src='/a.jpg' alt=''><p>{caption}</p></div>"
        "<div class='tools'><span>0</span></div>"
        f"<div class='s-data'><div>The Associated Press</div><div>{dateline}</div></div>"
        f"<div class='story'>{''.join(f'<p>{p}</p>' for p in PARAGRAPHS)}</div>"
        "</main></body></html>"
    )


def test_a_lead_pictures_caption_named_by_nothing_is_a_caption() -> None:
    """A long caption in a plain <p> beside the lead picture is the picture's caption, not
    prose that ends the headline's neighbourhood: the byline and dateline after it are
    read, and an edit of either, or of the caption, is reported."""
    dateline = "Published Monday, November 18, 2019 8:22AM EST"
    before = _file_photo_page(_FILE_PHOTO, dateline)
    article = _read(before)
    assert article.captions == (_FILE_PHOTO,)
    assert article.datelines == (dateline,)
    later = _file_photo_page(_FILE_PHOTO, dateline.replace("8:22AM", "9:22AM"))
    assert _verdict(before, later) is Kind.CHANGED
    recaptioned = _file_photo_page(_FILE_PHOTO.replace("2006", "2007"), dateline)
    assert _verdict(before, recaptioned) is Kind.CHANGED


_STANDFIRST = (
    "The transport minister has resigned after documents showed that a contract worth "
    "millions for the new river bridge was awarded without any public tender, in a scandal "
    "that has shaken the government."
)


def _standfirst_page(standfirst: str, byline: str, dateline: str) -> str:
    return (
        "<html><head><title>Minister resigns over bridge contract</title></head><body><main>"
        f"<h1>Minister resigns over bridge contract</h1><p class='standfirst'>{standfirst}</p>"
        f"<div class='meta'><div>{byline}</div><div>{dateline}</div></div>"
        f"<div class='story'>{''.join(f'<p>{p}</p>' for p in PARAGRAPHS)}</div>"
        "</main></body></html>"
    )


def test_a_standfirst_under_the_headline_does_not_end_its_neighbourhood() -> None:
    """A standfirst (prose the extractor leaves out of the body) in the headline's own
    box is read as a note, and the byline and dateline under it are still read: each of
    the three rewritten is reported."""
    before = _standfirst_page(_STANDFIRST, "Jane Doe", "Tue 19 Nov 2019 13.43 GMT")
    article = _read(before)
    assert article.notes == (_STANDFIRST, "Jane Doe")
    assert article.datelines == ("Tue 19 Nov 2019 13.43 GMT",)
    for after in (
        _standfirst_page(_STANDFIRST, "Jane Roe", "Tue 19 Nov 2019 13.43 GMT"),
        _standfirst_page(_STANDFIRST, "Jane Doe", "Tue 19 Nov 2019 14.43 GMT"),
        _standfirst_page(
            _STANDFIRST.replace("millions", "billions"), "Jane Doe", "Tue 19 Nov 2019 13.43 GMT"
        ),
    ):
        assert _verdict(before, after) is Kind.CHANGED


def test_an_ads_picture_and_line_is_no_caption() -> None:
    """The picture and line of a box the page names as an ad change on every load: no
    caption, and no change."""
    dateline = "Published Monday, November 18, 2019 8:22AM EST"
    before = _file_photo_page("Learn piano in 30 days with our course", dateline, "advert")
    after = _file_photo_page("Cheap flights to Rome this winter only", dateline, "advert")
    assert _read(before).captions == ()
    assert _verdict(before, after) is Kind.UNCHANGED


def test_a_credit_rewritten_while_emptied_is_reported() -> None:
    """The article emptied, the French credit under its headline rewritten: a byline
    change reported while the page stays emptied."""

    def page(credit: str, body: str) -> str:
        return (
            "<html><head><title>La perte des terres fertiles</title></head><body><main>"
            "<h1>La perte des terres fertiles</h1>"
            f"<div class='meta'>{credit}</div><div class='story'>{body}</div>"
            "</main><footer><p>Mentions légales · Contact · Protection des données</p>"
            "</footer></body></html>"
        )

    article = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    good = _read(page("Auteur : Kossivi Tiassou", article))
    emptied = _read(page("Auteur : Kossivi Tiassou", ""))
    baseline = Baseline(State.OK, None, good, good)
    url = "https://news.example/a"
    first = classify_change(
        baseline, Observation(url=url, status=200, article=emptied), rules=_RULES
    )
    assert (first.kind, first.removal) == (Kind.REMOVED, Removal.EMPTIED)
    rewritten = _read(page("Auteur : Marie Dupont", ""))
    still = Baseline(State.REMOVED, Removal.EMPTIED, emptied, good)
    verdict = classify_change(
        still, Observation(url=url, status=200, article=rewritten), rules=_RULES
    )
    assert verdict.kind is Kind.CHANGED
    assert verdict.state is State.REMOVED
    assert Part.BYLINE in verdict.parts


def test_diff_shows_the_heading_where_it_no_longer_reads_as_the_headline() -> None:
    """`watcher diff` and the viewer show the heading as shown beside the extracted
    headline once they differ, and only then (no headline twice on an unchanged page)."""
    same = Article("Minister resigns", "", "", ("Body.",), headlines=("Minister resigns",))
    rewritten = Article("Minister resigns", "", "", ("Body.",), headlines=("Minister quits",))
    assert part_text(same, "headline") == "Minister resigns"
    assert part_text(rewritten, "headline") == "Minister resigns\nMinister quits"


def test_diff_shows_each_stated_value_once() -> None:
    """Several tags stating one headline are one line of `watcher diff`, not three."""
    stated = ("headline: Minister resigns",) * 3
    article = Article("Minister resigns", "", "", ("Body.",), stated=stated)
    shown = part_text(article, "headline")
    assert shown == "Minister resigns\n(metadata) headline: Minister resigns"


def _sidebar_beside_headline_page(caption: str, dateline: str) -> str:
    """A headline, then a box of teasers and a comment form, then the dateline and the
    lead picture's caption, outside the block that holds the story."""
    teasers = "".join(
        f"<a href='/t/{i}'><span class='n'>{i}</span> {t}</a>" for i, t in enumerate(TEASERS, 1)
    )
    body = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    return (
        "<html><head><title>Minister resigns over bridge contract | Example News</title>"
        "</head><body><div class='post'><h1>Minister resigns over bridge contract</h1>"
        "<p class='byline'>By Jane Doe</p>"
        f"<div class='popular'><span>Most read today</span><div>{teasers} {teasers}</div></div>"
        "<div class='more-author'><a href='/a/1'>A story of the same author with a headline "
        "as long as any</a></div>"
        "<form><label>Name</label><label>Comment</label><button>Send</button></form>"
        f"<p class='byline-date'>{dateline}</p>"
        f"<div class='lead-picture'><img src='/a.jpg' alt=''><span class='wp-caption'>{caption}"
        f"</span></div><div class='story'>{body}</div></div>"
        "<footer>© Example News</footer></body></html>"
    )


def test_caption_and_dateline_read_past_a_sidebar_beside_the_headline() -> None:
    """A box of teasers beside the headline is no line of prose: the headline's
    neighbourhood goes on past it to the dateline and the lead picture's caption. The
    teasers are not read as notes, nor another story's headline as a byline."""
    caption = "The minister leaves the ministry on Friday. Photo: Jane Roe"
    article = _read(_sidebar_beside_headline_page(caption, "November 20, 2019 | 4:20am"))
    assert article.captions == (caption,)
    assert article.datelines == ("November 20, 2019 4:20am",)
    assert article.bylines == ("By Jane Doe",)
    assert not any(t in " ".join(article.notes) for t in TEASERS)
    edited = _sidebar_beside_headline_page(caption, "November 21, 2019 | 4:20am")
    assert (
        _verdict(_sidebar_beside_headline_page(caption, "November 20, 2019 | 4:20am"), edited)
        is Kind.CHANGED
    )


_SIDEBAR_CAPTION = "The minister leaves the ministry on Friday. Photo: Jane Roe"
_SIDEBAR_DATELINE = "November 20, 2019 | 4:20am"


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), part=st.sampled_from(["caption", "dateline"]))
def test_any_one_character_past_a_sidebar_beside_the_headline_is_reported(
    data: st.DataObject, part: str
) -> None:
    """Below a box of teasers beside the headline, one character of the dateline or the
    lead picture's caption changed is reported."""
    before = _sidebar_beside_headline_page(_SIDEBAR_CAPTION, _SIDEBAR_DATELINE)
    if part == "caption":
        after = _sidebar_beside_headline_page(
            _one_char_changed(_SIDEBAR_CAPTION, data), _SIDEBAR_DATELINE
        )
    else:
        after = _sidebar_beside_headline_page(
            _SIDEBAR_CAPTION, _one_char_changed(_SIDEBAR_DATELINE, data)
        )
    assert _verdict(before, after) is Kind.CHANGED


def test_teasers_beside_the_headline_are_not_the_article() -> None:
    """The box of teasers beside the headline rotates: no part of the article changed."""
    before = _sidebar_beside_headline_page(_SIDEBAR_CAPTION, _SIDEBAR_DATELINE)
    after = before.replace(TEASERS[0], "Lottery winner found after six months")
    assert after != before
    assert _verdict(before, after) is Kind.UNCHANGED


def _figure_credit_page(credit: str, menu: str) -> str:
    paragraphs = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    return (
        "<html><head><title>Minister resigns over bridge contract</title></head><body>"
        f"<div class='drawer' aria-hidden='true'><a href='/m'>{menu}</a></div>"
        "<main><h1>Minister resigns over bridge contract</h1><div class='story'>"
        f"{paragraphs}<figure><img src='/b.jpg' alt=''><footer class='credit' "
        f"aria-hidden='true'><span>{credit}</span></footer></figure></div></main>"
        "<footer>© Example News</footer></body></html>"
    )


def test_a_figures_credit_marked_aria_hidden_is_a_caption() -> None:
    """A picture's credit in the figure's own footer, marked aria-hidden (hidden from
    screen readers, not from the eye), is the picture's caption, and an edit of it is
    reported. A menu marked so is not the article: its links change silently."""
    before = _figure_credit_page("APA/Georg Hochmuth", "Weather")
    assert _read(before).captions == ("APA/Georg Hochmuth",)
    assert "© Example News" not in _read(before).captions
    assert _verdict(before, _figure_credit_page("APA/Georg Hochmuts", "Weather")) is Kind.CHANGED
    assert _verdict(before, _figure_credit_page("APA/Georg Hochmuth", "Traffic")) is Kind.UNCHANGED


def _ruby_headline_page(reading: str) -> str:
    paragraphs = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    return (
        "<html><head><title>子どもへの体罰を禁止する法律ができる</title></head><body><main>"
        "<h1>子どもへの<ruby>体罰<rp>(</rp><rt>たいばつ</rt><rp>)</rp></ruby>を"
        f"<ruby>禁止<rt>{reading}</rt></ruby>する法律ができる</h1>"
        f"<div class='story'>{paragraphs}</div></main></body></html>"
    )


def test_a_ruby_reading_of_the_headline_is_part_of_it() -> None:
    """The readings printed above a headline's words are seen: one changed is a headline
    edit. The plain headline still reads without them, so no word is split."""
    before = _ruby_headline_page("きんし")
    assert _read(before).headlines == (
        "子どもへの体罰を禁止する法律ができる",
        "子どもへの体罰(たいばつ)を禁止(きんし)する法律ができる",
    )
    assert _verdict(before, _ruby_headline_page("きしん")) is Kind.CHANGED
    assert _verdict(before, _ruby_headline_page("きんし")) is Kind.UNCHANGED


def test_notes_in_a_body_box_named_like_a_share_bar() -> None:
    """A share plugin's hook class on the box that holds the story ("BSHARE_POP") does not
    make the story's other lines furniture: a line the extractor left out of it is a
    note. So is a video's title after its player's "Autoplay" label. A real share bar's
    line and a row of share links are not."""
    promo = "Try new products first and read what our testers found, on the testers' page."
    first, *rest = (f"<p>{p}</p>" for p in PARAGRAPHS)
    root = prepare_page(
        "<html><head><title>Minister resigns over bridge contract</title></head><body>"
        "<div class='page'><h1>Minister resigns over bridge contract</h1><div class='text'>"
        f"<div class='BSHARE_POP'><div class='quote'><p>{promo}</p></div>{first}</div>"
        "<div class='player'><label><input type='checkbox'>Autoplay</label> "
        "<span>The minister's statement in full</span></div>"
        f"<div class='more'>{''.join(rest)}</div>"
        "<div class='share-bar'><p>Share this story with your friends</p></div>"
        "<div><a href='/f'>Facebook</a> <a href='/t'>Twitter</a> <a href='/m'>Email</a></div>"
        "</div>"
        "</div></body></html>"
    )
    assert root is not None
    parts = read_parts(
        root, visible_blocks(root), "Minister resigns over bridge contract", PARAGRAPHS
    )
    assert parts.notes == (promo, "Autoplay The minister's statement in full")


def test_notes_of_the_marked_article_when_the_extractor_took_a_sidebar_line_too() -> None:
    """The extractor also took a long line from a widget outside the article, so only the
    whole page holds nearly all it read: the element the page marks as the article is the
    block, and a subheading the extractor left out of it is a note."""
    widget = (
        "Enter your name or your identity card number to find out whether the documents "
        "you lost are among those handed in to us this week. " * 3
    ).strip()
    subheading = "The minister answers the inquiry"
    paragraphs = (f"{PARAGRAPHS[0]} {PARAGRAPHS[1]}", *PARAGRAPHS[2:])  # prose ends the head
    first, *rest = (f"<p>{p}</p>" for p in paragraphs)
    root = prepare_page(
        "<html><head><title>Minister resigns over bridge contract</title></head><body>"
        f"<div class='widget'><p>{widget}</p></div><main><article>"
        f"<h1>Minister resigns over bridge contract</h1>{first}<h2>{subheading}</h2>"
        f"{''.join(rest)}</article></main></body></html>"
    )
    assert root is not None
    title = "Minister resigns over bridge contract"
    parts = read_parts(root, visible_blocks(root), title, (widget, *paragraphs))
    assert parts.notes == (subheading,)
