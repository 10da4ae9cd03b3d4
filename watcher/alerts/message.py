"""Alert messages: one event, or a digest of several, as Slack Markdown, email HTML or text.

Pure: no I/O. Page text is untrusted, so every piece of it is escaped for the format it
lands in; a page must never get markup, links or mentions (``<!channel>``) into an alert.
"""

from __future__ import annotations

import html
import re
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import quote

from watcher.judge.classify import Part, Verdict
from watcher.read.diff import Edit, Op

Format = Literal["slack", "html", "text"]

_CONTEXT_CHARS = 80  # unchanged text kept on each side of an edit
_MAX_SEGMENT_CHARS = 400  # longest inserted or deleted run quoted in full
_MAX_HUNKS = 8
_MAX_EXCERPT_CHARS = 1800

DEFAULT_TEMPLATES: Mapping[str, str] = {
    "title": "$kind: $page",
    "slack": "**$kind**: $link\nDetected $detected_at\n$summary\n\n$diff\n\n$evidence",
    "html": (
        "<p><strong>$kind</strong>: $link</p>\n<p>Detected $detected_at</p>\n<p>$summary</p>\n"
        "$diff\n$evidence"
    ),
    "text": "$kind: $page\n$url\nDetected $detected_at\n$summary\n\n$diff\n\n$evidence",
}


@dataclass(frozen=True, slots=True)
class AlertItem:
    """What one alert reports, as read back from the outbox."""

    kind: str  # changed, removed, restored, unreachable, reachable
    page: str
    url: str
    detected_at: datetime
    event: Mapping[str, Any]
    route: str = ""
    change_url: str = ""  # the change's page in ``watcher serve``, when base_url is set


@dataclass(frozen=True, slots=True)
class Message:
    """A rendered alert: a one-line plain-text title and a body in ``format``."""

    title: str
    body: str
    format: Format


def alert_event(verdict: Verdict, *, status: int | None, final_url: str) -> dict[str, Any]:
    """The JSON stored with an alert: everything its message needs, diff excerpt included.

    Computed when the change is found, because only then are the edits (with the
    watch's ignore rules applied) at hand.
    """
    return {
        "summary": verdict.summary,
        "parts": [part.value for part in verdict.parts],
        "removal": verdict.removal.value if verdict.removal else None,
        "status": status,
        "final_url": final_url,
        "words_added": verdict.words_added,
        "words_removed": verdict.words_removed,
        "headline": excerpt_edits(verdict.headline_edits),
        "body": excerpt_edits(verdict.edits),
    }


def excerpt_edits(edits: Sequence[Edit]) -> dict[str, Any] | None:
    """The edits with a little context, long runs cut; ``omitted`` counts hunks left out.

    Returns ``{"hunks": [[[op, text, cut], ...], ...], "omitted": n}``, where ``cut`` is
    how many characters of that segment were dropped.
    """
    if not any(edit.op is not Op.EQUAL for edit in edits):
        return None
    hunks: list[list[list[Any]]] = []
    current: list[list[Any]] = []
    between = ""
    for edit in edits:
        if edit.op is Op.EQUAL:
            between += edit.text
            continue
        if current and len(between) <= 2 * _CONTEXT_CHARS:
            current.append(["=", between, 0])
        else:
            if current:
                current.append(["=", _head(between), 0])
                hunks.append(current)
            current = [["=", _tail(between), 0]] if between else []
        between = ""
        text = edit.text
        cut = max(0, len(text) - _MAX_SEGMENT_CHARS)
        current.append([edit.op.value, text[:_MAX_SEGMENT_CHARS], cut])
    if current:
        current.append(["=", _head(between), 0])
        hunks.append(current)
    kept: list[list[list[Any]]] = []
    size = 0
    for hunk in hunks:
        hunk = [segment for segment in hunk if segment[1]]
        length = sum(len(segment[1]) for segment in hunk)
        if kept and (len(kept) >= _MAX_HUNKS or size + length > _MAX_EXCERPT_CHARS):
            break
        kept.append(hunk)
        size += length
    return {"hunks": kept, "omitted": len(hunks) - len(kept)}


# The parts an alert title names when nothing else changed, in the order a reader meets them.
_PART_NAMES = {
    Part.BYLINE.value: "byline",
    Part.DATE.value: "date",
    Part.CAPTION.value: "caption",
    Part.NOTES.value: "notes",
}


