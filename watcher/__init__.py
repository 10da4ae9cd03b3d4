"""watcher: detect stealth edits and removals of news articles."""

__version__ = "0.1.0"
