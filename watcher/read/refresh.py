"""Where a page sends its reader at once: ``<meta http-equiv="refresh">``, or a stub's
one script that sets ``location`` (pure).

Some sites take an article down by serving, with status 200, a stub that a browser leaves
at once for the home page. A reader never sees the stub: it is a redirect, and a check
must follow it like one, or the removal reads as an emptied page. Only what a browser
with scripts on would follow counts: not a tag inside ``<noscript>`` (a JavaScript site's
"you need scripts" page), a script, a comment or a ``<template>``; not a refresh of the
page itself (a live page reloading, with or without a cache-buster in its query); and not
a refresh due so late that the reader has long read the page by then. A script counts
only on a page that shows a reader nothing else, and only when all it does is go to one
fixed URL: a real page's scripts that send phones to a mobile site run on a condition.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

from watcher.read.shell import visible_words

# A refresh due later than this is a page that reloads, not a page that sends its reader
# away: a stub says "you will be redirected in 5 seconds", a live page reloads every
# minute or more.
MAX_DELAY_SECONDS = 10.0

_META = re.compile(rb"<meta\b[^>]*?\bhttp-equiv\s*=\s*[\"']?\s*refresh\b[^>]*>", re.IGNORECASE)
# Where a refresh is looked for: a page's head, where stubs and pages put it, however long
# the inline scripts before it.
SCAN_BYTES = 64 * 1024
_CONTENT = re.compile(rb"\bcontent\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>]+))", re.IGNORECASE)
# The content attribute as browsers parse it: a delay, then an optional "url=" and a URL.
_VALUE = re.compile(
    r"\s*(\d+(?:\.\d*)?|\.\d+)[\d.]*\s*(?:[;,]\s*(?:url\s*=\s*)?(.*))?\Z",
    re.IGNORECASE | re.DOTALL,
)
# A stub is small and shows a reader (almost) nothing; a bigger page that shows nothing
# is an app shell, whose scripts do far more than go elsewhere.
_MAX_STUB_BYTES = 16 * 1024
_MAX_STUB_WORDS = 20
_SCRIPTS = re.compile(rb"<script\b[^>]*>(.*?)</script\s*>", re.IGNORECASE | re.DOTALL)
# A script that does nothing but go to one URL: "location.replace('/')",
# "window.location.href = '/';", "top.location = \"https://…\"".
_GO = re.compile(
    r"(?:(?:window|self|top|document)\s*\.\s*)?location"
    r"(?:\s*\.\s*href\s*=\s*|\s*=\s*|\s*\.\s*(?:replace|assign)\s*\(\s*)"
    r"([\"'])([^\"'\\\s]+)\1\s*\)?\s*;?",
)
# Elements whose content a browser with scripts on does not act on as markup.
_INERT = ((b"<noscript", b"</noscript"), (b"<script", b"</script"), (b"<template", b"</template"))


def refresh_target(body: bytes, url: str) -> str | None:
    """The absolute URL the page at ``url`` sends a reader to at once, or None."""
    # Every fetch asks: the head is lowered once and searched for the attribute as bytes
    # (a case-blind pattern would be tried at every position), each tag read around it.
    head = body[:SCAN_BYTES].lower()
    at = head.find(b"http-equiv")
    while at >= 0:
        start, end = head.rfind(b"<", 0, at), head.find(b">", at)
        tag = _META.match(body, start, end + 1) if start >= 0 and end >= 0 else None
        if tag is not None and not _is_inert(head, start):
            content = _CONTENT.search(tag.group())
            if content is not None:
                raw = next(g for g in content.groups() if g is not None)
                return _parse(raw.decode("latin-1"), url)  # the first refresh acted on
        at = head.find(b"http-equiv", at + 1)
    return None


def script_target(body: bytes, url: str) -> str | None:
    """The URL a stub page (small, no words shown) sends its reader to by script, or None."""
    if len(body) > _MAX_STUB_BYTES or b"location" not in body:
        return None
    text = body.decode("utf-8", "replace")
    if visible_words(text) > _MAX_STUB_WORDS:
        return None
    for script in _SCRIPTS.finditer(body):
        code = _strip_comments(script.group(1).decode("utf-8", "replace")).strip()
        go = _GO.fullmatch(code)
        if go is not None:
            return _away(go.group(2), url)
    return None


def _strip_comments(code: str) -> str:
    code = re.sub(r"/\*.*?\*/", " ", code, flags=re.DOTALL)
    code = re.sub(r"^\s*<!--.*$|^\s*//.*$|^\s*-->.*$", " ", code, flags=re.MULTILINE)
    return code


def _parse(content: str, url: str) -> str | None:
    value = _VALUE.match(content)
    if value is None or float(value.group(1)) > MAX_DELAY_SECONDS:
        return None
    target = (value.group(2) or "").strip()
    if len(target) >= 2 and target[0] == target[-1] and target[0] in "\"'":
        target = target[1:-1].strip()
    elif target[:1] in ("'", '"'):
        target = target[1:].split(target[0], 1)[0].strip()
    if not target:
        return None  # a reload of the page itself
    return _away(target, url)


def _away(target: str, url: str) -> str | None:
    """``target`` made absolute, unless it is the page itself or nowhere a browser goes."""
    try:
        absolute: str = urljoin(url, target)
        new, old = urlsplit(absolute), urlsplit(url)
    except ValueError:
        return None  # a URL no browser could go to either
    if new.scheme not in ("http", "https"):
        return None
    if (new.scheme, new.netloc.lower(), new.path) == (old.scheme, old.netloc.lower(), old.path):
        return None  # the page itself again, a cache-buster or a fragment apart
    return absolute


def _is_inert(lowered: bytes, at: int) -> bool:
    """Whether position ``at`` of the lowered page is inside a comment or an element whose
    content is inert."""
    if lowered.rfind(b"<!--", 0, at) > lowered.rfind(b"-->", 0, at):
        return True
    return any(lowered.rfind(start, 0, at) > lowered.rfind(end, 0, at) for start, end in _INERT)