def kind_label(kind: str, event: Mapping[str, Any]) -> str:
    """``Edited``, ``Headline changed``, ``Removed: 451 unavailable for legal reasons``…

    Built from our own vocabulary only, never from page text, so titles stay trusted.
    """
    if kind == "changed":
        parts = event.get("parts") or []
        if Part.HEADLINE.value in parts:
            return "Headline changed" + (" and text edited" if Part.BODY.value in parts else "")
        named = [_PART_NAMES[p] for p in _PART_NAMES if p in parts]
        if named and Part.BODY.value not in parts:
            # a byline swapped or a dateline moved, and not a word of the text: say so
            words = named[0] if len(named) == 1 else f"{', '.join(named[:-1])} and {named[-1]}"
            return f"{words[0].upper()}{words[1:]} changed"
        return "Edited"
    if kind == "removed":
        return "Removed: " + _removal_label(event.get("removal"), event.get("status"))
    return {
        "restored": "Restored",
        "unreachable": "Unreachable",
        "reachable": "Reachable again",
    }.get(kind, kind.capitalize())


def render_message(
    items: Sequence[AlertItem], fmt: Format, templates: Mapping[str, str] | None = None
) -> Message:
    """One alert, or a digest of several in one message, in ``fmt``.

    ``templates`` (title, slack, html, text) override the defaults; what they receive is
    already escaped for the format.
    """
    if not items:
        raise ValueError("nothing to render")
    chosen = {**DEFAULT_TEMPLATES, **(templates or {})}
    style = _STYLES[fmt]
    sections = [
        string.Template(chosen[fmt]).safe_substitute(_fields(item, style)).strip() for item in items
    ]
    if len(items) == 1:
        title = string.Template(chosen["title"]).safe_substitute(_fields(items[0], _PLAIN))
    else:
        counts: dict[str, int] = {}
        for item in items:
            counts[kind_label(item.kind, {})] = counts.get(kind_label(item.kind, {}), 0) + 1
        shown = ", ".join(f"{n} {label.lower()}" for label, n in counts.items())
        title = f"watcher digest: {len(items)} alerts ({shown})"
    return Message(_one_line(title), style.separator.join(sections), fmt)


@dataclass(frozen=True, slots=True)
class _Style:
    escape: Callable[[str], str]
    delete: Callable[[str], str]
    insert: Callable[[str], str]
    link: Callable[[str, str], str]
    paragraph: str  # between hunks
    separator: str  # between the items of a digest
    note: Callable[[str], str]  # our own remarks ("… 3 more changes not shown")


def _wrap(text: str, left: str, right: str) -> str:
    """Put markers round each line's content, keeping whitespace outside (Slack needs it)."""
    out = []
    for line in text.split("\n"):
        core = line.strip()
        if not core:
            out.append(line)
            continue
        start = line.index(core)
        out.append(f"{line[:start]}{left}{core}{right}{line[start + len(core) :]}")
    return "\n".join(out)


# CommonMark punctuation that could open markup, a link, a heading or a mention. apprise
# turns the escapes into Slack's form (\< -> &lt;, \[ -> [) and entity-escapes "&".
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_~\[\]()<>#!])")


