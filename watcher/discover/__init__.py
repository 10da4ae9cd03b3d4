"""Discovery: articles found in feeds, news sitemaps and section pages become watched pages."""
