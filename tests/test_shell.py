"""Telling an app shell from a page (pure): never a real article, never a "not found" page."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.js_site import SHELL
from watcher.read.shell import SHELL_WORDS, looks_like_app_shell, needs_browser, visible_words

CORPUS = (
    Path(
        os.environ.get("WATCHER_CORPUS", Path(__file__).resolve().parents[2] / "shared" / "corpus")
    )
    / "pages"
)
SHELL_PAGE = SHELL % {"beacon": "null", "extra": ""}


def test_the_js_site_is_an_app_shell() -> None:
    """Scripts, an empty mount point and no text: a shell."""
    assert looks_like_app_shell(SHELL_PAGE)


@pytest.mark.parametrize(
    "html",
    [
        "<html><body><h1>Page not found</h1><script>track()</script></body></html>",
        '<html><body><div id="root"></div></body></html>',  # no script: nothing will come
        "<html><head><script src=a.js></script></head><body><p>Hello</p></body></html>",
    ],
    ids=["not-found-page", "no-script", "no-mount-point"],
)
def test_pages_that_are_not_shells(html: str) -> None:
    """A "not found" page with a tracker, or a page with no mount point, is not a shell."""
    assert not looks_like_app_shell(html)


def test_no_page_of_the_corpus_is_a_shell() -> None:
    """The 80 real news pages of the shared corpus are all read as pages."""
    pages = sorted(CORPUS.glob("*.html.gz"))
    if not pages and not os.environ.get("CI"):
        pytest.skip(f"no corpus pages under {CORPUS}")
    assert pages
    for path in pages:
        html = gzip.decompress(path.read_bytes()).decode("utf-8", "replace")
        assert not looks_like_app_shell(html), path.name


@given(st.lists(st.sampled_from(["bridge", "council", "harbour", "mayor", "桥梁"]), min_size=1))
def test_visible_text_in_the_shell_is_counted(words: list[str]) -> None:
    """Text outside scripts counts; once it is an article's worth, it is no shell."""
    text = " ".join(words)
    page = SHELL_PAGE.replace("</body>", f"<p>{text}</p></body>")
    assert visible_words(page) == len(words)
    assert looks_like_app_shell(page) == (len(words) < SHELL_WORDS)


def test_needs_browser_wants_far_more_text_once_rendered() -> None:
    """A shell read with 0 words and 80 once rendered needs a browser; a page that reads
    the same either way does not."""
    assert needs_browser(SHELL_PAGE, 0, None)
    assert needs_browser(SHELL_PAGE, 0, 80)
    assert not needs_browser(SHELL_PAGE, 0, 5)
    assert not needs_browser("<p>long</p>", 300, 320)
