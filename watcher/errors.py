"""Exception tree for watcher.

    WatcherError
    ├── ConfigError      the watchlist cannot be read or is invalid
    ├── FetchError       no usable HTTP response arrived (never a removal)
    │   ├── BlockedError     the network guard refused the URL or the address (watcher.guard)
    │   └── BrowserUnavailableError  fetch = "browser" without Playwright or Chromium
    ├── SourceError      a feed, sitemap or section page answered with no usable listing
    ├── StoreError       the database refused or is unreachable
    ├── ReaderError      a reader process crashed, overran its time or memory
    │   └── ReaderStopped    the readers are shutting down (nothing to record)
    └── NotifyError      an alert could not be delivered (retried until give-up)

A 404/410/451 or a redirect is *not* an error: it is data in ``FetchResult``.
"""

from __future__ import annotations


class WatcherError(Exception):
    """Root of every error watcher raises on purpose."""


class ConfigError(WatcherError):
    """The watchlist is unreadable or invalid; the message names file, line and key."""


class FetchError(WatcherError):
    """No usable response: DNS, connect, TLS, timeout, deadline, oversized body."""


class BlockedError(FetchError):
    """The network guard refused to fetch: ``rule`` names why ("loopback", "scheme", "port")."""

    def __init__(self, message: str, *, rule: str) -> None:
        super().__init__(message)
        self.rule = rule


class BrowserUnavailableError(FetchError):
    """A browser watch, but Playwright or Chromium is missing; ``HINT`` says how to install."""

    HINT = (
        "install it with: pip install 'watcher[browser]' and Debian's chromium "
        "(apt-get install chromium)"
    )


class SourceError(WatcherError):
    """A source answered, but not with a listing: an HTML page, broken XML, a bad gzip.

    The source's last good item set is kept: an unreadable listing must never read as
    every article having been dropped.
    """


class StoreError(WatcherError):
    """The database could not be reached or refused a write."""


class ReaderError(WatcherError):
    """A page could not be read: its reader crashed twice, timed out or ran out of memory.

    ``cause`` is the short kind recorded as the check's error ("reader crashed").
    """

    def __init__(self, message: str, *, cause: str) -> None:
        super().__init__(message)
        self.cause = cause


class ReaderStopped(ReaderError):
    """The readers are shutting down: the check ends without a verdict and is retried."""

    def __init__(self, message: str) -> None:
        super().__init__(message, cause="readers stopped")


class NotifyError(WatcherError):
    """An alert could not be delivered (a route's URLs cannot be read, no such route).

    Every delivery failure is retried with backoff until ``alert_give_up``: an operator can
    fix a URL file or a route while the alert waits, so none is treated as permanent.
    """
