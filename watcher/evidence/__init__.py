"""Evidence (edge): stored versions compared, shown and exported for archives and courts."""
