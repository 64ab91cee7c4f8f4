"""Domain: the rules of a learning session, its schemas, errors, page cursors and ETags."""
