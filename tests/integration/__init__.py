"""Integration tests: the handlers, migrations and the migrate function against real databases."""
