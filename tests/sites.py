"""Small synthetic news pages for tests: an article with the noise real pages carry."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from html import escape


@dataclass(frozen=True)
class Story:
    """The article part of a page; everything else on the page is noise."""

    title: str = "Minister resigns over bridge contract"
    byline: str = "Jane Doe"
    published: str = "2026-11-27"
    paragraphs: tuple[str, ...] = (
        "The transport minister resigned on Friday after documents showed that the contract "
        "for the new river bridge was awarded without a public tender.",
        "Opposition leaders said at least 14 officials had been questioned by investigators "
        "in the past two weeks, and called for a parliamentary inquiry.",
        "The minister, who had held the post since 2019, denied any wrongdoing in a short "
        "statement posted on the ministry's website late on Thursday evening.",
        "Construction of the bridge, which was due to open next spring, has been suspended "
        "while auditors review the payments made to the contractor so far.",
        "The ministry declined to comment on the report when contacted on Friday morning.",
    )
    lang: str = "en"
    charset: str = "utf-8"
    extra_head: str = field(default="")

    def edit(self, index: int, old: str, new: str) -> Story:
        """A copy with ``old`` replaced by ``new`` in paragraph ``index``."""
        paragraphs = list(self.paragraphs)
        assert old in paragraphs[index], (old, paragraphs[index])
        paragraphs[index] = paragraphs[index].replace(old, new, 1)
        return replace(self, paragraphs=tuple(paragraphs))


CJK_STORY = Story(
    title="化工厂爆炸事故致十二人死亡 调查组已进驻现场",
    byline="王伟",
    published="2026-11-27",
    paragraphs=(
        "据当地应急管理部门通报，位于工业园区的一家化工厂于周五凌晨发生爆炸，"
        "事故造成十二人死亡、三十人受伤，伤者已被送往附近医院救治。",
        "事故发生后，省政府立即成立调查组，调查组已于当天上午进驻现场，"
        "事故原因正在进一步调查之中，相关企业负责人已被警方控制。",
        "当地居民表示，爆炸声在数公里外都能听到，附近多栋居民楼的玻璃被震碎，"
        "部分居民已被疏散到临时安置点。",
        "应急管理部门提醒周边群众关闭门窗，减少外出，并密切关注官方发布的最新信息。",
    ),
    lang="zh-CN",
)


def render(story: Story, *, seed: int = 0, comments: int = 3) -> str:
    """A full news page: header, nav, ads, timestamps and related links vary with ``seed``."""
    rng = random.Random(seed)
    ads = ["Buy shoes now", "Cheap flights to Rome", "New phone, half price", "Learn piano"]
    related = [
        "Parliament debates budget",
        "Storm closes airport",
        "Football club sold",
        "Rail strike called off",
        "Museum reopens after fire",
    ]
    rng.shuffle(related)
    clock = f"{rng.randrange(24):02d}:{rng.randrange(60):02d}"
    body = "\n".join(f"      <p>{escape(p)}</p>" for p in story.paragraphs)
    links = "\n".join(
        f'        <li><a href="/r/{rng.randrange(10**6)}">{r}</a></li>' for r in related[:3]
    )
    return f"""<!DOCTYPE html>
<html lang="{story.lang}">
<head>
  <meta charset="{story.charset}">
  <title>{escape(story.title)} | Example News</title>
  <meta property="og:title" content="{escape(story.title)}">
  <meta name="author" content="{escape(story.byline)}">
  <meta property="article:published_time" content="{story.published}T08:00:00Z">
  <script>window.nonce = "{rng.getrandbits(64):x}";</script>
  {story.extra_head}
</head>
<body>
  <header><nav><a href="/">Home</a> <a href="/world/">World</a> <a href="/sport/">Sport</a>
    <span class="clock">Updated {clock}</span></nav></header>
  <div class="ad" id="ad-{rng.getrandbits(32):x}">{rng.choice(ads)}</div>
  <main>
    <article>
      <h1>{escape(story.title)}</h1>
      <p class="byline">By <span class="author">{escape(story.byline)}</span>,
        <time datetime="{story.published}">{story.published}</time></p>
{body}
    </article>
    <aside class="related"><h2>Related</h2>
      <ul>
{links}
      </ul>
    </aside>
    <section class="comments"><h2>{comments} comments</h2></section>
  </main>
  <footer><p>&copy; 2026 Example News. All rights reserved.</p></footer>
</body>
</html>
"""


def encoded(story: Story, *, seed: int = 0, codec: str | None = None) -> bytes:
    """The page as bytes in ``codec`` (default: the story's declared charset)."""
    return render(story, seed=seed).encode(codec or story.charset)


def not_found_page(title: str = "Page not found") -> str:
    return f"<html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>"


def paragraphs_text(paragraphs: Sequence[str]) -> str:
    return "\n\n".join(paragraphs)


# The article of boxed_page(): three paragraphs in a block of its own.
PARAGRAPHS = (
    "The transport minister resigned on Friday after documents showed that the contract "
    "for the new river bridge was awarded without a public tender.",
    "Opposition leaders said at least 14 officials had been questioned by investigators "
    "in the past two weeks, and called for a parliamentary inquiry.",
    "The ministry declined to comment on the report when contacted on Friday morning.",
)


def boxed_page(
    paragraphs: tuple[str, ...] = PARAGRAPHS,
    *,
    seed: int = 0,
    title: str = "Minister resigns",
    author: str = "Jane Doe",
    published: str = "2026-11-27",
    inside: str = "",
    beside: str = "",
    banner: bool = False,
) -> str:
    """A news page whose furniture (clock, ad, related links) varies with ``seed``."""
    rng = random.Random(seed)
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    clock = f"{rng.randrange(24)}:{rng.randrange(60):02d}"
    related = "".join(
        f"<li><a href='/r/{rng.randrange(10**6)}'>Story {n}</a></li>" for n in range(3)
    )
    top = (
        f"<div class='promo'>{rng.choice(['Sale', 'New phone', 'Flights'])}</div>" if banner else ""
    )
    return f"""<html><head><title>{escape(title)} | Example News</title>
<meta property="og:title" content="{escape(title)}">
<meta name="author" content="{escape(author)}">
<meta property="article:published_time" content="{published}T08:00:00Z">
<script>window.nonce = "{rng.getrandbits(64):x}";</script></head>
<body>{top}<header><nav><a href="/">Home</a><span class="clock">{clock}</span></nav></header>
<div class="ad">{rng.choice(["Buy shoes", "Learn piano", "Cheap flights"])}</div>
<div class="page"><div class="story"><h1>{escape(title)}</h1>
<p class="byline">By <span class="author">{escape(author)}</span></p>
<div class="body">{inside}{body}</div>{beside}</div>
<aside class="related"><ul>{related}</ul></aside></div>
<footer>&copy; Example News</footer></body></html>"""