def _markdown_escape(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def _markdown_url(url: str) -> str:
    # inside <…> a URL must not hold <, >, spaces or a |, which would end or split it
    return quote(url, safe=":/?#[]@!$&'()*+,;=%~")


def _html_text(text: str) -> str:
    return html.escape(text).replace("\n", "<br>\n")


# The hidden wdiff markers survive apprise's HTML-to-text conversion of the plain part,
# where <del>/<ins> would otherwise vanish; mail clients that show them still read right.
_HIDDEN = '<span style="display:none">{}</span>'
_SLACK = _Style(
    escape=_markdown_escape,
    delete=lambda text: _wrap(_markdown_escape(text), "~", "~"),
    insert=lambda text: _wrap(_markdown_escape(text), "**", "**"),
    link=lambda label, url: f"[{_markdown_escape(label)}](<{_markdown_url(url)}>)",
    paragraph="\n\n",
    separator="\n\n---\n\n",
    note=lambda text: f"({_markdown_escape(text)})",
)
_HTML = _Style(
    escape=_html_text,
    delete=lambda text: (
        '<del style="color:#b31d28;background:#ffeef0">'
        f"{_HIDDEN.format('[-')}{_html_text(text)}{_HIDDEN.format('-]')}</del>"
    ),
    insert=lambda text: (
        '<ins style="color:#22863a;background:#e6ffed;font-weight:bold">'
        f"{_HIDDEN.format('{+')}{_html_text(text)}{_HIDDEN.format('+}')}</ins>"
    ),
    link=lambda label, url: (
        f'<a href="{html.escape(url)}">{html.escape(label)}</a><br>\n{html.escape(url)}'
    ),
    paragraph="\n",
    separator="\n<hr>\n",
    note=lambda text: f'<p style="color:#666"><em>{html.escape(text)}</em></p>',
)
_PLAIN = _Style(
    escape=lambda text: text,
    delete=lambda text: f"[-{text}-]",
    insert=lambda text: f"{{+{text}+}}",
    link=lambda label, url: f"{label} {url}",
    paragraph="\n\n",
    separator="\n\n---\n\n",
    note=lambda text: f"({text})",
)
_STYLES: Mapping[Format, _Style] = {"slack": _SLACK, "html": _HTML, "text": _PLAIN}


def _fields(item: AlertItem, style: _Style) -> dict[str, str]:
    event = item.event
    return {
        "kind": style.escape(kind_label(item.kind, event)),
        "page": style.escape(item.page),
        "url": style.escape(item.url),
        "link": style.link(item.page, item.url),
        "detected_at": style.escape(_when(item.detected_at)),
        "summary": style.escape(_summary(item)),
        "diff": _diff(event, style),
        "route": style.escape(item.route),
        "evidence": _evidence(item, style),
    }


def _evidence(item: AlertItem, style: _Style) -> str:
    """Which stored version the alert reports, by short hashes a recipient can check later
    (``watcher show URL HASH``), and a link to the change when the viewer's URL is known."""
    version = item.event.get("version") or {}
    pieces = []
    if version.get("body_sha256"):
        pieces.append(
            f"Evidence: version {version.get('id')}, SHA-256 {str(version['body_sha256'])[:12]}"
            f", record {str(version.get('record_sha256') or '')[:12]}"
        )
    text = style.escape(" ".join(pieces))
    if item.change_url:
        text = (text + style.escape(" · ") if text else "") + style.link(
            "Change details", item.change_url
        )
    if style is _HTML and text:
        return f'<p style="color:#666">{text}</p>'
    return text


def _summary(item: AlertItem) -> str:
    event = item.event
    if item.kind in ("unreachable", "reachable"):
        since = _parse_time(event.get("since"))
        lasted = _span(item.detected_at - since) if since else "a while"
        error = str(event.get("error") or "no response")
        if item.kind == "unreachable":
            return f"No usable response for {lasted}; last error: {error}"
        return f"Answering again after {lasted} of errors (last: {error})"
    return str(event.get("summary") or "")


def _diff(event: Mapping[str, Any], style: _Style) -> str:
    """The headline diff, then the body hunks, each its own paragraph."""
    blocks: list[str] = []
    headline = event.get("headline")
    if headline:
        hunks = _hunks(headline, style)
        if hunks:
            blocks.append(style.escape("Headline: ") + hunks[0])
            blocks += hunks[1:]
    body = event.get("body")
    if body:
        blocks += _hunks(body, style)
    if style is _HTML:
        return "\n".join(b if b.startswith("<p") else f"<p>{b}</p>" for b in blocks)
    return style.paragraph.join(blocks)


def _hunks(excerpt: Mapping[str, Any], style: _Style) -> list[str]:
    out = []
    for hunk in excerpt.get("hunks") or []:
        pieces = []
        for op, text, cut in hunk:
            shown = str(text)
            if op == Op.DELETE.value:
                pieces.append(style.delete(shown))
            elif op == Op.INSERT.value:
                pieces.append(style.insert(shown))
            else:
                pieces.append(style.escape(shown))
            if cut:
                pieces.append(style.escape(f" … [{cut} more characters]"))
        out.append("".join(pieces))
    omitted = int(excerpt.get("omitted") or 0)
    if omitted:
        out.append(style.note(f"… {omitted} more change{'s' if omitted != 1 else ''} not shown"))
    return out


def _removal_label(removal: object, status: object) -> str:
    if removal == "gone":
        return {404: "404 Not Found", 410: "410 Gone"}.get(
            status if isinstance(status, int) else 0, "gone"
        )
    return {
        "legal": "451 unavailable for legal reasons",
        "redirected": "redirected away",
        "emptied": "article text emptied",
        "soft_404": "soft 404 (the page says it is not found)",
        "notice": "removal notice",
    }.get(str(removal), str(removal or "gone"))


def _head(text: str) -> str:
    """The start of an unchanged run: to the end of its paragraph, cut at a space."""
    if "\n\n" in text:
        text = text[: text.index("\n\n")]
    if len(text) <= _CONTEXT_CHARS:
        return text
    cut = text[:_CONTEXT_CHARS]
    space = cut.rfind(" ")
    return (cut[:space] if space > _CONTEXT_CHARS // 2 else cut) + " …"


def _tail(text: str) -> str:
    """The end of an unchanged run: from the start of its paragraph, cut at a space."""
    if "\n\n" in text:
        text = text[text.rindex("\n\n") + 2 :]
    if len(text) <= _CONTEXT_CHARS:
        return text
    cut = text[-_CONTEXT_CHARS:]
    space = cut.find(" ")
    return "… " + (cut[space + 1 :] if 0 <= space < _CONTEXT_CHARS // 2 else cut)


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _span(delta: timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} days"


def _parse_time(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


def _one_line(text: str) -> str:
    """A title with no line breaks (no header injection in a subject) and a sane length."""
    return _CONTROL.sub(" ", text).strip()[:250]
