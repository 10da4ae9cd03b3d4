"""Noticing watchlist edits: a touch is not an edit, an atomic save is, a missing file waits."""

from __future__ import annotations

import os
from pathlib import Path

from watcher.service.reload import WatchedFile


def test_edit_is_noticed_and_touch_is_not(tmp_path: Path) -> None:
    """A new mtime with the same text is no change; new text is, once, until read again."""
    path = tmp_path / "watcher.toml"
    path.write_text("one\n", encoding="utf-8")
    watched = WatchedFile(path)
    assert not watched.is_changed()
    os.utime(path, ns=(1, 1))
    assert not watched.is_changed()
    path.write_text("two\n", encoding="utf-8")
    assert watched.is_changed()
    assert watched.read() == "two\n"
    assert not watched.is_changed()


def test_atomic_save_and_missing_file(tmp_path: Path) -> None:
    """A file renamed over the path is read afresh; a missing one is no change."""
    path = tmp_path / "watcher.toml"
    watched = WatchedFile(path)  # not there yet: nothing seen
    assert not watched.is_changed()
    saved = tmp_path / "watcher.toml.tmp"
    saved.write_text("saved\n", encoding="utf-8")
    saved.replace(path)
    assert watched.is_changed()
    watched.read()
    path.unlink()
    assert not watched.is_changed()


def test_forget_reports_the_same_content_again(tmp_path: Path) -> None:
    """After forget() (its reload failed), the current content counts as changed."""
    path = tmp_path / "watcher.toml"
    path.write_text("same\n", encoding="utf-8")
    watched = WatchedFile(path)
    watched.forget()
    assert watched.is_changed()
