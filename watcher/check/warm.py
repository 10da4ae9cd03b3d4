"""Imported once in the readers' fork server (edge): builds, before any reader is forked,
what every reader would otherwise build lazily on its own first pages.

A reader is recycled every couple of hundred pages. A fresh one used to set up again what
the one before it had: trafilatura's first-page state, and the regular expressions of
every dateparser locale, compiled the first time htmldate's date search sends it a date
that no early locale reads (about 1.4 s of CPU and 70 MB, paid again by every reader on a
multilingual watchlist). Built here once, the readers forked afterwards share them
copy-on-write; ``gc.freeze`` keeps the collector's bookkeeping from writing to (and so
copying) those objects in every reader.
"""

from __future__ import annotations

import gc
import logging

from watcher.check.reading import warm_up

try:
    warm_up()
except Exception as exc:  # noqa: BLE001 - readers then build it lazily, as before
    logging.getLogger(__name__).warning("readers not warmed up: %s: %s", type(exc).__name__, exc)
gc.freeze()
