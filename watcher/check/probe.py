"""The host's own "not found" page (edge: fetch): what it answers for a URL that cannot exist.

A soft-404 is recognised by resembling that page. Asked for by the judge only when most of
an article is gone; cached per host section for a day, so a site costs one probe a day.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from urllib.parse import urljoin, urlsplit

import requests

from watcher.check.readers import Reader
from watcher.check.reading import fetch_options, read_article
from watcher.config import Settings, Watch
from watcher.errors import FetchError
from watcher.fetch import FetchResult, fetch_page
from watcher.read.extract import Article

logger = logging.getLogger(__name__)

_NOT_FOUND_TTL_SECONDS = 24 * 3600
_not_found_cache: dict[str, tuple[float, Article | None]] = {}
_not_found_lock = threading.Lock()


def not_found_page(
    session: requests.Session,
    watch: Watch,
    settings: Settings,
    url: str,
    reader: Reader,
    *,
    render: Callable[[str], FetchResult] | None = None,
) -> Article | None:
    """What the host answers with 200 for a URL that cannot exist (cached for a day).

    A soft-404 page is recognised by resembling it. None when the host answers such
    URLs properly (404) or cannot be asked. ``render`` loads the probe the way a browser
    watch is loaded (a site that renders its pages renders its "not found" page too).
    """
    parts = urlsplit(url)
    section = parts.path.strip("/").split("/", 1)[0]
    key = f"{watch.fetch}:{parts.scheme}://{parts.netloc}/{section}"
    now = time.monotonic()
    with _not_found_lock:
        cached = _not_found_cache.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
    probe_url = urljoin(url, f"{secrets.token_hex(8)}.html")
    article: Article | None = None
    try:
        if render is not None:
            probe = render(probe_url)
        else:
            probe = fetch_page(session, probe_url, fetch_options(settings, watch))
    except FetchError as exc:
        logger.info("not-found probe failed url=%s: %s", probe_url, exc)
    else:
        if probe.status == 200 and probe.text:
            article = reader.run(read_article, probe.text, watch, probe.final_url)
    with _not_found_lock:
        _not_found_cache[key] = (now + _NOT_FOUND_TTL_SECONDS, article)
    return article
