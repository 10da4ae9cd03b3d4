"""Reading pages (pure): HTML in, text out; never fetches, stores or decides."""
