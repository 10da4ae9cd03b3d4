"""Time diff_texts on realistic edits built from the shared corpus.

Cases: a one-word edit in a 5,000-word article, a full rewrite of one (a different
article), and a one-character edit in a 3,000-character Chinese article. The corpus is
read at run time and never copied into the project.

    .venv/bin/python benchmarks/diff_speed.py [CORPUS_DIR]
"""

from __future__ import annotations

import gzip
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import lxml.html

from watcher.read.diff import Edit, count_words, diff_texts, new_text, old_text, summarize_edits
from watcher.read.normalize import normalize_text

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "pages"
WORDS = 5000
CJK_CHARS = 3000
RUNS = 15


def paragraphs(path: Path) -> Iterator[str]:
    """Paragraph texts of a page, crudely: <p> elements' text, normalised."""
    body = gzip.decompress(path.read_bytes())
    try:
        html = body.decode("utf-8")
    except UnicodeDecodeError:
        html = body.decode("gb18030", errors="replace")  # the aeb-/gne- pages are UTF-8 or GBK
    root = lxml.html.fromstring(html)
    for p in root.iter("p"):
        text = normalize_text(p.text_content())
        if text:
            yield text


def article(pages: list[Path], *, words: int = 0, chars: int = 0) -> str:
    """Paragraphs from ``pages`` in turn until the text has ``words`` words or ``chars``."""
    kept: list[str] = []
    size = 0
    for page in pages:
        for para in paragraphs(page):
            kept.append(para)
            size += count_words(para) if words else len(para)
            if size >= (words or chars):
                return "\n\n".join(kept)
    raise SystemExit(f"corpus too small for {words or chars} units")


def replace_word(text: str, replacement: str) -> str:
    """Replace the first word after the middle of ``text``."""
    i = len(text) // 2
    while not text[i].isalpha():
        i += 1
    j = i
    while j < len(text) and text[j].isalpha():
        j += 1
    return text[:i] + replacement + text[j:]


def replace_han(text: str, replacement: str) -> str:
    """Replace the first Han character after the middle of ``text`` (other than itself)."""
    i = len(text) // 2
    while not ("\u4e00" <= text[i] <= "\u9fff" and text[i] != replacement):
        i += 1
    return text[:i] + replacement + text[i + 1 :]


def measure(old: str, new: str) -> tuple[float, float, tuple[Edit, ...]]:
    """Median and max milliseconds over RUNS calls; checks the edits reproduce both texts."""
    times = []
    edits: tuple[Edit, ...] = ()
    for _ in range(RUNS):
        start = time.perf_counter()
        edits = diff_texts(old, new)
        times.append((time.perf_counter() - start) * 1000)
    if (old_text(edits), new_text(edits)) != (old, new):
        raise SystemExit("edits do not reproduce the texts")
    return statistics.median(times), max(times), edits


def main() -> None:
    corpus = Path(sys.argv[1]) if len(sys.argv) > 1 else CORPUS
    english = sorted(corpus.glob("aeb-*.html.gz"))
    chinese = sorted(corpus.glob("gne-*.html.gz"))
    first = article(english[::2], words=WORDS)
    second = article(english[1::2], words=WORDS)
    zh = article(chinese, chars=CJK_CHARS)
    one_word = replace_word(first, "replaced")
    one_char = replace_han(zh, "中")

    cases = [
        ("one-word edit, 5,000 words", first, one_word),
        ("full rewrite, 5,000 words", first, second),
        ("one-char edit, 3,000 zh chars", zh, one_char),
    ]
    print(f"{'case':32} {'median ms':>10} {'max ms':>8} {'edits':>6} {'+words':>7} {'-words':>7}")
    for name, old, new in cases:
        median, worst, edits = measure(old, new)
        added, removed = summarize_edits(edits)
        changed = sum(1 for e in edits if e.op != "=")
        print(f"{name:32} {median:10.2f} {worst:8.2f} {changed:6} {added:7} {removed:7}")


if __name__ == "__main__":
    main()
