"""Alerts: messages rendered from decisions, delivered through apprise."""
