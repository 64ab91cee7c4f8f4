"""Helpers the tests share. Nothing outside tests/ imports from here."""
