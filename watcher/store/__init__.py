"""Storage (edge, I/O): tables, migrations, versions, the alert outbox, leases."""
