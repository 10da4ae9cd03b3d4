"""``watcher inspect --browser``: what the browser reads next to what a plain request reads.

Says when a page looks like it needs a browser (an app shell with almost no text, then a
large text once rendered). Fetches and renders; reads only in a reader process.
"""

from __future__ import annotations

from watcher.browser import BrowserPool, RenderedResult
from watcher.check.gather import browser_limits, render_options
from watcher.check.reading import compare_rules, read_article, start_readers
from watcher.config import Settings, Watch
from watcher.errors import FetchError
from watcher.fetch import FetchResult
from watcher.read.diff import count_words
from watcher.read.normalize import Normalized, normalize_article
from watcher.read.shell import needs_browser
from watcher.render import render_inspect

NEEDS_BROWSER = (
    'this page needs a browser: set fetch = "browser" on its watch (a plain request gets an '
    "app shell whose article only JavaScript puts there)"
)
SUGGEST_BROWSER = (
    "this page looks like an app shell (scripts, an empty mount point, almost no text): "
    "its article is probably rendered by JavaScript; try watcher inspect URL --browser"
)


def shell_hint(fetched: FetchResult, normalized: Normalized | None) -> str | None:
    """The suggestion ``watcher inspect`` prints under a plain reading of an app shell."""
    if needs_browser(fetched.text, _words(normalized), None):
        return SUGGEST_BROWSER
    return None


def inspect_in_browser(
    settings: Settings, watch: Watch, fetched: FetchResult, normalized: Normalized | None
) -> str:
    """Both readings, one after the other, and what they say about the page."""
    options = render_options(settings, watch.model_copy(update={"fetch": "browser"}))
    try:
        with BrowserPool(browser_limits(settings)) as browser:
            rendered: RenderedResult | None = browser.render(watch.url, options)
    except FetchError as exc:
        rendered, failure = None, str(exc)
    lines = ["== what a plain request read ==", render_inspect(fetched, normalized, watch), ""]
    if rendered is None:
        lines += ["== what the browser read ==", f"(the browser failed: {failure})"]
        return "\n".join(lines)
    with start_readers(settings, processes=1, warm=False) as readers:
        article = readers.run(read_article, rendered.text, watch, rendered.final_url)
    browsed = normalize_article(article, compare_rules(watch)) if article else None
    lines += ["== what the browser read ==", render_inspect(rendered, browsed, watch)]
    lines.append(f"requests refused: {rendered.requests_refused} (guard, blocked types, trackers)")
    plain, shown = _words(normalized), _words(browsed)
    lines.append("")
    if needs_browser(fetched.text, plain, shown):
        lines.append(f"{NEEDS_BROWSER}; {plain} words without it, {shown} with it.")
    else:
        lines.append(
            f"a plain request reads this page ({plain} words; {shown} in the browser): "
            "it needs no browser."
        )
    return "\n".join(lines)


def _words(normalized: Normalized | None) -> int:
    return count_words(normalized.article.text) if normalized is not None else 0
