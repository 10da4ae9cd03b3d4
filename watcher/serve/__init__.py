"""The read-only web viewer (edge): pages, timelines, diffs, archived pages, feeds, JSON."""
