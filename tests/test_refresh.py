"""Where a page's <meta http-equiv="refresh"> sends its reader (pure)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from watcher.read.refresh import MAX_DELAY_SECONDS, refresh_target, script_target

PAGE = "https://news.example/world/2026/story-1.html"


def _page(head: str) -> bytes:
    return f"<html><head>{head}</head><body><p>Moved.</p></body></html>".encode()


@pytest.mark.parametrize(
    ("content", "target"),
    [
        ("0; url=/", "https://news.example/"),
        ("0;URL='https://news.example/world/'", "https://news.example/world/"),
        ('3, url="/404.html"', "https://news.example/404.html"),
        ("0; https://elsewhere.example/", "https://elsewhere.example/"),
        ("0;url=../", "https://news.example/world/"),
        ("1.5; url = /home ", "https://news.example/home"),
    ],
)
def test_a_refresh_that_sends_the_reader_away_is_followed(content: str, target: str) -> None:
    quoted = f"'{content}'" if '"' in content else f'"{content}"'
    tag = f'<meta http-equiv="refresh" content={quoted}>'
    assert refresh_target(_page(tag), PAGE) == target


@pytest.mark.parametrize(
    "head",
    [
        # a live page reloading itself, with or without a cache-buster
        '<meta http-equiv="refresh" content="300">',
        '<meta http-equiv="refresh" content="5; url=story-1.html?reload=1">',
        '<meta http-equiv="refresh" content="0; url=#top">',
        # due long after the page was read
        '<meta http-equiv="refresh" content="600; url=/">',
        # what a browser with scripts on never acts on
        '<noscript><meta http-equiv="refresh" content="0; url=/nojs"></noscript>',
        '<script>document.write(\'<meta http-equiv="refresh" content="0; url=/">\')</script>',
        '<!-- <meta http-equiv="refresh" content="0; url=/"> -->',
        '<template><meta http-equiv="refresh" content="0; url=/"></template>',
        # nowhere a browser goes, or nothing said
        '<meta http-equiv="refresh" content="0; url=javascript:void(0)">',
        '<meta http-equiv="refresh">',
        '<meta http-equiv="refresh" content="soon">',
        '<meta name="refresh" content="0; url=/">',
    ],
)
def test_a_refresh_that_keeps_the_reader_on_the_page_is_not(head: str) -> None:
    assert refresh_target(_page(head), PAGE) is None


def test_a_tag_after_a_closed_noscript_counts() -> None:
    head = (
        '<noscript><p>Turn scripts on</p></noscript><meta http-equiv="Refresh" content="0;url=/">'
    )
    assert refresh_target(_page(head), PAGE) == "https://news.example/"


_PATHS = st.lists(
    st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12),
    min_size=0,
    max_size=3,
).map(lambda parts: "/" + "/".join(parts))


@given(
    delay=st.integers(min_value=0, max_value=int(MAX_DELAY_SECONDS)),
    path=_PATHS.filter(lambda p: p != "/world/2026/story-1.html"),
    form=st.sampled_from(["{d}; url={u}", "{d};URL='{u}'", '{d}, url="{u}"', "{d}; {u}"]),
    quote=st.sampled_from(['"', "'"]),
    wrapper=st.sampled_from(["", "noscript", "script", "template", "comment"]),
)
def test_any_spelling_of_a_prompt_refresh_is_read_unless_inert(
    delay: int, path: str, form: str, quote: str, wrapper: str
) -> None:
    """Whatever way the delay and the URL are written, a prompt refresh to another page is
    that page; the same tag where a browser does not act on it is nothing."""
    content = form.format(d=delay, u=path)
    if quote in content:
        quote = "'" if quote == '"' else '"'
    tag = f"<meta http-equiv={quote}refresh{quote} content={quote}{content}{quote}>"
    if wrapper == "comment":
        tag = f"<!-- {tag} -->"
    elif wrapper:
        tag = f"<{wrapper}>{tag}</{wrapper}>"
    expected = None if wrapper else f"https://news.example{path}"
    assert refresh_target(_page(tag), PAGE) == expected


@pytest.mark.parametrize(
    ("script", "target"),
    [
        ("window.location.replace('/');", "https://news.example/"),
        ('location.href = "https://elsewhere.example/news";', "https://elsewhere.example/news"),
        ("top.location='/world/'", "https://news.example/world/"),
        ('\n  // moved\n  window.location.assign("/404.html");\n', "https://news.example/404.html"),
    ],
)
def test_a_stub_whose_one_script_goes_elsewhere_is_followed(script: str, target: str) -> None:
    assert script_target(_page(f"<script>{script}</script>"), PAGE) == target


@pytest.mark.parametrize(
    "body",
    [
        # a real page's script sends phones to the mobile site, on a condition
        "<script>if (/iPhone|Android/.test(navigator.userAgent)) "
        "{ location.href = 'https://m.news.example/'; }</script><p>Moved.</p>",
        # more than one thing done, or the page itself reloaded
        "<script>track(); location.replace('/');</script>",
        "<script>location.replace('story-1.html?x=1')</script>",
        # a page a reader reads, whatever its scripts say
        "<script>location.replace('/')</script>"
        + "<p>The transport minister resigned on Friday after documents showed that the "
        "contract for the new river bridge was awarded without a public tender, and "
        "opposition leaders called for an inquiry.</p>",
    ],
)
def test_a_script_that_is_not_a_stubs_redirect_is_not_followed(body: str) -> None:
    page = f"<html><head></head><body>{body}</body></html>".encode()
    assert script_target(page, PAGE) is None
