"""Text renderings for the terminal: word diffs and what ``inspect`` read from a page.

Colour marks deletions and insertions on a TTY; elsewhere wdiff-style ``[-old-]{+new+}``
markers keep the output readable in logs, mail and pipes.
"""

from __future__ import annotations

from collections.abc import Iterable

from watcher.config import Watch
from watcher.fetch import FetchResult
from watcher.read.diff import Edit, Op, count_words, diff_texts
from watcher.read.extract import Article
from watcher.read.normalize import Normalized

_RED = "\x1b[9;31m"  # struck through, red
_GREEN = "\x1b[1;32m"  # bold, green
_DIM = "\x1b[2m"
_RESET = "\x1b[0m"


def mark(op: Op, text: str, *, color: bool) -> str:
    """One edit as shown to a person."""
    if op is Op.EQUAL or not text:
        return text
    if color:
        return f"{_RED if op is Op.DELETE else _GREEN}{text}{_RESET}"
    return f"[-{text}-]" if op is Op.DELETE else f"{{+{text}+}}"


def render_edits(edits: Iterable[Edit], *, color: bool, full: bool = False) -> str:
    """Paragraphs with their edits marked; unchanged paragraphs elided unless ``full``."""
    paragraphs: list[tuple[list[str], bool]] = [([], False)]
    for edit in edits:
        chunks = edit.text.split("\n\n")
        for index, chunk in enumerate(chunks):
            if index:
                paragraphs.append(([], False))
            pieces, changed = paragraphs[-1]
            pieces.append(mark(edit.op, chunk, color=color))
            paragraphs[-1] = (pieces, changed or (edit.op is not Op.EQUAL and bool(chunk)))
    out: list[str] = []
    skipped = 0
    for pieces, changed in paragraphs:
        if full or changed:
            if skipped:
                out.append(_elided(skipped, color))
                skipped = 0
            out.append("".join(pieces))
        else:
            skipped += 1
    if skipped and out:
        out.append(_elided(skipped, color))
    return "\n\n".join(out)


def _elided(count: int, color: bool) -> str:
    text = f"… {count} unchanged paragraph{'s' if count != 1 else ''} …"
    return f"{_DIM}{text}{_RESET}" if color else text


def render_diff(old: Article | None, new: Article, *, color: bool, full: bool = False) -> str:
    """Headline, byline and date lines, then the body diff."""
    if old is None:
        return f"(no earlier version)\n\n# {new.title}\n\n{new.text}"
    lines: list[str] = []
    for label, before, after in (
        ("headline", old.title, new.title),
        ("byline", old.byline, new.byline),
        ("date", old.published, new.published),
    ):
        if before != after:
            marked = "".join(mark(e.op, e.text, color=color) for e in diff_texts(before, after))
            lines.append(f"{label}: {marked}")
        elif label == "headline":
            lines.append(f"headline: {after}")
    body = render_edits(diff_texts(old.text, new.text), color=color, full=full)
    lines.append("")
    lines.append(body if old.text != new.text else "(body unchanged)")
    return "\n".join(lines)


def render_inspect(fetched: FetchResult, normalized: Normalized | None, watch: Watch) -> str:
    """Everything a user needs to tune selectors and ignore rules for one page."""
    lines = [
        f"url:        {fetched.url}",
        f"final url:  {fetched.final_url}",
        f"status:     {fetched.status}",
        f"encoding:   {fetched.encoding}",
        f"size:       {len(fetched.body)} bytes",
    ]
    for hop in fetched.redirects:
        lines.append(f"redirect:   {hop.status} {hop.url} -> {hop.location}")
    lines.append(f"mode:       {watch.mode}" + (f" ({watch.selector})" if watch.selector else ""))
    if watch.exclude:
        lines.append(f"exclude:    {', '.join(watch.exclude)}")
    if normalized is None:
        lines.append("(empty body: nothing to extract)")
        return "\n".join(lines)
    article = normalized.article
    lines += [
        f"<title>:    {article.page_title}",
        f"headline:   {article.title}",
        f"byline:     {article.byline}",
        f"published:  {article.published}",
    ]
    for pattern in watch.ignore:
        state = "fired" if pattern in normalized.fired else "did not match"
        lines.append(f"ignore:     {pattern!r} {state}")
    builtin = [p for p in normalized.fired if p not in watch.ignore]
    if builtin:
        lines.append(f"built-in:   {len(builtin)} volatile-text rule(s) fired")
    words = count_words(article.text)
    lines.append(f"text:       {len(article.paragraphs)} paragraphs, {words} words")
    lines.append("")
    lines.append(article.text)
    return "\n".join(lines)
