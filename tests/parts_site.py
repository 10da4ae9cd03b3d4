"""A small news page with every part of an article a reader sees, for the parts tests."""

from __future__ import annotations

from dataclasses import dataclass, replace
from html import escape

PARAGRAPHS = (
    "The transport minister resigned on Friday after documents showed that the contract "
    "for the new river bridge was awarded without a public tender.",
    "Opposition leaders said at least 14 officials had been questioned by investigators "
    "in the past two weeks, and called for a parliamentary inquiry.",
    "The minister, who had held the post since 2019, denied any wrongdoing in a short "
    "statement posted on the ministry's website late on Thursday evening.",
    "Construction of the bridge, which was due to open next spring, has been suspended "
    "while auditors review the payments made to the contractor so far.",
)
NAV = ("Home", "World", "Politics", "Business", "Science", "Culture", "Sport", "Opinion")
TEASERS = (
    "Storm closes the airport for a second day",
    "Football club sold to a group of investors",
    "Rail strike called off after late talks",
    "Museum reopens two years after the fire",
)
STANDFIRST = (
    "Flights were cancelled for a second day as the storm kept the runway closed, and "
    "thousands of passengers were told to stay at home until Monday at the earliest."
)


@dataclass(frozen=True)
class Parts:
    """What the page shows and states; change one field to make one kind of edit."""

    headline: str = "Minister resigns over bridge contract"
    meta_headline: str | None = None  # what <title> and og:title state; None: the headline
    byline: str = "Jane Doe"
    dateline: str = "November 19, 2019 13:43"
    caption: str = "The river bridge on Tuesday, photographed by John Smith."
    note: str = "Correction: an earlier version of this story gave the wrong tender date."
    body: tuple[str, ...] = PARAGRAPHS
    meta_author: str = "Jane Doe"
    meta_published: str = "2019-11-19T13:43:00+00:00"
    footer: str = "© 2026 Example News. All rights reserved."
    teaser: bool = False  # the story's own teaser in the most-read list, with its first lines

    def but(self, **changes: object) -> Parts:
        return replace(self, **changes)  # type: ignore[arg-type]


def article_page(parts: Parts = Parts()) -> str:
    """A full article page: navigation, the article with its parts, teasers, a footer."""
    nav = "".join(f'<li><a href="/{n.lower()}">{n}</a></li>' for n in NAV)
    most_read = (parts.headline, *TEASERS) if parts.teaser else TEASERS
    teasers = "".join(f'<li><a href="/t/{i}">{escape(t)}</a></li>' for i, t in enumerate(most_read))
    teasers += f"</ul><p>{escape(STANDFIRST)}</p>"
    if parts.teaser:
        teasers += f"<p>{escape(parts.body[0])}</p>"
    teasers += "<ul>"
    body = "".join(f"<p>{escape(p)}</p>" for p in parts.body)
    stated = parts.headline if parts.meta_headline is None else parts.meta_headline
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>{escape(stated)} | Example News</title>
<meta property="og:title" content="{escape(stated)}">
<meta name="author" content="{escape(parts.meta_author)}">
<meta property="article:published_time" content="{parts.meta_published}">
</head><body>
<header><a href="/">Example News</a><nav><ul>{nav}</ul></nav></header>
<main><article>
<h1>{escape(parts.headline)}</h1>
<div class="meta"><span>By {escape(parts.byline)}</span></div>
<div class="date"><time datetime="{parts.meta_published}">{escape(parts.dateline)}</time></div>
<figure><img src="/bridge.jpg" alt=""><figcaption>{escape(parts.caption)}</figcaption></figure>
<div class="story">{body}</div>
<div class="article-footer"><p class="disclaimer">{escape(parts.note)}</p></div>
</article></main>
<section class="most-read"><h2>Most read</h2><ul>{teasers}</ul></section>
<footer><p>{escape(parts.footer)}</p></footer>
</body></html>"""


def furniture_page(parts: Parts = Parts()) -> str:
    """The same site with the article gone: navigation, the most-read list (the story's own
    teaser among them) and the footer are left."""
    page = article_page(parts.but(teaser=True))
    start, end = page.index("<main>"), page.index("</main>") + len("</main>")
    return page[:start] + "<main></main>" + page[end:]
