"""Data: engines, the tables and the statuses they store, queries, the pg8000 dialect, idempotency records."""
