"""Allow ``python -m watcher``."""

from watcher.cli import main

raise SystemExit(main())
