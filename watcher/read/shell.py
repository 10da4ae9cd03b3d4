"""Tell an app shell from a page: HTML whose article only JavaScript would put there (pure).

A site that renders its articles in the browser answers a plain request with an empty
mount point (``<div id="root"></div>``) and scripts. Read as it is, that page is empty,
which must never be mistaken for an article that vanished. This module never parses a
tree (it runs in checking threads, where lxml must not) and never fetches anything.
"""

from __future__ import annotations

import re

# An empty element that a front-end framework mounts the page into.
_MOUNT = re.compile(
    r"<(div|main|section|body|app-root)\b[^>]*?"
    r"(?:\bid\s*=\s*[\"']?(?:root|app|__next|__nuxt|___gatsby|svelte|app-root|main-app|"
    r"application|react-root|vue-app)[\"'\s>]|\bdata-reactroot\b|\bng-version\b)"
    r"[^>]*>\s*(?:<!--.*?-->\s*)*</\1\s*>"
    r"|<app-root\b[^>]*>\s*</app-root\s*>",
    re.IGNORECASE | re.DOTALL,
)
_INVISIBLE = re.compile(
    r"<(script|style|noscript|template|svg|head)\b.*?</\1\s*>|<!--.*?-->",
    re.IGNORECASE | re.DOTALL,
)
_TAG = re.compile(r"<[^>]*>")
_SCRIPT = re.compile(r"<script\b", re.IGNORECASE)
_WORD = re.compile(r"[^\W\d_]{2,}|[\u3040-\u30ff\u3400-\u9fff]", re.UNICODE)
# Below this many words of visible text, a page with an empty mount point is a shell.
SHELL_WORDS = 60


def visible_words(html: str) -> int:
    """Words (a Han or kana character counts as one) of text a reader would see."""
    text = _TAG.sub(" ", _INVISIBLE.sub(" ", html))
    return len(_WORD.findall(text))


def looks_like_app_shell(html: str) -> bool:
    """Whether ``html`` is an app shell: scripts, an empty mount point, almost no text."""
    if not _SCRIPT.search(html) or not _MOUNT.search(html):
        return False
    return visible_words(html) < SHELL_WORDS


def needs_browser(plain_html: str, plain_words: int, rendered_words: int | None) -> bool:
    """Whether a page looks like it needs a browser: almost no text read from what a plain
    request gets (an app shell), and, when the rendered page was read, far more there."""
    if plain_words >= SHELL_WORDS:
        return False
    if rendered_words is None:
        return looks_like_app_shell(plain_html)
    return rendered_words >= max(SHELL_WORDS, 3 * plain_words)
