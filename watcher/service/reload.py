"""Noticing edits to the watchlist file (edge, I/O), so the daemon reloads only a real change.

It reads the file and remembers what it saw; it never parses or applies a watchlist, which
is daemon.py's job, and never keeps the file open between polls.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path


class WatchedFile:
    """A file's identity (inode, size, mtime) and content hash as last read.

    Editors save atomically by renaming a new file over the old one, so the path is
    stat'ed afresh every time rather than watched through an open handle.
    """

    def __init__(self, path: Path) -> None:
        """Remember the file as it is now; an unreadable file is simply not seen yet."""
        self.path = path
        self._stat: tuple[int, int, int] | None = None
        self._sha256 = ""
        with contextlib.suppress(OSError):
            self.read()

    def read(self) -> str:
        """The file's text, remembered as seen; raises ``OSError`` if it cannot be read."""
        self._stat, source = _read(self.path)
        self._sha256 = _sha256(source)
        return source

    def is_changed(self) -> bool:
        """Whether the inode, size, mtime and then the content say the file was edited.

        An unreadable file (mid-save, or deleted) counts as unchanged, so the last good
        watchlist keeps running. A touch without an edit is remembered and not reported.
        """
        try:
            stat, source = _read(self.path)
        except OSError:
            return False
        if stat == self._stat and self._sha256:
            return False
        self._stat = stat
        return _sha256(source) != self._sha256

    def forget(self) -> None:
        """Report the current content as changed at the next poll (it was not applied)."""
        self._sha256 = ""


def _read(path: Path) -> tuple[tuple[int, int, int], str]:
    """The file's identity (inode, size, mtime) and text, read through one open handle."""
    with path.open("rb") as handle:
        info = os.fstat(handle.fileno())
        data = handle.read()
    return (info.st_ino, info.st_size, info.st_mtime_ns), data.decode("utf-8", "replace")


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
